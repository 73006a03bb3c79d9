#!/usr/bin/env bash
# The gateway's hot path against plain YARP. See bench/README.md for the method and the latest figures.
#
# Builds in Release, then on loopback: an echo upstream, plain YARP in front of it (the baseline), the demo OpenID
# provider, a real redis-server, and the gateway with a session obtained through a real sign-in, first with in-memory
# sessions, then with Redis sessions. wrk alternates baseline and gateway runs; the median of the per-pair ratios is
# the figure that counts. Also: cookie size, bytes per session in Redis, working set after many sessions, memory
# while streaming 100 MB each way.
#
# Needs the .NET SDK; installs wrk and redis-server with apt when missing. Writes bench/results/latest.md.
# Tunables: BENCH_DURATION (s per run, 10), BENCH_PAIRS (5), BENCH_CONNECTIONS ("16 64"), BENCH_SESSIONS (10000),
# BENCH_STREAM_MB (100), BENCH_MODES ("memory redis"; also "telemetry": in-memory sessions with OTLP export on,
# traces sampled at BENCH_TRACE_RATIO, 0.1), BENCH_WARMUP (s, 20), BENCH_MIN_THREADS (10; 0 for the
# runtime's default thread pool), BENCH_GATEWAY_ARGS (extra gateway
# settings, e.g. "--Logging:LogLevel:Default=Warning", to see what a setting costs).
# Storms, after the modes (none by default; BENCH_MODES="" runs storms alone): BENCH_STORMS="memory refresh signin",
# sized by BENCH_MEMORY_SESSIONS (10000), BENCH_STORM_SESSIONS (1000), BENCH_STORM_REPLICAS (3),
# BENCH_WAVE_USERS (1000) and BENCH_WAVE_CONCURRENCY (32).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/bench/results"
DURATION="${BENCH_DURATION:-10}"
PAIRS="${BENCH_PAIRS:-5}"
CONNECTIONS="${BENCH_CONNECTIONS:-16 64}"
SESSIONS="${BENCH_SESSIONS:-10000}"
STREAM_MB="${BENCH_STREAM_MB:-100}"
MODES="${BENCH_MODES-memory redis}"
STORMS="${BENCH_STORMS:-}"
TRACE_RATIO="${BENCH_TRACE_RATIO:-0.1}"
WARMUP="${BENCH_WARMUP:-20}"
MIN_THREADS="${BENCH_MIN_THREADS:-10}"
read -r -a GATEWAY_EXTRA <<<"${BENCH_GATEWAY_ARGS:-}"

say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
fail() { printf '\033[1;31m[bench]\033[0m %s\n' "$*" >&2; exit 1; }

# --- Tools ---------------------------------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  say "Installing ${missing[*]} (apt)"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Thread pool: both proxies get the same floor of worker threads. On one core the runtime's hill climbing settles
# on anything from 2 to 15 workers, and that alone moves a proxy's throughput by ±15 % (fewer workers: the socket
# thread wakes for every event and the kernel's cost per call rises by a third), whatever the proxy's code does.
# The floor is the documented System.Threading.ThreadPool.MinThreads, set through the runtime's environment knob.
PROXY_ENV=()
threads="thread pool: the runtime's default (hill climbing) in both proxies"
if ((MIN_THREADS > 0)); then
  PROXY_ENV=("DOTNET_ThreadPool_ForceMinWorkerThreads=$(printf '%x' "$MIN_THREADS")")
  threads="thread pool: at least $MIN_THREADS workers in both proxies (BENCH_MIN_THREADS)"
fi

# --- CPU placement: the proxy under test alone on one core, everything else (wrk, upstream, provider, Redis) on the rest.
cores=$(nproc)
if ((cores >= 2)); then
  ON_PROXY_CPU=(taskset -c 0)
  ON_OTHER_CPUS=(taskset -c "1-$((cores - 1))")
  placement="proxy on CPU 0; wrk, upstream, provider and Redis on CPU 1-$((cores - 1))"
