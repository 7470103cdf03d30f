#!/usr/bin/env bash
# Gateway overhead benchmark: the same wrk load against the mock upstream directly,
# through nginx (a plain reverse proxy, the reference) and through Tandem.
# Prints requests/s, p50/p99 latency, the latency each proxy adds over direct and the
# proxies' peak RSS, then checks Tandem against its targets (>= 0.8x nginx throughput,
# < 100 us added p50). Optional soak mode (SOAK_REQUESTS=N) watches Tandem's RSS over N
# requests so a leak shows up as a rising line. See bench/gateway/README.md.
#
# Exit status: 0 whether the targets are met or not (it is a benchmark); non-zero only
# when something fails to start or answer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

TANDEM_BIN="${TANDEM_BIN:-$ROOT/build/release/src/tandem/tandem}"
MOCK_BIN="${MOCK_BIN:-$ROOT/build/release/tests/tandem-mock-upstream}"
NGINX_BIN="${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}"
WRK_BIN="${WRK_BIN:-$(command -v wrk || echo /usr/bin/wrk)}"

THREADS="${THREADS:-1}"               # Tandem threads = nginx worker_processes
MOCK_THREADS="${MOCK_THREADS:-1}"     # mock upstream threads
CONNECTIONS="${CONNECTIONS:-32}"      # wrk connections
DURATION="${DURATION:-10s}"           # measured wrk run per target
WARMUP="${WARMUP:-2s}"                # wrk warm-up per target (not measured)
WRK_THREADS="${WRK_THREADS:-1}"       # the machine this was written on has 2 cores
WRK_TIMEOUT="${WRK_TIMEOUT:-2s}"      # per-request timeout inside wrk
SOAK_REQUESTS="${SOAK_REQUESTS:-0}"   # 0: no soak
SOAK_MAX_SECONDS="${SOAK_MAX_SECONDS:-600}"
SOAK_CHUNK_SECONDS="${SOAK_CHUNK_SECONDS:-10}"
TARGET_RATIO="${TARGET_RATIO:-0.8}"
TARGET_ADDED_P50_US="${TARGET_ADDED_P50_US:-100}"

die() { echo "run.sh: error: $*" >&2; exit 1; }
log() { echo "== $*"; }

for b in "$TANDEM_BIN" "$MOCK_BIN"; do
  [[ -x "$b" ]] || die "$b not found or not executable (run 'make build' first)"
done
[[ -x "$NGINX_BIN" ]] || die "nginx not found (set NGINX_BIN; Debian: apt-get install nginx-light)"
[[ -x "$WRK_BIN" ]] || die "wrk not found (set WRK_BIN; Debian: apt-get install wrk)"
command -v curl >/dev/null || die "curl not found"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer"
[[ "$SOAK_REQUESTS" =~ ^[0-9]+$ ]] || die "SOAK_REQUESTS must be a non-negative integer"
[[ "$SOAK_MAX_SECONDS" =~ ^[1-9][0-9]*$ ]] || die "SOAK_MAX_SECONDS must be a positive integer"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/tandem-bench.XXXXXX")"
chmod 755 "$TMP"   # nginx workers may run as an unprivileged user
PIDS=()            # every process this script started, stopped in reverse order
SAMPLER_PID=""
KEEP_TMP="${KEEP_TMP:-}" # non-empty: keep the temp dir (configs, logs, raw wrk output)

