#!/usr/bin/env bash
# Runs the whole BFF flow on this machine, on loopback only:
#   gateway (serving spa-sample)   http://localhost:5080
#   demo OpenID provider            http://127.0.0.1:5081   (another host name: its cookies never mix with the gateway's)
#   demo API                        http://127.0.0.1:5082
# Needs the .NET 10 SDK and Node.js 20.19+ with npm. Ctrl-C stops all three.
# Ports and the token lifetime can be changed with the environment variables below.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GATEWAY_PORT="${BFF_DEMO_GATEWAY_PORT:-5080}"
IDP_PORT="${BFF_DEMO_IDP_PORT:-5081}"
API_PORT="${BFF_DEMO_API_PORT:-5082}"
ACCESS_TOKEN_LIFETIME="${BFF_DEMO_ACCESS_TOKEN_LIFETIME:-00:00:45}"
REFRESH_BEFORE_EXPIRY="${BFF_DEMO_REFRESH_BEFORE_EXPIRY:-00:00:10}"
CONFIGURATION="${BFF_DEMO_CONFIGURATION:-Debug}"

GATEWAY_URL="http://localhost:${GATEWAY_PORT}"
IDP_URL="http://127.0.0.1:${IDP_PORT}"
API_URL="http://127.0.0.1:${API_PORT}"

say() { printf '\033[1m[run-demo]\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31m[run-demo]\033[0m %s\n' "$*" >&2; exit 1; }

command -v dotnet >/dev/null || fail "The .NET SDK is required (dotnet not found)."
command -v npm >/dev/null || fail "Node.js with npm is required to build spa-sample (npm not found)."

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$GATEWAY_PORT" "$IDP_PORT" "$API_PORT"; do
  if port_in_use "$port"; then fail "Port $port is already in use (another run-demo.sh?). Stop it or set BFF_DEMO_*_PORT."; fi
done

# 1. The SPA, built into spa-sample/dist, which the gateway serves from its own origin.
say "Building spa-sample…"
(
  cd "$ROOT/spa-sample"
  if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  npm run --silent build >/dev/null
)

# 2. The three .NET apps.
say "Building the gateway, the demo provider and the demo API ($CONFIGURATION)…"
for project in Bff.Host/Bff.Host.csproj demo/Bff.Demo.Identity/Bff.Demo.Identity.csproj demo/Bff.Demo.Api/Bff.Demo.Api.csproj; do
  dotnet build "$ROOT/$project" -c "$CONFIGURATION" -nologo -v quiet -clp:ErrorsOnly >/dev/null \
    || fail "Build of $project failed; run 'dotnet build $project' to see why."
done

out() { echo "$ROOT/$1/bin/$CONFIGURATION/net10.0"; }

# How the gateway authenticates to the provider: with a P-256 key generated for this run (private_key_jwt), passed to
# the gateway through its environment; the provider reads the public half from the gateway's /bff/jwks (the client's
# jwks_uri). No shared secret. Without openssl, a fresh secret known only to the two, passed the same way.
if command -v openssl >/dev/null && CLIENT_KEY="$(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null)"; then
  CLIENT_AUTH="a key of its own (private_key_jwt), published at $GATEWAY_URL/bff/jwks"
  IDP_ENV=()
  IDP_AUTH=(--Demo:Client:JwksUri="$GATEWAY_URL/bff/jwks")
  GATEWAY_ENV=(
    Bff__ClientAuthentication__Method=PrivateKeyJwt
    "Bff__ClientAuthentication__Keys__0__Pem=$CLIENT_KEY"
    Bff__ClientAuthentication__Audience=Issuer                            # OpenIddict 7: aud is the issuer
    Bff__ClientAuthentication__AssertionHeaderType=ClientAuthenticationJwt # and typ client-authentication+jwt
    Bff__ClientAuthentication__PublishJwks=true
  )
else
  CLIENT_SECRET="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  CLIENT_AUTH="a client secret generated for this run (openssl was not found to generate a key)"
  IDP_ENV=("Demo__Client__ClientSecret=$CLIENT_SECRET")
  IDP_AUTH=()
  GATEWAY_ENV=("Bff__ClientSecret=$CLIENT_SECRET")
fi