else
  ON_PROXY_CPU=()
  ON_OTHER_CPUS=()
  placement="one CPU: no pinning possible"
fi

# --- Build ---------------------------------------------------------------------------------------------------------
say "Building in Release…"
for project in Bff.Host/Bff.Host.csproj demo/Bff.Demo.Identity/Bff.Demo.Identity.csproj bench/Bff.Bench/Bff.Bench.csproj; do
  dotnet build "$ROOT/$project" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null || fail "Build of $project failed."
done
bin() { echo "$ROOT/$1/bin/Release/net10.0"; }

# --- Processes -----------------------------------------------------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    port_in_use "$port" || { echo "$port"; return; }
  done
  fail "No free port found."
}
wait_for_port() {
  local name="$1" port="$2" pid="$3"
  for _ in $(seq 1 300); do
    port_in_use "$port" && return 0
    kill -0 "$pid" 2>/dev/null || fail "$name exited during start-up (see $LOGS/$name.log)."
    sleep 0.1
  done
  fail "$name did not listen on $port."
}

LOGS="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$LOGS"/cookie-*   # session cookies of the run; the logs stay for a look after a failure
}
trap cleanup EXIT

UPSTREAM_PORT=$(free_port); YARP_PORT=$(free_port); IDP_PORT=$(free_port); GATEWAY_PORT=$(free_port); REDIS_PORT=$(free_port)
UPSTREAM="http://127.0.0.1:$UPSTREAM_PORT"
YARP="http://127.0.0.1:$YARP_PORT"
IDP="http://127.0.0.1:$IDP_PORT"
GATEWAY="http://localhost:$GATEWAY_PORT"
CLIENT_SECRET="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"

start() { # NAME COMMAND…  (the command itself is the background job, so killing its pid stops it)
  local name="$1"; shift
  "$@" >"$LOGS/$name.log" 2>&1 &
  PIDS+=($!)
  LAST_PID=$!
}

say "Starting upstream, plain YARP, the demo provider and redis-server ($placement)…"
start upstream "${ON_OTHER_CPUS[@]}" dotnet "$(bin bench/Bff.Bench)/Bff.Bench.dll" upstream --urls "$UPSTREAM"
wait_for_port upstream "$UPSTREAM_PORT" "$LAST_PID"
start yarp "${ON_PROXY_CPU[@]}" env "${PROXY_ENV[@]}" ASPNETCORE_ENVIRONMENT=Production dotnet "$(bin bench/Bff.Bench)/Bff.Bench.dll" yarp --urls "$YARP" --upstream "$UPSTREAM/"
YARP_PID=$LAST_PID
wait_for_port yarp "$YARP_PORT" "$YARP_PID"
# The demo provider runs in Development only (it refuses Production). Access tokens live an hour: the load
# measures the per-request path, not refreshes (the test suite covers those).
start provider "${ON_OTHER_CPUS[@]}" env ASPNETCORE_ENVIRONMENT=Development Demo__Client__ClientSecret="$CLIENT_SECRET" \
  dotnet "$(bin demo/Bff.Demo.Identity)/Bff.Demo.Identity.dll" --urls "$IDP" \
  --Logging:LogLevel:Default=Warning --Demo:AccessTokenLifetime=01:00:00 \
  --Demo:Client:ClientId=bff --Demo:Client:RedirectUris:0="$GATEWAY/signin-oidc" \
  --Demo:Client:PostLogoutRedirectUris:0="$GATEWAY/signout-callback-oidc"
wait_for_port provider "$IDP_PORT" "$LAST_PID"
if [[ " $MODES " == *" telemetry "* ]]; then
  OTLP_PORT=$(free_port)
  start otlp "${ON_OTHER_CPUS[@]}" dotnet "$(bin bench/Bff.Bench)/Bff.Bench.dll" otlp --urls "http://127.0.0.1:$OTLP_PORT"
  wait_for_port otlp "$OTLP_PORT" "$LAST_PID"
