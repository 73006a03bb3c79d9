#!/usr/bin/env bash
# Proves the packed library works from a plain app, as a team would use it:
#   1. dotnet pack Bff (a unique prerelease version, into a temporary folder) and checks the package's README,
#      licence expression and XML docs;
#   2. dotnet new web in a temporary folder (outside the repository: no Directory.Build.props, no central package
#      versions), adds Bff.Gateway from that folder (its dependencies from the usual NuGet sources), and writes a
#      Program.cs with AddBff, UseBff, MapBff, one proxied route and one RequireBffSession endpoint that calls a
#      downstream API with the user's token from IBffAccessTokens;
#   3. builds it and the repository's demo OpenID provider and demo API, starts all three on free loopback ports
#      (Development: the app on http://localhost, whose Secure __Host- cookies curl 7.79+ keeps and sends as a browser
#      does on localhost) and checks what a browser without a session gets;
#   4. signs alice in with curl and a cookie jar, following every redirect by hand (/bff/login, the provider's
#      authorize endpoint, its login form, its consent form, the callback), then calls the local endpoint and the
#      proxied route and checks that the demo API saw alice's bearer token on both.
# Prints "ok - …"/"not ok - …" lines, "# pass N" and "# fail N" (test.sh counts them). Non-interactive; stops only
# the processes it started; exits non-zero when a check fails.
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work="$(mktemp -d "${TMPDIR:-/tmp}/bff-package-check.XXXXXX")"
version="0.0.0-check.$(date +%s)"
pids=()
passed=0
failed=0

packages_cache="$(dotnet nuget locals global-packages --list 2>/dev/null | sed -nE 's/^global-packages: *//p')"
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    fi
  done
  rm -rf "$work"
  # This run's package version is of no use to anything else.
  if [ -n "$packages_cache" ]; then rm -rf "${packages_cache%/}/bff.gateway/$version"; fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/    /'; }
finish() {
  echo "# pass $passed"
  echo "# fail $failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# --- 1. The package ------------------------------------------------------------------------------------------
echo "==> dotnet pack Bff ($version)"
if ! dotnet pack "$repo_root/Bff/Bff.csproj" -c Release -o "$work/packages" -p:Version="$version" \
  --verbosity quiet >"$work/pack.log" 2>&1 </dev/null; then
  not_ok "dotnet pack Bff" "$(cat "$work/pack.log")"
  finish
fi
package="$work/packages/Bff.Gateway.$version.nupkg"
if [ -f "$package" ]; then ok "dotnet pack Bff produces Bff.Gateway.$version.nupkg"; else not_ok "no Bff.Gateway.$version.nupkg" "$(ls "$work/packages")"; finish; fi

entries="$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$package")"
nuspec="$(python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("Bff.Gateway.nuspec").decode())' "$package")"
missing=""
for entry in README.md lib/net10.0/Bff.dll lib/net10.0/Bff.xml; do
  grep -qx "$entry" <<<"$entries" || missing="$missing $entry"
done
grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || missing="$missing licence-expression"
grep -q '<readme>README.md</readme>' <<<"$nuspec" || missing="$missing readme-element"
grep -q '<description>' <<<"$nuspec" || missing="$missing description"
grep -q 'id="Yarp.ReverseProxy"' <<<"$nuspec" || missing="$missing Yarp.ReverseProxy-dependency"
if [ -z "$missing" ]; then ok "the package has its README, MIT licence expression, XML docs and dependencies"; else not_ok "the package lacks:$missing" "$nuspec"; fi

# --- 2. A plain app that uses it -------------------------------------------------------------------------------
echo "==> dotnet new web + Bff.Gateway"
app="$work/app"
mkdir -p "$app"
cat >"$app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="bff-check" value="$work/packages" />
  </packageSources>
</configuration>
XML
if ! (cd "$app" && dotnet new web --name CheckApp --output . --framework net10.0 --no-restore >"$work/new.log" 2>&1 </dev/null &&
  dotnet add package Bff.Gateway --version "$version" >"$work/add.log" 2>&1 </dev/null); then
  not_ok "dotnet new web, dotnet add package Bff.Gateway" "$(cat "$work/new.log" "$work/add.log")"
  finish
