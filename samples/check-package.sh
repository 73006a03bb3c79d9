#!/usr/bin/env bash
# Proves the packed library works from a plain app, as a team would use it:
#   1. dotnet pack Bff (a unique prerelease version, into a temporary folder) and checks the package's README,
#      licence expression and XML docs;
#   2. dotnet new web in a temporary folder (outside the repository: no Directory.Build.props, no central package
#      versions), adds Bff.Gateway from that folder (its dependencies from the usual NuGet sources), and writes a
#      Program.cs with AddBff, UseBff, MapBff and one RequireBffSession endpoint;
#   3. builds it, starts it on a free loopback port (Development, a provider address nothing listens on: start-up does
#      not call the provider) and checks what a browser without a session gets.
# Prints "# pass N" and "# fail N" (test.sh counts them). Non-interactive; exits non-zero when a check fails.
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work="$(mktemp -d "${TMPDIR:-/tmp}/bff-package-check.XXXXXX")"
version="0.0.0-check.$(date +%s)"
app_pid=""
passed=0
failed=0

packages_cache="$(dotnet nuget locals global-packages --list 2>/dev/null | sed -nE 's/^global-packages: *//p')"
cleanup() {
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill "$app_pid" 2>/dev/null
    wait "$app_pid" 2>/dev/null
  fi
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

var app = builder.Build();
app.UseBff();
app.MapBff();
app.MapGet("/local/hello", (HttpContext context) => Results.Ok(new { user = context.User.FindFirst("sub")?.Value }))
    .RequireBffSession();
app.Run();
CS
if (cd "$app" && dotnet build -c Release --verbosity quiet >"$work/build.log" 2>&1 </dev/null); then
  ok "an empty dotnet new web app with AddBff, UseBff, MapBff and RequireBffSession builds against the package"
else
  not_ok "the app does not build" "$(tail -n 30 "$work/build.log")"
  finish
fi

# --- 3. Running it ---------------------------------------------------------------------------------------------
echo "==> starting the app"
(
  cd "$app/bin/Release/net10.0" &&
    exec env ASPNETCORE_ENVIRONMENT=Development \
      Bff__Authority=http://127.0.0.1:9/ Bff__ClientId=check-app Bff__ClientSecret=check-secret-not-used \
      Bff__RequireHttpsMetadata=false \
      dotnet CheckApp.dll --urls http://127.0.0.1:0
) >"$work/app.log" 2>&1 </dev/null &
app_pid=$!
address=""
for _ in $(seq 1 300); do
  address="$(sed -nE 's/.*Now listening on: (http:\/\/127\.0\.0\.1:[0-9]+).*/\1/p' "$work/app.log" | head -n 1)"
  [ -n "$address" ] && break
  kill -0 "$app_pid" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$address" ]; then
  not_ok "the app did not start listening" "$(cat "$work/app.log")"
  finish
fi
ok "the app starts ($address)"

# request PATH [CURL ARGS…]: prints "STATUS CONTENT-TYPE" and leaves the body in $work/body.
request() {
  local path="$1"
  shift
  curl --silent --max-time 20 --output "$work/body" --write-out '%{http_code} %{content_type}' "$@" "$address$path"
}

result="$(request /health/live)"
if [ "${result%% *}" = 200 ]; then ok "/health/live answers 200"; else not_ok "/health/live answered $result" "$(cat "$work/body")"; fi

result="$(request /local/hello --header 'X-CSRF: 1')"
if [ "${result%% *}" = 401 ] && [[ "$result" == *application/problem+json* ]] && grep -q '"error":"unauthenticated"' "$work/body"; then
  ok "the local endpoint answers 401 unauthenticated Problem Details without a session"
else
  not_ok "the local endpoint without a session answered $result" "$(cat "$work/body")"
fi

result="$(request /local/hello)"
if [ "${result%% *}" = 401 ] && grep -q '"error":"csrf_header_missing"' "$work/body"; then
  ok "the local endpoint answers 401 csrf_header_missing without X-CSRF"
else
  not_ok "the local endpoint without X-CSRF answered $result" "$(cat "$work/body")"
fi

finish