cleanup() {
  local rc=$?
  set +e
  if [[ -n "$SAMPLER_PID" ]]; then kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; fi
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    # bounded wait: escalate to KILL after ~5 s
    local n=0
    while kill -0 "${PIDS[i]}" 2>/dev/null && ((n < 50)); do sleep 0.1; n=$((n + 1)); done
    kill -KILL "${PIDS[i]}" 2>/dev/null
    wait "${PIDS[i]}" 2>/dev/null
  done
  if [[ $rc -ne 0 || -n "$KEEP_TMP" ]]; then
    echo "run.sh: logs kept in $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers

wait_port_file() { # FILE PID NAME
  local f="$1" pid="$2" name="$3" n=0
  while [[ ! -s "$f" ]]; do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (log: $TMP/$name.log)"
    ((n++ < 100)) || die "$name did not write its port within 10 s (log: $TMP/$name.log)"
    sleep 0.1
  done
  cat "$f"
}

port_in_use() { # PORT
  if command -v ss >/dev/null; then
    [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}

wait_listening() { # PORT PID NAME
  local n=0
  until port_in_use "$1"; do
    kill -0 "$2" 2>/dev/null || return 1
    ((n++ < 100)) || return 1
    sleep 0.1
  done
}

BODY='{"model":"bench","messages":[{"role":"user","content":"Say hello"}]}'

check_200() { # NAME URL
  local code
  code="$(curl -s -o "$TMP/check-$1.out" -w '%{http_code}' --max-time 5 \
    -H 'Content-Type: application/json' -d "$BODY" "$2" || true)"
  if [[ "$code" != "200" ]]; then
    echo "run.sh: $1 ($2) answered HTTP '${code:-none}' instead of 200:" >&2
    head -c 500 "$TMP/check-$1.out" >&2 2>/dev/null || true
    echo >&2
    die "$1 is not answering; not measuring"
  fi
  echo "   $1: 200 OK ($2)"
}

status_kb() { # PID FIELD -> kB (0 if gone)
  local st
  st="$(cat "/proc/$1/status" 2>/dev/null || true)"
  awk -v f="$2:" '$1 == f { v = $2 } END { print v + 0 }' <<<"$st"
}

nginx_pids() { # master + workers
  echo "$NGINX_PID"
  pgrep -P "$NGINX_PID" 2>/dev/null || true
}

nginx_hwm_kb() { # sum of VmHWM of master and workers (upper bound: shared pages counted twice)
  local sum=0 p
  for p in $(nginx_pids); do sum=$((sum + $(status_kb "$p" VmHWM))); done
  echo "$sum"
}

to_us() { # "123.45us" | "1.2ms" | "2.00s" | "1.00m" -> integer-ish microseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") m = 1; else if (u == "ms") m = 1e3; else if (u == "s") m = 1e6;
    else if (u == "m") m = 6e7; else if (u == "h") m = 3.6e9; else m = -1
    if (m < 0) print "nan"; else printf "%.1f", n * m }'
}

# wrk run; prints "rps p50_us p99_us requests errors" on stdout, keeps the raw output.
run_wrk() { # NAME URL DURATION
  local name="$1" url="$2" dur="$3" out="$TMP/wrk-$1-$3.txt"
  timeout --kill-after=5 "$(( $(dur_s "$dur") + 30 ))" \
    "$WRK_BIN" -t "$WRK_THREADS" -c "$CONNECTIONS" -d "$dur" --timeout "$WRK_TIMEOUT" \
    --latency -s "$TMP/post.lua" "$url" >"$out" 2>&1 || die "wrk against $name failed: $(cat "$out")"
  local rps p50 p99 reqs non2xx sock
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
  p50="$(awk '$1 == "50%" { print $2 }' "$out")"
  p99="$(awk '$1 == "99%" { print $2 }' "$out")"
  reqs="$(awk '/requests in/ { print $1 }' "$out")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
  sock="$(awk '/Socket errors:/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }' "$out")"
  [[ -n "$rps" && -n "$p50" && -n "$p99" && -n "$reqs" ]] || die "could not parse wrk output for $name: $(cat "$out")"
  echo "$rps $(to_us "$p50") $(to_us "$p99") $reqs $(( ${non2xx:-0} + ${sock:-0} ))"
}

dur_s() { # "10s" | "2m" | "500ms" | "10" -> whole seconds (at least 1)
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    m = (u == "m") ? 60 : (u == "h") ? 3600 : (u == "ms") ? 0.001 : 1
    s = int(n * m + 0.999); if (s < 1) s = 1; print s }'
}

# ---------------------------------------------------------------- start everything