fi
cat >"$app/Program.cs" <<'CS'
using Bff;

var builder = WebApplication.CreateBuilder(args);
builder.AddBff();
builder.Services.AddHttpClient("downstream", client =>
    client.BaseAddress = new Uri(builder.Configuration["Downstream:BaseAddress"]!));

var app = builder.Build();
app.UseBff();
app.MapBff();
app.MapGet("/local/whoami", async (HttpContext context, IBffAccessTokens tokens, IHttpClientFactory http) =>
{
    var token = await tokens.GetUserAccessTokenAsync(context);
    if (!token.Succeeded)
    {
        return token.ToProblem();
    }

    using var request = new HttpRequestMessage(HttpMethod.Get, "api/whoami");
    request.Headers.Authorization = new("Bearer", token.AccessToken);
    using var response = await http.CreateClient("downstream").SendAsync(request, context.RequestAborted);
    return Results.Json(new
    {
        user = context.User.FindFirst("sub")?.Value,
        apiStatus = (int)response.StatusCode,
        api = await response.Content.ReadAsStringAsync(context.RequestAborted),
    });
}).RequireBffSession();
app.Run();
CS
if (cd "$app" && dotnet build -c Release --verbosity quiet >"$work/build.log" 2>&1 </dev/null); then
  ok "an empty dotnet new web app with AddBff, UseBff, MapBff, RequireBffSession and IBffAccessTokens builds against the package"
else
  not_ok "the app does not build" "$(tail -n 30 "$work/build.log")"
  finish
fi

# --- 3. Running it next to the demo provider and API -------------------------------------------------------------
echo "==> building the demo provider and API"
for project in demo/Bff.Demo.Identity/Bff.Demo.Identity.csproj demo/Bff.Demo.Api/Bff.Demo.Api.csproj; do
  if ! dotnet build "$repo_root/$project" -c Release -nologo -v quiet -clp:ErrorsOnly >"$work/demo-build.log" 2>&1 </dev/null; then
    not_ok "dotnet build $project" "$(tail -n 30 "$work/demo-build.log")"
    finish
  fi
done

# Three ports the kernel calls free right now, held together so that they differ. The provider must know the app's
# redirect URI before either starts, so the app cannot take port 0 and report it.
read -r idp_port api_port app_port < <(python3 -c '
import socket
held = [socket.socket() for _ in range(3)]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))')
idp="http://127.0.0.1:$idp_port"
api="http://127.0.0.1:$api_port"
# Another host name than the provider's, as in run-demo.sh: the two sites' cookies never mix in the jar.
address="http://localhost:$app_port"
client_secret="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"

# start NAME DIR DLL [ARGS…]: runs a built app (its output folder as content root) in Development, logging to $work/NAME.log.
start() {
  local name="$1" dir="$2" dll="$3"
  shift 3
  (cd "$dir" && exec env ASPNETCORE_ENVIRONMENT=Development dotnet "$dll" "$@") >"$work/$name.log" 2>&1 </dev/null &
  pids+=($!)
}