fi
start redis "${ON_OTHER_CPUS[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no
wait_for_port redis "$REDIS_PORT" "$LAST_PID"
redis() { redis-cli -p "$REDIS_PORT" "$@"; }

start_gateway() { # MODE
  local mode="$1" store_args=() telemetry_env=()
  [ "$mode" = redis ] && store_args=(--Bff:Session:Store=Redis --Bff:Redis:Configuration="127.0.0.1:$REDIS_PORT")
  # Telemetry on as production runs it: OTLP export of traces (sampled by trace id, parent-based), metrics and logs.
  [ "$mode" = telemetry ] && telemetry_env=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
    OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG="$TRACE_RATIO")
  (cd "$(bin Bff.Host)" && exec "${ON_PROXY_CPU[@]}" env "${PROXY_ENV[@]}" "${telemetry_env[@]}" ASPNETCORE_ENVIRONMENT=Production Bff__ClientSecret="$CLIENT_SECRET" \
    dotnet Bff.Host.dll --urls "$GATEWAY" \
    --Bff:Authority="$IDP/" --Bff:ClientId=bff --Bff:RequireHttpsMetadata=false --Bff:PublicOrigin="$GATEWAY" \
    --Bff:Scopes="openid profile email offline_access demo_api" \
    --Bff:RateLimits:SignIn:Enabled=false \
    --Bff:Session:MaxPerSubject=1000000 \
    "${store_args[@]}" "${GATEWAY_EXTRA[@]}" \
    --ReverseProxy:Routes:api:ClusterId=api --ReverseProxy:Routes:api:Match:Path="/api/{**catch-all}" \
    --ReverseProxy:Routes:api:Metadata:Bff.Token=User --ReverseProxy:Routes:api:MaxRequestBodySize=-1 \
    --ReverseProxy:Clusters:api:Destinations:api:Address="$UPSTREAM/") >"$LOGS/gateway-$mode.log" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  wait_for_port "gateway-$mode" "$GATEWAY_PORT" "$GATEWAY_PID"
  for _ in $(seq 1 100); do
    curl -fsS "$GATEWAY/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "The gateway ($mode) did not become ready."
}
stop_gateway() { kill "$GATEWAY_PID"; wait "$GATEWAY_PID" 2>/dev/null || true; }

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }

# --- Load ----------------------------------------------------------------------------------------------------------
# wrk's latency figures in microseconds.
to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n }'; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }          # utime + stime of a process, in clock ticks
core0_busy() { awk '/^cpu0 / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }

# run_wrk PID URL CONNECTIONS SECONDS [HEADERS…] → "rps p50_us p99_us cpu_us_per_request core0_busy_%"
# (the proxy's own CPU time per request, and how busy its core was); fails on any non-2xx answer.
run_wrk() {
  local pid="$1" url="$2" connections="$3" seconds="$4"; shift 4
  local headers=() out ticks_before ticks_after busy_before total_before busy_after total_after
  for h in "$@"; do headers+=(-H "$h"); done
  ticks_before=$(cpu_ticks "$pid"); read -r busy_before total_before < <(core0_busy)
  out=$("${ON_OTHER_CPUS[@]}" wrk -t1 -c"$connections" -d"${seconds}s" --latency "${headers[@]}" "$url")
  ticks_after=$(cpu_ticks "$pid"); read -r busy_after total_after < <(core0_busy)
  if grep -q "Non-2xx" <<<"$out"; then
    echo "$out" >&2
    fail "wrk saw non-2xx answers from $url: the run would measure errors, not forwarding."
  fi
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  local requests cpu_us busy
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  cpu_us=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1000000 / n }')
  busy=$(awk -v b=$((busy_after - busy_before)) -v t=$((total_after - total_before)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
  echo "$rps $p50 $p99 $cpu_us $busy"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

mkdir -p "$OUT"
REPORT="$OUT/latest.md"
{
  echo "# Benchmark run $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(free -g | awk '/Mem:/ { print $2 }') GiB; $placement; $threads."
  echo "wrk -t1, ${DURATION}s per run, $PAIRS alternating pairs per connection count; route \`GET /api/echo\` (token-attaching \`Bff.Token=User\`, CSRF header sent)."
  echo
} >"$REPORT"

declare -A SUMMARY
for mode in $MODES; do
  say "Gateway with $mode sessions: starting, signing in…"
  redis FLUSHALL >/dev/null
  start_gateway "$mode"
  cookie_file="$LOGS/cookie-$mode"
  signin_out=$("${ON_OTHER_CPUS[@]}" dotnet "$(bin bench/Bff.Bench)/Bff.Bench.dll" signin --gateway "$GATEWAY" --count 1 --cookie-out "$cookie_file")
  COOKIE="$(cat "$cookie_file")"
  cookie_bytes=$(sed -nE 's/^session-cookie-header-bytes=([0-9]+)/\1/p' <<<"$signin_out")
  set_cookie_bytes=$(sed -nE 's/^session-set-cookie-bytes=([0-9]+)/\1/p' <<<"$signin_out")
  headers=("Cookie: $COOKIE" "X-CSRF: 1")
  # The gateway must really attach a token: the upstream says whether a bearer arrived.
  curl -fsS -H "Cookie: $COOKIE" -H "X-CSRF: 1" "$GATEWAY/api/echo" | grep -q '"bearer":true' || fail "The gateway did not attach a token."

  # Both processes reach steady state (tiered JIT, dynamic PGO) before anything is recorded: on one core this takes
  # tens of seconds of load, and a short warm-up shows up as a first pair that favours whichever ran longer.
  say "Warming up (2 × ${WARMUP}s each)…"
  for _ in 1 2; do
    run_wrk "$YARP_PID" "$YARP/api/echo" 64 "$WARMUP" "${headers[@]}" >/dev/null
    run_wrk "$GATEWAY_PID" "$GATEWAY/api/echo" 64 "$WARMUP" "${headers[@]}" >/dev/null
  done

  {
    echo "## Gateway with $mode sessions"
    echo
    echo "| connections | pair | YARP req/s | gateway req/s | ratio | YARP p50 µs | gateway p50 µs | YARP p99 µs | gateway p99 µs | YARP CPU µs/req | gateway CPU µs/req | proxy core busy % (YARP / gateway) |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  } >>"$REPORT"
  for c in $CONNECTIONS; do
    ratios=(); cpu_ratios=(); yp50=(); gp50=(); yp99=(); gp99=()
    for pair in $(seq 1 "$PAIRS"); do
      read -r y_rps y_p50 y_p99 y_cpu y_busy < <(run_wrk "$YARP_PID" "$YARP/api/echo" "$c" "$DURATION" "${headers[@]}")
      read -r g_rps g_p50 g_p99 g_cpu g_busy < <(run_wrk "$GATEWAY_PID" "$GATEWAY/api/echo" "$c" "$DURATION" "${headers[@]}")
      ratio=$(awk -v g="$g_rps" -v y="$y_rps" 'BEGIN { printf "%.3f", g / y }')
      cpu_ratio=$(awk -v g="$g_cpu" -v y="$y_cpu" 'BEGIN { printf "%.3f", y / g }')
      ratios+=("$ratio"); cpu_ratios+=("$cpu_ratio"); yp50+=("$y_p50"); gp50+=("$g_p50"); yp99+=("$y_p99"); gp99+=("$g_p99")
      echo "| $c | $pair | $y_rps | $g_rps | $ratio | $y_p50 | $g_p50 | $y_p99 | $g_p99 | $y_cpu | $g_cpu | $y_busy / $g_busy |" >>"$REPORT"
      say "$mode c=$c pair $pair: YARP $y_rps req/s ($y_cpu µs CPU/req, core $y_busy%), gateway $g_rps req/s ($g_cpu µs CPU/req, core $g_busy%), ratio $ratio"
    done
    SUMMARY[$mode,$c]="$(printf '%s\n' "${ratios[@]}" | median) $(printf '%s\n' "${cpu_ratios[@]}" | median) $(printf '%s\n' "${yp50[@]}" | median) $(printf '%s\n' "${gp50[@]}" | median) $(printf '%s\n' "${yp99[@]}" | median) $(printf '%s\n' "${gp99[@]}" | median)"
  done
  echo >>"$REPORT"

  # Sessions: the working set after SESSIONS real sign-ins, and what Redis holds per session.
  say "Signing in $SESSIONS sessions…"
  redis_before=$(redis INFO memory | awk -F: '/^used_memory:/ { print $2 + 0 }')
  rss_before=$(rss_kib "$GATEWAY_PID")
  signins=$("${ON_OTHER_CPUS[@]}" dotnet "$(bin bench/Bff.Bench)/Bff.Bench.dll" signin --gateway "$GATEWAY" --count "$SESSIONS" --parallel 4)
  rss_after=$(rss_kib "$GATEWAY_PID")
  redis_after=$(redis INFO memory | awk -F: '/^used_memory:/ { print $2 + 0 }')
  {
    echo "Sessions: $(tail -n 1 <<<"$signins"); gateway working set $((rss_before / 1024)) MiB before, $((rss_after / 1024)) MiB after."
    if [ "$mode" = redis ]; then
      key=$(redis --scan --pattern 'bff:session:v2:*' | head -n 1 || true)
      echo "Redis: $(redis DBSIZE) keys; one session key: $(redis MEMORY USAGE "$key" SAMPLES 0) bytes (MEMORY USAGE), value $(redis STRLEN "$key") bytes; used_memory grew by $(( (redis_after - redis_before) / SESSIONS )) bytes per session (indexes included)."
    fi
    echo
  } >>"$REPORT"
  SUMMARY[$mode,rss]="$((rss_before / 1024)) $((rss_after / 1024))"
  if [ "$mode" = redis ]; then
    SUMMARY[redis,bytes]="$(redis MEMORY USAGE "$key" SAMPLES 0) $(( (redis_after - redis_before) / SESSIONS ))"
  fi

  # Streaming: peak working set (VmHWM, reset first) while STREAM_MB go up and then down through each proxy.
  say "Streaming $STREAM_MB MiB each way…"
  for target in yarp gateway; do
    if [ "$target" = yarp ]; then pid=$YARP_PID; base=$YARP; else pid=$GATEWAY_PID; base=$GATEWAY; fi
    for direction in upload download; do
      echo 5 >"/proc/$pid/clear_refs"
      before=$(rss_kib "$pid")
      if [ "$direction" = upload ]; then
        head -c "$((STREAM_MB * 1024 * 1024))" /dev/zero \
          | curl -fsS -T - -X POST -H "Cookie: $COOKIE" -H "X-CSRF: 1" -H "Content-Type: application/octet-stream" "$base/api/upload" >/dev/null
      else
        curl -fsS -o /dev/null -H "Cookie: $COOKIE" -H "X-CSRF: 1" "$base/api/download?mb=$STREAM_MB"
      fi
      peak=$(hwm_kib "$pid")
      SUMMARY[$mode,$target,$direction]=$(( (peak - before) / 1024 ))
    done
  done
  if [ "$mode" = telemetry ]; then
    echo "OTLP received (signal=requests/bytes, traces sampled at $TRACE_RATIO): $(curl -fsS "http://127.0.0.1:$OTLP_PORT/stats")." >>"$REPORT"
    echo >>"$REPORT"
  fi
  echo "Streaming $STREAM_MB MiB: peak working-set growth (MiB) YARP upload ${SUMMARY[$mode,yarp,upload]}, download ${SUMMARY[$mode,yarp,download]}; gateway upload ${SUMMARY[$mode,gateway,upload]}, download ${SUMMARY[$mode,gateway,download]}." >>"$REPORT"
  echo >>"$REPORT"
  SUMMARY[cookie]="$cookie_bytes $set_cookie_bytes"
  stop_gateway
done

{
  echo "## Summary (medians over the pairs)"
  echo
  echo "| sessions | connections | throughput ratio (gateway ÷ YARP) | target | CPU-per-request ratio (YARP ÷ gateway) | YARP p50 µs | gateway p50 µs | YARP p99 µs | gateway p99 µs |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for mode in $MODES; do
    target="≥ 0.90"; [ "$mode" = redis ] && target="≥ 0.80"; [ "$mode" = telemetry ] && target="(reported)"
    for c in $CONNECTIONS; do
      read -r ratio cpu_ratio y50 g50 y99 g99 <<<"${SUMMARY[$mode,$c]}"
      echo "| $mode | $c | $ratio | $target | $cpu_ratio | $y50 | $g50 | $y99 | $g99 |"
    done
  done
  echo
  if [ -n "${SUMMARY[cookie]:-}" ]; then
    read -r cookie_bytes set_cookie_bytes <<<"${SUMMARY[cookie]}"
    echo "Session cookie: \`Cookie\` header $cookie_bytes bytes; its \`Set-Cookie\` $set_cookie_bytes bytes (target ≤ 200)."
  fi
  for mode in $MODES; do
    read -r before after <<<"${SUMMARY[$mode,rss]}"
    echo "Working set with $mode sessions: $before MiB, $after MiB after $SESSIONS sessions."
  done
  if [ -n "${SUMMARY[redis,bytes]:-}" ]; then
    read -r usage per_session <<<"${SUMMARY[redis,bytes]}"
    echo "Redis per session: $usage bytes for the session key, $per_session bytes of used_memory with indexes (target ≤ 4096)."
  fi
} | tee -a "$REPORT"

# --- Storms (optional): counted figures are exact under any load; timings need a quiet machine ---------------------
# The apps under test (gateway replicas, the baseline app) run on the proxy's CPU; the driver, its in-process stub
# provider and echo API, and Redis on the others.
export BENCH_APP_CPUS=""
((cores >= 2)) && BENCH_APP_CPUS=0
for storm in $STORMS; do
  echo >>"$REPORT"
  case "$storm" in
    memory)
      say "Storm: bytes per session (${BENCH_MEMORY_SESSIONS:-10000} sessions per token shape)…"
      "${ON_OTHER_CPUS[@]}" dotnet "$(bin bench/Bff.Bench)/Bff.Bench.dll" memory --sessions "${BENCH_MEMORY_SESSIONS:-10000}" \
        --redis "127.0.0.1:$REDIS_PORT" | tee -a "$REPORT" || fail "The memory scenario failed."
      ;;
    refresh)
      say "Storm: refresh storm (${BENCH_STORM_SESSIONS:-1000} sessions, ${BENCH_STORM_REPLICAS:-3} replicas)…"
      redis FLUSHALL >/dev/null
      "${ON_OTHER_CPUS[@]}" dotnet "$(bin bench/Bff.Bench)/Bff.Bench.dll" refresh-storm --host "$(bin Bff.Host)" \
        --redis "127.0.0.1:$REDIS_PORT" --sessions "${BENCH_STORM_SESSIONS:-1000}" --replicas "${BENCH_STORM_REPLICAS:-3}" \
        | tee -a "$REPORT" || fail "The refresh storm failed (see above: refreshes must equal sessions)."
      ;;
    signin)
      say "Storm: sign-in wave (${BENCH_WAVE_USERS:-1000} users, ${BENCH_WAVE_CONCURRENCY:-32} in flight)…"
      "${ON_OTHER_CPUS[@]}" dotnet "$(bin bench/Bff.Bench)/Bff.Bench.dll" signin-wave --host "$(bin Bff.Host)" \
        --users "${BENCH_WAVE_USERS:-1000}" --concurrency "${BENCH_WAVE_CONCURRENCY:-32}" | tee -a "$REPORT" || fail "The sign-in wave failed."
      ;;
    *) fail "Unknown storm '$storm' (memory, refresh, signin)." ;;
  esac
done
say "Report: $REPORT"