log "starting mock upstream (threads $MOCK_THREADS)"
"$MOCK_BIN" --port 0 --port-file "$TMP/mock.port" --threads "$MOCK_THREADS" >"$TMP/mock.log" 2>&1 &
MOCK_PID=$!; PIDS+=("$MOCK_PID")
MOCK_PORT="$(wait_port_file "$TMP/mock.port" "$MOCK_PID" mock)"

cat >"$TMP/tandem.toml" <<EOF
[server]
host = "127.0.0.1"
port = 0
threads = $THREADS
log_level = "warn"

[providers.mock]
kind = "openai"
base_url = "http://127.0.0.1:$MOCK_PORT/v1"
input_price_per_mtok = 0.15
output_price_per_mtok = 0.6
max_idle_connections = 256

[models.bench]
routes = [{ provider = "mock", model = "bench-upstream" }]
EOF

log "starting tandem (threads $THREADS)"
"$TANDEM_BIN" serve -c "$TMP/tandem.toml" --port 0 --port-file "$TMP/tandem.port" \
  --threads "$THREADS" >"$TMP/tandem.log" 2>&1 &
TANDEM_PID=$!; PIDS+=("$TANDEM_PID")
TANDEM_PORT="$(wait_port_file "$TMP/tandem.port" "$TANDEM_PID" tandem)"

log "starting nginx (worker_processes $THREADS)"
mkdir -p "$TMP/nginx"
NGINX_PID=""
for _ in 1 2 3 4 5; do
  NGINX_PORT="$(free_port)"
  cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $THREADS;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/client_body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 1000000;
  upstream mock {
    server 127.0.0.1:$MOCK_PORT;
    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
    }
  }
}
EOF
  "$NGINX_BIN" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" \
    >"$TMP/nginx/stdout.log" 2>&1 &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")
  if wait_listening "$NGINX_PORT" "$NGINX_PID" nginx; then break; fi
  # lost a race for the port (or something else): stop it and try again
  kill -TERM "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true
  unset 'PIDS[${#PIDS[@]}-1]'; NGINX_PID=""
done
[[ -n "$NGINX_PID" ]] || die "nginx did not start listening on 127.0.0.1:$NGINX_PORT: $(cat "$TMP/nginx/error.log" "$TMP/nginx/stdout.log" 2>/dev/null)"

DIRECT_URL="http://127.0.0.1:$MOCK_PORT/v1/chat/completions"
NGINX_URL="http://127.0.0.1:$NGINX_PORT/v1/chat/completions"
TANDEM_URL="http://127.0.0.1:$TANDEM_PORT/v1/chat/completions"

cat >"$TMP/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
EOF

log "checking every target answers 200"
check_200 direct "$DIRECT_URL"
check_200 nginx "$NGINX_URL"
check_200 tandem "$TANDEM_URL"
grep -q '"Hello from the mock upstream."' "$TMP/check-tandem.out" \
  || die "tandem's answer is not the mock's: $(head -c 500 "$TMP/check-tandem.out")"
TANDEM_SENT=1 # requests sent to Tandem's chat endpoint, for the /metrics check

# ---------------------------------------------------------------- measure

log "load: wrk -t$WRK_THREADS -c$CONNECTIONS, warm-up $WARMUP then $DURATION per target (POST, $(( ${#BODY} ))-byte body)"
declare -A RPS P50 P99 REQS ERRS
for target in direct nginx tandem; do
  case "$target" in
    direct) url="$DIRECT_URL" ;;
    nginx) url="$NGINX_URL" ;;
    tandem) url="$TANDEM_URL" ;;
  esac
  res="$(run_wrk "$target-warmup" "$url" "$WARMUP")"
  read -r _ _ _ wreqs _ <<<"$res"
  [[ "$target" == tandem ]] && TANDEM_SENT=$((TANDEM_SENT + wreqs))
  res="$(run_wrk "$target" "$url" "$DURATION")"
  read -r RPS[$target] P50[$target] P99[$target] REQS[$target] ERRS[$target] <<<"$res"
  [[ "$target" == tandem ]] && TANDEM_SENT=$((TANDEM_SENT + REQS[$target]))
  printf '   %-7s %10.0f req/s  p50 %8.1f us  p99 %8.1f us  (%s requests, %s errors)\n' \
    "$target" "${RPS[$target]}" "${P50[$target]}" "${P99[$target]}" "${REQS[$target]}" "${ERRS[$target]}"