# wait_for NAME URL: until URL answers 200, the process exits, or 60 s pass.
wait_for() {
  local name="$1" url="$2" pid="${pids[-1]}"
  for _ in $(seq 1 300); do
    [ "$(curl --silent --max-time 2 --output /dev/null --write-out '%{http_code}' "$url")" = 200 ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  not_ok "$name did not start answering $url" "$(tail -n 40 "$work/$name.log")"
  finish
}

echo "==> starting the demo provider ($idp), the demo API ($api) and the app ($address)"
Demo__Client__ClientSecret="$client_secret" start provider "$repo_root/demo/Bff.Demo.Identity/bin/Release/net10.0" Bff.Demo.Identity.dll \
  --urls "$idp" \
  --Demo:Client:ClientId=check-app \
  --Demo:Client:RedirectUris:0="$address/signin-oidc" \
  --Demo:Client:PostLogoutRedirectUris:0="$address/signout-callback-oidc"
wait_for "the demo provider" "$idp/.well-known/openid-configuration"
start api "$repo_root/demo/Bff.Demo.Api/bin/Release/net10.0" Bff.Demo.Api.dll --urls "$api" --Demo:Authority="$idp/"
wait_for "the demo API" "$api/health"
Bff__ClientSecret="$client_secret" start app "$app/bin/Release/net10.0" CheckApp.dll \
  --urls "$address" \
  --Bff:Authority="$idp/" \
  --Bff:ClientId=check-app \
  --Bff:RequireHttpsMetadata=false \
  --Bff:Scopes="openid profile offline_access demo_api" \
  --ReverseProxy:Routes:api:ClusterId=demo-api \
  --ReverseProxy:Routes:api:Match:Path="/api/{**catch-all}" \
  --ReverseProxy:Routes:api:Metadata:Bff.Token=User \
  --ReverseProxy:Clusters:demo-api:Destinations:api:Address="$api/" \
  --Downstream:BaseAddress="$api/"
wait_for "the app" "$address/health/live"
ok "the app starts next to the demo provider and API"

jar="$work/cookies"
: >"$jar"

# request URL [CURL ARGS…]: prints "STATUS CONTENT-TYPE REDIRECT-URL" (the redirect absolute, "-" when none) and leaves
# the body in $work/body. Never follows a redirect: each hop is one call, with the cookie jar.
request() {
  local url="$1"
  shift
  case "$url" in http*) ;; *) url="$address$url" ;; esac
  local code type location
  IFS='|' read -r code type location < <(curl --silent --max-time 20 --cookie "$jar" --cookie-jar "$jar" \
    --output "$work/body" --write-out '%{http_code}|%{content_type}|%{redirect_url}\n' "$@" "$url")
  type="${type// /}"
  echo "${code:-000} ${type:--} ${location:--}"
}

result="$(request /local/whoami --header 'X-CSRF: 1')"
if [ "${result%% *}" = 401 ] && [[ "$result" == *application/problem+json* ]] && grep -q '"error":"unauthenticated"' "$work/body"; then
  ok "the local endpoint answers 401 unauthenticated Problem Details without a session"
else
  not_ok "the local endpoint without a session answered $result" "$(cat "$work/body")"
fi

result="$(request /local/whoami)"
if [ "${result%% *}" = 401 ] && grep -q '"error":"csrf_header_missing"' "$work/body"; then
  ok "the local endpoint answers 401 csrf_header_missing without X-CSRF"
else
  not_ok "the local endpoint without X-CSRF answered $result" "$(cat "$work/body")"
fi