PIDS=()
stop_all() {
  trap - INT TERM EXIT
  if ((${#PIDS[@]})); then
    say "Stopping…"
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME COLOUR DIR DLL [ARGS…]: runs a built app with its output folder as content root, output prefixed, and
# the variables in APP_ENV (NAME=value) in its environment only.
APP_ENV=()
start() {
  local name="$1" colour="$2" dir="$3" dll="$4"
  shift 4
  (cd "$dir" && exec env "${APP_ENV[@]}" dotnet "$dll" "$@") > >(sed -u "s/^/\x1b[${colour}m[${name}]\x1b[0m /") 2>&1 &
  PIDS+=($!)
}

wait_for() {
  local name="$1" port="$2" pid="$3"
  for _ in $(seq 1 150); do
    port_in_use "$port" && return 0
    kill -0 "$pid" 2>/dev/null || fail "$name exited during start-up; see its output above."
    sleep 0.2
  done
  fail "$name did not start listening on port $port."
}

export ASPNETCORE_ENVIRONMENT=Development
export DOTNET_NOLOGO=1

say "Starting the demo OpenID provider on $IDP_URL…"
APP_ENV=("${IDP_ENV[@]}")
start idp 35 "$(out demo/Bff.Demo.Identity)" Bff.Demo.Identity.dll \
  --urls "$IDP_URL" \
  --Demo:AccessTokenLifetime="$ACCESS_TOKEN_LIFETIME" \
  --Demo:Client:ClientId=bff \
  --Demo:Client:RedirectUris:0="$GATEWAY_URL/signin-oidc" \
  --Demo:Client:RedirectUris:1="http://localhost:5173/signin-oidc" \
  --Demo:Client:PostLogoutRedirectUris:0="$GATEWAY_URL/signout-callback-oidc" \
  --Demo:Client:PostLogoutRedirectUris:1="http://localhost:5173/signout-callback-oidc" \
  --Demo:Client:BackchannelLogoutUri="$GATEWAY_URL/bff/backchannel" \
  --Demo:DPoP:RequireNonce=true \
  "${IDP_AUTH[@]}"
wait_for "The demo provider" "$IDP_PORT" "${PIDS[-1]}"

say "Starting the demo API on $API_URL…"
APP_ENV=()
start api 36 "$(out demo/Bff.Demo.Api)" Bff.Demo.Api.dll \
  --urls "$API_URL" \
  --Demo:Authority="$IDP_URL/" \
  --Demo:DPoP:RequireNonce=true
wait_for "The demo API" "$API_PORT" "${PIDS[-1]}"

say "Starting the gateway on $GATEWAY_URL…"
# No Bff:PublicOrigin: Development allows that, and the gateway then also answers Vite's dev server, which forwards
# with its own Host (localhost:5173). Outside Development the setting is required.
APP_ENV=("${GATEWAY_ENV[@]}")
start gateway 33 "$(out Bff.Host)" Bff.Host.dll \
  --urls "$GATEWAY_URL" \
  --Logging:LogLevel:Microsoft.AspNetCore=Warning \
  --Bff:Authority="$IDP_URL/" \
  --Bff:ClientId=bff \
  --Bff:RequireHttpsMetadata=false \
  --Bff:Scopes="openid profile email offline_access demo_api" \
  --Bff:Tokens:RefreshBeforeExpiry="$REFRESH_BEFORE_EXPIRY" \
  --Bff:DPoP:Enabled=true \
  --Bff:Claims:FromUserInfo=true \
  --Bff:Spa:RootPath="$ROOT/spa-sample/dist" \
  --ReverseProxy:Routes:api:ClusterId=demo-api \
  --ReverseProxy:Routes:api:Match:Path="/api/{**catch-all}" \
  --ReverseProxy:Routes:api:Metadata:Bff.Token=User \
  --ReverseProxy:Routes:alice-only:ClusterId=demo-api \
  --ReverseProxy:Routes:alice-only:Match:Path="/api/alice-only/whoami" \
  --ReverseProxy:Routes:alice-only:AuthorizationPolicy=alice-only \
  --ReverseProxy:Routes:alice-only:Transforms:0:PathPattern="/api/whoami" \
  --Bff:Authorization:Policies:alice-only:RequireClaims:sub:0=d7a3c1e0-alice \
  --ReverseProxy:Routes:recent:ClusterId=demo-api \
  --ReverseProxy:Routes:recent:Match:Path="/api/recent/whoami" \
  --ReverseProxy:Routes:recent:Metadata:Bff.MaxAge=60 \
  --ReverseProxy:Routes:recent:Transforms:0:PathPattern="/api/whoami" \
  --ReverseProxy:Clusters:demo-api:Destinations:api:Address="$API_URL/"
wait_for "The gateway" "$GATEWAY_PORT" "${PIDS[-1]}"

cat <<EOF

  ┌──────────────────────────────────────────────────────────────────┐
    Open  $GATEWAY_URL  and sign in as  alice / alice  (or bob / bob)
    Access tokens live $ACCESS_TOKEN_LIFETIME; the gateway refreshes them $REFRESH_BEFORE_EXPIRY before expiry.
    Tokens are DPoP-bound to the gateway's key; the API checks a proof on every call.
    The gateway authenticates to the provider with $CLIENT_AUTH.
    Provider diagnostics: $IDP_URL/demo/stats      Ctrl-C stops all three.
  └──────────────────────────────────────────────────────────────────┘

EOF

# Runs until Ctrl-C, or until one of the apps stops on its own (then the others are stopped too).
wait -n "${PIDS[@]}" || true
say "One of the apps stopped; stopping the others."