done

TANDEM_HWM_KB="$(status_kb "$TANDEM_PID" VmHWM)"
NGINX_HWM_KB="$(nginx_hwm_kb)"

# ---------------------------------------------------------------- report

echo
printf '%-8s %12s %10s %10s %18s %13s\n' target "requests/s" "p50 us" "p99 us" "added p50 (us)" "peak RSS MB"
printf '%-8s %12s %10s %10s %18s %13s\n' -------- ------------ ---------- ---------- ------------------ -------------
for target in direct nginx tandem; do
  case "$target" in
    direct) rss="-"; added="-" ;;
    nginx) rss="$(awk -v k="$NGINX_HWM_KB" 'BEGIN { printf "%.1f", k / 1024 }')"
           added="$(awk -v a="${P50[nginx]}" -v b="${P50[direct]}" 'BEGIN { printf "%+.1f", a - b }')" ;;
    tandem) rss="$(awk -v k="$TANDEM_HWM_KB" 'BEGIN { printf "%.1f", k / 1024 }')"
            added="$(awk -v a="${P50[tandem]}" -v b="${P50[direct]}" 'BEGIN { printf "%+.1f", a - b }')" ;;
  esac
  printf '%-8s %12.0f %10.1f %10.1f %18s %13s\n' "$target" "${RPS[$target]}" "${P50[$target]}" "${P99[$target]}" "$added" "$rss"
done
echo "(peak RSS: tandem VmHWM; nginx sum of master + worker VmHWM, an upper bound since forked pages are shared)"
for target in direct nginx tandem; do
  if [[ "${ERRS[$target]}" != 0 ]]; then
    echo "WARNING: $target had ${ERRS[$target]} non-2xx responses or socket errors; see $TMP/wrk-$target-$DURATION.txt"
    KEEP_TMP=1
  fi
done

RATIO="$(awk -v t="${RPS[tandem]}" -v n="${RPS[nginx]}" 'BEGIN { printf "%.2f", (n > 0) ? t / n : 0 }')"
ADDED="$(awk -v a="${P50[tandem]}" -v b="${P50[direct]}" 'BEGIN { printf "%.1f", a - b }')"
RATIO_OK="$(awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) ? "PASS" : "MISS" }')"
ADDED_OK="$(awk -v a="$ADDED" -v t="$TARGET_ADDED_P50_US" 'BEGIN { print (a < t) ? "PASS" : "MISS" }')"
echo
echo "tandem/nginx throughput: ${RATIO}x   (target >= ${TARGET_RATIO}x)   $RATIO_OK"
echo "tandem added p50:        ${ADDED} us (target < ${TARGET_ADDED_P50_US} us)   $ADDED_OK"

# ---------------------------------------------------------------- soak