# --- 4. Signing in and calling APIs ----------------------------------------------------------------------------
echo "==> signing in as alice"
# form_fields: the first form of $work/body as curl arguments, one a line: the action URL, then --data-urlencode
# name=value for each input that has a value (hidden fields, the antiforgery token).
form_fields() {
  python3 - "$work/body" <<'PY'
import html.parser, sys
class Form(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields, self.done = None, [], False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.done: return
        if tag == "form" and self.action is None: self.action = a.get("action") or ""
        elif tag == "input" and self.action is not None and a.get("name") and a.get("value") is not None:
            self.fields.append((a["name"], a["value"]))
    def handle_endtag(self, tag):
        if tag == "form" and self.action is not None: self.done = True
form = Form()
form.feed(open(sys.argv[1], encoding="utf-8").read())
print(form.action or "")
for name, value in form.fields:
    print("--data-urlencode"); print(f"{name}={value}")
PY
}

# submit PAGE-URL [EXTRA name=value…]: posts the page's form (action resolved against PAGE-URL) with the extra fields.
submit() {
  local page="$1"
  shift
  local lines=() action origin extra=()
  mapfile -t lines < <(form_fields)
  action="${lines[0]:-}"
  origin="$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$page")"
  case "$action" in http*) ;; /*) action="$origin$action" ;; *) action="$page" ;; esac
  for field in "$@"; do extra+=(--data-urlencode "$field"); done
  request "$action" "${lines[@]:1}" "${extra[@]}"
}

signed_in=""
forms=""
trail=""
url="$address/bff/login?returnUrl=/"
result="$(request "$url")"
for _ in $(seq 1 12); do
  # Without query strings: they hold the state, and the last one the provider's code.
  trail="$trail
${url%%\?*} -> ${result%%\?*}"
  status="${result%% *}"
  next="${result##* }"
  if [[ "$status" == 30[12378] ]] && [ "$next" != - ]; then
    # The callback's redirect back to the app's own page ends the flow.
    if [[ "$url" == "$address/signin-oidc"* ]]; then signed_in="$next"; break; fi
    url="$next"
    result="$(request "$url")"
  elif [ "$status" = 200 ] && grep -q 'name="password"' "$work/body"; then
    result="$(submit "$url" username=alice password=alice)"
    url="${url%%\?*} (login form)"
    forms="$forms login"
  elif [ "$status" = 200 ] && grep -q 'name="consent"' "$work/body"; then
    result="$(submit "$url" consent=accept)"
    url="${url%%\?*} (consent form)"
    forms="$forms consent"
  else
    break
  fi
done
if [ -n "$signed_in" ] && [ "$forms" = " login consent" ] && awk -F '\t' '$6 == "__Host-bff" { found = 1 } END { exit !found }' "$jar"; then
  ok "alice signs in through the demo provider's login and consent forms and gets the session cookie"
else
  not_ok "sign-in did not complete" "$trail
$(head -c 2000 "$work/body")
$(tail -n 20 "$work/app.log")"
  finish
fi

# json_field FILE PATH…: a value of the JSON in FILE (nested by PATH), or empty; a string member holding JSON is parsed.
json_field() {
  python3 - "$@" <<'PY'
import json, sys
try:
    value = json.load(open(sys.argv[1], encoding="utf-8"))
    for key in sys.argv[2:]:
        if isinstance(value, str): value = json.loads(value)
        value = value[key] if isinstance(value, dict) else next(c["value"] for c in value if c["type"] == key)
    print(value)
except Exception:
    pass
PY
}

result="$(request /bff/user --header 'X-CSRF: 1')"
sub="$(json_field "$work/body" claims sub)"
if [ "${result%% *}" = 200 ] && [ -n "$sub" ]; then
  ok "/bff/user answers 200 with alice's sub ($sub)"
else
  not_ok "/bff/user answered $result" "$(cat "$work/body")"
fi

result="$(request /local/whoami --header 'X-CSRF: 1')"
cp "$work/body" "$work/local.json"
if [ "${result%% *}" = 200 ] && [ -n "$sub" ] && [ "$(json_field "$work/local.json" user)" = "$sub" ]; then
  ok "the local endpoint answers 200 with the user's sub as HttpContext.User"
else
  not_ok "the local endpoint answered $result (expected 200 with sub $sub)" "$(cat "$work/body")"
fi
if [ "$(json_field "$work/local.json" apiStatus)" = 200 ] && [ -n "$sub" ] && [ "$(json_field "$work/local.json" api sub)" = "$sub" ] &&
  [ "$(json_field "$work/local.json" api clientId)" = check-app ]; then
  ok "the local endpoint's downstream call carried alice's bearer token from IBffAccessTokens (the demo API validated it)"
else
  not_ok "the demo API did not see alice's token from the local endpoint" "$(cat "$work/local.json")"
fi

result="$(request /api/whoami --header 'X-CSRF: 1')"
if [ "${result%% *}" = 200 ] && [ -n "$sub" ] && [ "$(json_field "$work/body" sub)" = "$sub" ]; then
  ok "the proxied route reaches the demo API with alice's bearer token"
else
  not_ok "the proxied route answered $result (expected 200 with sub $sub)" "$(cat "$work/body")"
fi

finish
