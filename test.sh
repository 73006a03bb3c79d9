#!/usr/bin/env bash
# Runs every test of the project: the gateway's xunit suite (with a real redis-server and a real Chromium),
# spa-sample's Vitest tests and build, the Dockerfile/Helm checks and the NuGet package check.
# Works on a fresh Debian machine that has the .NET SDK, Node.js/npm and apt; installs what the tests need.
# Non-interactive (CI=true, no stdin). Exits non-zero when anything fails; the last line counts the tests.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
export DEBIAN_FRONTEND=noninteractive DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

passed=0
failed=0
broken=()

# --- What the tests need from Debian -----------------------------------------------------------------
missing=()
# redis-server also plays Sentinel (redis-server --sentinel) and Cluster nodes; redis-cli (package redis-tools, a
# dependency of redis-server) joins the test cluster's nodes.
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> Installing ${missing[*]} (apt)"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  if ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "apt-get could not install ${missing[*]}" >&2
    exit 1
  fi
fi
# The fixtures start their own redis-server processes (standalone, a primary with a replica and three Sentinels, a
# six-node cluster) on free loopback ports, so a Redis the user already runs is left alone.

# --- Gateway tests (xunit) ------------------------------------------------------------------------------
echo "==> dotnet test"
results="$root/TestResults"
rm -rf "$results"
dotnet test "$root/Bff.sln" -c Release --logger "trx;LogFileName=bff.trx" \
  --results-directory "$results" 2>&1 | tee "$results.log"
status=${PIPESTATUS[0]}
summary=$(grep -E '^(Passed!|Failed!)' "$results.log" | tail -n 1)
n_pass=$(sed -nE 's/.*Passed: *([0-9]+).*/\1/p' <<<"$summary")
n_fail=$(sed -nE 's/.*Failed: *([0-9]+),.*/\1/p' <<<"$summary")
passed=$((passed + ${n_pass:-0}))
failed=$((failed + ${n_fail:-0}))
rm -f "$results.log"
[ "$status" -ne 0 ] && broken+=("dotnet test")

# --- spa-sample (Vitest and the production build) ------------------------------------------------------
if [ -f "$root/spa-sample/package.json" ]; then
  echo "==> spa-sample: npm ci, npm test, npm run build"
  log="$(mktemp)"
  ( cd "$root/spa-sample" && npm ci --no-audit --no-fund && npm test && npm run build ) 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  plain=$(sed -E 's/\x1b\[[0-9;]*m//g' "$log")
  n_pass=$(sed -nE 's/^ *Tests +([0-9]+) passed.*/\1/p; s/^ *Tests +[0-9]+ failed \| ([0-9]+) passed.*/\1/p' <<<"$plain" | tail -n 1)
  n_fail=$(sed -nE 's/^ *Tests +([0-9]+) failed.*/\1/p' <<<"$plain" | tail -n 1)
  passed=$((passed + ${n_pass:-0}))
  failed=$((failed + ${n_fail:-0}))
  rm -f "$log"
  [ "$status" -ne 0 ] && broken+=("spa-sample")
fi

# --- Checks that print "# pass N" / "# fail N" (node's test runner) ------------------------------------------
run_counted_check() { # SCRIPT
  echo "==> $1"
  local log status n_pass n_fail
  log="$(mktemp)"
  bash "$root/$1" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  n_pass=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$log" | tail -n 1)
  n_fail=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$log" | tail -n 1)
  passed=$((passed + ${n_pass:-0}))
  failed=$((failed + ${n_fail:-0}))
  rm -f "$log"
  [ "$status" -ne 0 ] && broken+=("$1")
  return 0
}

# The Dockerfile and the Helm chart.
run_counted_check deploy/check.sh
# The NuGet package, used from an empty app.
run_counted_check samples/check-package.sh

echo
if [ ${#broken[@]} -gt 0 ]; then
  echo "FAILED: ${broken[*]}"
  [ "$failed" -eq 0 ] && failed=1
fi
echo "tests: $passed passed, $failed failed"
[ ${#broken[@]} -eq 0 ]