if ((SOAK_REQUESTS > 0)); then
  echo
  log "soak: $SOAK_REQUESTS requests to tandem (at most ${SOAK_MAX_SECONDS}s), sampling its RSS every second"
  RSS_START_KB="$(status_kb "$TANDEM_PID" VmRSS)"   # after the warm-up and measured runs above
  : >"$TMP/soak-rss.txt"
  (
    t=0
    while kill -0 "$TANDEM_PID" 2>/dev/null; do
      echo "$t $(status_kb "$TANDEM_PID" VmRSS)" >>"$TMP/soak-rss.txt"
      sleep 1; t=$((t + 1))
    done
  ) &
  SAMPLER_PID=$!
  soak_sent=0; soak_start=$SECONDS; chunks=0; soak_errs=0; rate=0
  while ((soak_sent < SOAK_REQUESTS)); do
    elapsed=$((SECONDS - soak_start)); left_s=$((SOAK_MAX_SECONDS - elapsed))
    if ((left_s <= 0)); then
      echo "   soak stopped at its time limit (${SOAK_MAX_SECONDS}s) after $soak_sent requests"
      break
    fi
    # size the chunk from the rate seen so far so that we stop close to the count
    chunk=$SOAK_CHUNK_SECONDS
    if ((rate > 0)); then
      need=$(( (SOAK_REQUESTS - soak_sent + rate - 1) / rate ))
      ((need < chunk)) && chunk=$need
    fi
    ((chunk > left_s)) && chunk=$left_s
    ((chunk < 1)) && chunk=1
    res="$(run_wrk tandem-soak "$TANDEM_URL" "${chunk}s")"
    read -r crps _ _ creqs cerrs <<<"$res"
    soak_sent=$((soak_sent + creqs)); soak_errs=$((soak_errs + cerrs))
    rate="$(awk -v r="$crps" 'BEGIN { printf "%d", r }')"
    chunks=$((chunks + 1))
    printf '   chunk %3d: %4ss %9d requests (total %10d)  RSS %7.1f MB\n' "$chunks" "$chunk" "$creqs" "$soak_sent" \
      "$(awk -v k="$(status_kb "$TANDEM_PID" VmRSS)" 'BEGIN { print k / 1024 }')"
  done
  soak_secs=$((SECONDS - soak_start))
  TANDEM_SENT=$((TANDEM_SENT + soak_sent))
  sleep 1
  kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
  RSS_END_KB="$(status_kb "$TANDEM_PID" VmRSS)"
  RSS_MAX_KB="$(awk -v s="$RSS_START_KB" -v e="$RSS_END_KB" 'BEGIN { m = (s > e) ? s : e } $2 > m { m = $2 } END { print m }' "$TMP/soak-rss.txt")"
  echo "   $soak_sent requests in ${soak_secs}s, $soak_errs non-2xx/socket errors"
  # RSS over time at up to 10 evenly spaced samples, to show the trend
  echo -n "   RSS trend (MB):"
  awk '{ t[NR] = $1; r[NR] = $2 } END {
    n = NR; k = (n < 10) ? n : 10
    for (i = 1; i <= k; i++) { j = (k == 1) ? 1 : int(1 + (i - 1) * (n - 1) / (k - 1)); printf " %ss:%.1f", t[j], r[j] / 1024 }
    print "" }' "$TMP/soak-rss.txt"
  awk -v s="$RSS_START_KB" -v m="$RSS_MAX_KB" -v e="$RSS_END_KB" 'BEGIN {
    printf "   tandem RSS: start %.1f MB, max %.1f MB, end %.1f MB, growth %+.2f MB (%+d kB, %+.1f%%)\n",
      s / 1024, m / 1024, e / 1024, (e - s) / 1024, e - s, (s > 0) ? 100 * (e - s) / s : 0 }'
  if [[ "$soak_errs" != 0 ]]; then
    echo "WARNING: the soak saw $soak_errs non-2xx responses or socket errors; see $TMP/wrk-tandem-soak-*.txt"
    KEEP_TMP=1
  fi
fi

# ---------------------------------------------------------------- /metrics

echo
log "tandem /metrics (chat endpoint)"
curl -s --max-time 5 "http://127.0.0.1:$TANDEM_PORT/metrics" >"$TMP/metrics.txt" \
  || die "tandem /metrics did not answer"
grep '^tandem_http_requests_total{endpoint="/v1/chat/completions"' "$TMP/metrics.txt" | sed 's/^/   /' \
  || die "tandem_http_requests_total has no /v1/chat/completions series"
COUNTED="$(awk '/^tandem_http_requests_total\{endpoint="\/v1\/chat\/completions"/ { s += $NF } END { printf "%d", s }' "$TMP/metrics.txt")"
# wrk counts only the responses it read before stopping; the ones in flight at the end of
# each run reached Tandem too, so /metrics should be a little higher than wrk's count.
if ((COUNTED >= TANDEM_SENT)); then
  echo "   counted $COUNTED chat requests; wrk + curl completed $TANDEM_SENT (the rest were in flight when wrk stopped): OK"
else
  echo "   WARNING: /metrics counts $COUNTED chat requests but wrk + curl completed $TANDEM_SENT"
fi
