#!/usr/bin/env bash
# Tailored-task HTTP benchmark: the same wrk load on POST /v1/tasks/<name> (text classification,
# top-10 recommendations with and without reasons, one Fashion-MNIST image as pixels and as a
# PNG) and, as the reference, on nginx answering a static body of the same size (the HTTP floor
# of this machine). Prints requests/s, p50/p99 latency, errors and peak RSS per target, and the
# model's own time per call from Tandem's /metrics (tandem_task_inference_seconds), so the table
# shows what HTTP + queueing cost beside the model. See bench/tasks/README.md.
#
# The three model artifacts are trained once with the real CLI (`tandem train`) on the real data
# into a cache folder and reused (REBUILD=1 trains them again).
#
# Exit status: 0 whatever the figures (it is a benchmark); non-zero only when something fails
# to train, start or answer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

TANDEM_BIN="${TANDEM_BIN:-$ROOT/build/release/src/tandem/tandem}"
NGINX_BIN="${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}"
WRK_BIN="${WRK_BIN:-$(command -v wrk || echo /usr/bin/wrk)}"
DATA="${TANDEM_DATA:-$HOME/.cache/tandem/data}"          # scripts/setup_data.sh's cache
CACHE="${BENCH_CACHE:-$HOME/.cache/tandem/bench-tasks}"  # the trained artifacts
REBUILD="${REBUILD:-}"                                   # non-empty: train the artifacts again
VISION_MODEL="${VISION_MODEL:-}"     # a full Fashion-MNIST artifact (bench/vision writes one)
FULL_VISION_DEFAULT="$HOME/.cache/tandem/models/fashion-mnist-cnn.tandem"  # tandem-vision-bench's
TRAIN_TIMEOUT="${TRAIN_TIMEOUT:-1800}"  # seconds per `tandem train`

QUICK="${QUICK:-}"                    # non-empty: short runs, for a smoke test (< 1 min, cache warm)
THREADS="${THREADS:-1}"               # Tandem [server] threads = nginx worker_processes
WORKERS="${WORKERS:-1}"               # Tandem [server] task_workers
CONNECTIONS="${CONNECTIONS:-16}"      # wrk connections
if [[ -n "$QUICK" ]]; then
  DURATION="${DURATION:-2s}"
  WARMUP="${WARMUP:-1s}"
else
  DURATION="${DURATION:-10s}"         # measured wrk run per target and variant
  WARMUP="${WARMUP:-2s}"              # unmeasured wrk run before it
fi
WRK_THREADS="${WRK_THREADS:-1}"       # the machine this was written on has 2 cores
WRK_TIMEOUT="${WRK_TIMEOUT:-2s}"      # per-request timeout inside wrk
TEXT_ROW="${TEXT_ROW:-0}"             # which review of fine_foods_test.csv is sent
IMAGE_INDEX="${IMAGE_INDEX:-0}"       # which Fashion-MNIST test image is sent
RECSYS_USER="${RECSYS_USER:-1}"       # whose recommendations are asked for
VARIANTS="${VARIANTS:-text recsys recsys-noexplain vision-pixels vision-png}"

die() { echo "run.sh: error: $*" >&2; exit 1; }
log() { echo "== $*"; }

[[ -x "$TANDEM_BIN" ]] || die "$TANDEM_BIN not found or not executable (run 'make build' first)"
[[ -x "$NGINX_BIN" ]] || die "nginx not found (set NGINX_BIN; Debian: apt-get install nginx-light)"
[[ -x "$WRK_BIN" ]] || die "wrk not found (set WRK_BIN; Debian: apt-get install wrk)"
command -v curl >/dev/null || die "curl not found"
command -v python3 >/dev/null || die "python3 not found (it writes the request bodies)"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer"
[[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive integer"
[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive integer"
[[ "$TRAIN_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "TRAIN_TIMEOUT must be a positive integer (seconds)"
"$TANDEM_BIN" train --help >/dev/null 2>&1 || die "$TANDEM_BIN has no 'train' command (rebuild it)"
for f in fine_foods_train.csv fine_foods_test.csv movielens_ratings.csv \
  fashion-mnist/t10k-images-idx3-ubyte.gz; do
  [[ -f "$DATA/$f" ]] || die "$DATA/$f not found (run scripts/setup_data.sh, or set TANDEM_DATA)"
done
for v in $VARIANTS; do
  case "$v" in text | recsys | recsys-noexplain | vision-pixels | vision-png) ;;
    *) die "unknown variant '$v' in VARIANTS" ;;
  esac
done

TMP="$(mktemp -d "${TMPDIR:-/tmp}/tandem-bench-tasks.XXXXXX")"
chmod 755 "$TMP"   # nginx workers may run as an unprivileged user and read the static bodies
PIDS=()            # every process this script started, stopped in reverse order
PARTIAL=""         # an artifact being written, removed if we stop before it is complete
KEEP_TMP="${KEEP_TMP:-}" # non-empty: keep the temp dir (configs, logs, bodies, raw wrk output)

cleanup() {
  local rc=$?
  set +e
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
  [[ -n "$PARTIAL" ]] && rm -f "$PARTIAL"
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
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up: $(tail -n 20 "$TMP/$name.log")"
    ((n++ < 300)) || die "$name did not write its port within 30 s (log: $TMP/$name.log)"
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

wait_listening() { # PORT PID
  local n=0
  until port_in_use "$1"; do
    kill -0 "$2" 2>/dev/null || return 1
    ((n++ < 100)) || return 1
    sleep 0.1
  done
}

status_kb() { # PID FIELD -> kB (0 if gone)
  local st
  st="$(cat "/proc/$1/status" 2>/dev/null || true)"
  awk -v f="$2:" '$1 == f { v = $2 } END { print v + 0 }' <<<"$st"
}

nginx_hwm_kb() { # sum of VmHWM of master and workers (upper bound: shared pages counted twice)
  local sum=0 p
  for p in "$NGINX_PID" $(pgrep -P "$NGINX_PID" 2>/dev/null || true); do
    sum=$((sum + $(status_kb "$p" VmHWM)))
  done
  echo "$sum"
}

load1() { awk '{ print $1 }' /proc/loadavg; }

to_us() { # "123.45us" | "1.2ms" | "2.00s" | "1.00m" -> microseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") m = 1; else if (u == "ms") m = 1e3; else if (u == "s") m = 1e6;
    else if (u == "m") m = 6e7; else if (u == "h") m = 3.6e9; else m = -1
    if (m < 0) print "nan"; else printf "%.1f", n * m }'
}

dur_s() { # "10s" | "2m" | "10" -> whole seconds (at least 1)
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    m = (u == "m") ? 60 : (u == "h") ? 3600 : (u == "ms") ? 0.001 : 1
    s = int(n * m + 0.999); if (s < 1) s = 1; print s }'
}

# wrk run; prints "rps p50_us p99_us requests errors" on stdout, keeps the raw output.
run_wrk() { # NAME URL DURATION LUA
  local name="$1" url="$2" dur="$3" lua="$4" out="$TMP/wrk-$1-$3.txt"
  timeout --kill-after=5 "$(($(dur_s "$dur") + 30))" \
    "$WRK_BIN" -t "$WRK_THREADS" -c "$CONNECTIONS" -d "$dur" --timeout "$WRK_TIMEOUT" \
    --latency -s "$lua" "$url" >"$out" 2>&1 || die "wrk against $name failed: $(cat "$out")"
  local rps p50 p99 reqs non2xx sock
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
  p50="$(awk '$1 == "50%" { print $2 }' "$out")"
  p99="$(awk '$1 == "99%" { print $2 }' "$out")"
  reqs="$(awk '/requests in/ { print $1 }' "$out")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
  sock="$(awk '/Socket errors:/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }' "$out")"
  [[ -n "$rps" && -n "$p50" && -n "$p99" && -n "$reqs" ]] || die "could not parse wrk output for $name: $(cat "$out")"
  echo "$rps $(to_us "$p50") $(to_us "$p99") $reqs $((${non2xx:-0} + ${sock:-0}))"
}

# POSTs a body file once; dies unless the answer is 200. The answer goes to OUT.
check_200() { # NAME URL BODYFILE OUT
  local code
  code="$(curl -s -o "$4" -w '%{http_code}' --max-time 10 \
    -H 'Content-Type: application/json' --data-binary "@$3" "$2" || true)"
  if [[ "$code" != "200" ]]; then
    echo "run.sh: $1 ($2) answered HTTP '${code:-none}' instead of 200:" >&2
    head -c 500 "$4" >&2 2>/dev/null || true
    echo >&2
    die "$1 is not answering; not measuring"
  fi
}

# "sum count" of a Prometheus histogram's series for one task, from a /metrics dump.
hist_sum_count() { # FILE METRIC TASK
  awk -v m="$2" -v t="task=\"$3\"" '
    index($0, m "_sum{") == 1 && index($0, t) { s = $NF }
    index($0, m "_count{") == 1 && index($0, t) { c = $NF }
    END { printf "%s %s\n", (s == "" ? 0 : s), (c == "" ? 0 : c) }' "$1"
}

scrape() { # OUT
  curl -s --max-time 5 "http://127.0.0.1:$TANDEM_PORT/metrics" >"$1" || die "tandem /metrics did not answer"
}

# ---------------------------------------------------------------- artifacts (once, cached)

mkdir -p "$CACHE"
train_once() { # NAME OUT ARGS... : `tandem train ARGS -o OUT`, unless OUT exists (and no REBUILD)
  local name="$1" out="$2"; shift 2
  if [[ -s "$out" && -z "$REBUILD" ]]; then
    echo "   $name: cached $out ($(stat -c %s "$out") bytes, trained $(date -r "$out" '+%F %T'); REBUILD=1 after the trainer changes)"
    return 0
  fi
  echo "   $name: tandem train $* (log: $out.log)"
  PARTIAL="$out.partial"
  local t0=$SECONDS
  if ! timeout --kill-after=10 "$TRAIN_TIMEOUT" "$TANDEM_BIN" train "$@" -o "$PARTIAL" >"$out.log" 2>&1; then
    tr '\r' '\n' <"$out.log" | grep -v '^[[:space:]]*$' | tail -n 15 >&2
    die "training the $name model failed or ran past ${TRAIN_TIMEOUT}s (log: $out.log)"
  fi
  mv -f "$PARTIAL" "$out"; PARTIAL=""
  # the progress bar redraws with \r: keep the last lines only
  tr '\r' '\n' <"$out.log" | grep -v '^[[:space:]]*$' | grep -v '%' | tail -n 4 | sed 's/^/      /'
  echo "      ($((SECONDS - t0)) s)"
}

log "artifacts in $CACHE (REBUILD=1 trains them again)"
TEXT_MODEL="$CACHE/text.tandem"
RECSYS_MODEL="$CACHE/recsys.tandem"
train_once recsys "$RECSYS_MODEL" recsys --data "$DATA/movielens_ratings.csv"
train_once text "$TEXT_MODEL" text --data "$DATA/fine_foods_train.csv"
VISION_NOTE=""
if [[ -n "$VISION_MODEL" ]]; then
  [[ -s "$VISION_MODEL" ]] || die "VISION_MODEL=$VISION_MODEL not found"
  echo "   vision: VISION_MODEL=$VISION_MODEL"
elif [[ -s "$FULL_VISION_DEFAULT" ]]; then
  VISION_MODEL="$FULL_VISION_DEFAULT"
  echo "   vision: full Fashion-MNIST artifact $VISION_MODEL (from tandem-vision-bench)"
else
  [[ -f "$DATA/fashion-mnist/train-images-idx3-ubyte.gz" && -f "$DATA/fashion-mnist/train-labels-idx1-ubyte.gz" ]] \
    || die "Fashion-MNIST training files not found in $DATA/fashion-mnist"
  VISION_MODEL="$CACHE/vision-quick.tandem"
  train_once vision "$VISION_MODEL" vision --data "$DATA/fashion-mnist/train-images-idx3-ubyte.gz" \
    --labels "$DATA/fashion-mnist/train-labels-idx1-ubyte.gz" --max-examples 6000 --epochs 1
  VISION_NOTE="quick vision model (6,000 images, 1 epoch): less accurate than a full one, but the network is the same size, so throughput and latency do not depend on it (VISION_MODEL=... to use a full artifact)"
  echo "   note: $VISION_NOTE"
fi

# ---------------------------------------------------------------- request bodies

# Fixed, realistic bodies: a real review from the test split, user RECSYS_USER, and a real
# Fashion-MNIST test image as 784 pixel values and as a PNG (written here with zlib only).
cat >"$TMP/make_bodies.py" <<'EOF'
import base64, csv, gzip, json, struct, sys, zlib

data, out, text_row, image_index, user = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

with open(f"{data}/fine_foods_test.csv", encoding="utf-8", newline="") as f:
    review = list(csv.DictReader(f))[text_row]["text"]

with gzip.open(f"{data}/fashion-mnist/t10k-images-idx3-ubyte.gz", "rb") as f:
    magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
    assert magic == 2051 and rows == 28 and cols == 28 and image_index < count
    f.seek(16 + image_index * 784)
    pixels = f.read(784)
label = None
try:
    with gzip.open(f"{data}/fashion-mnist/t10k-labels-idx1-ubyte.gz", "rb") as f:
        f.seek(8 + image_index)
        label = f.read(1)[0]
except OSError:
    pass

def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

raw = b"".join(b"\x00" + pixels[r * 28:(r + 1) * 28] for r in range(28))  # filter 0 per row
png = (b"\x89PNG\r\n\x1a\n"
       + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))  # 8-bit greyscale
       + chunk(b"IDAT", zlib.compress(raw, 9))
       + chunk(b"IEND", b""))
with open(f"{out}/image.png", "wb") as f:
    f.write(png)

bodies = {
    "text": {"input": review},
    "recsys": {"input": {"user": user}},
    "recsys-noexplain": {"input": {"user": user}, "explain": 0},
    "vision-pixels": {"input": {"pixels": list(pixels)}},
    "vision-png": {"input": {"image": base64.b64encode(png).decode("ascii")}},
}
for name, body in bodies.items():
    with open(f"{out}/body-{name}.json", "w") as f:
        f.write(json.dumps(body, separators=(",", ":")))
print(f"   text: review {text_row} of fine_foods_test.csv ({len(review)} chars): {review[:90]!r}...")
print(f"   recsys: user {user}, top 10 with 3 reasons each, and with \"explain\": 0")
names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
print(f"   vision: test image {image_index} (label {label}: {names[label] if label is not None else '?'}), "
      f"784 pixels, or a {len(png)}-byte PNG in base64")
EOF
log "request bodies"
mkdir -p "$TMP/bodies"
python3 "$TMP/make_bodies.py" "$DATA" "$TMP/bodies" "$TEXT_ROW" "$IMAGE_INDEX" "$RECSYS_USER" \
  || die "could not write the request bodies"

task_of() { # VARIANT -> task name
  case "$1" in text) echo text ;; recsys*) echo recsys ;; vision*) echo vision ;; esac
}

for v in $VARIANTS; do
  cat >"$TMP/post-$v.lua" <<EOF
local f = assert(io.open("$TMP/bodies/body-$v.json", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
EOF
done

# ---------------------------------------------------------------- tandem

cat >"$TMP/tandem.toml" <<EOF
[server]
host = "127.0.0.1"
port = 0
threads = $THREADS
task_workers = $WORKERS
log_level = "warn"

[tasks.text]
kind = "text"
model = "$TEXT_MODEL"

[tasks.recsys]
kind = "recsys"
model = "$RECSYS_MODEL"

[tasks.vision]
kind = "vision"
model = "$VISION_MODEL"
EOF

log "starting tandem (threads $THREADS, task_workers $WORKERS, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
"$TANDEM_BIN" serve -c "$TMP/tandem.toml" --port 0 --port-file "$TMP/tandem.port" \
  >"$TMP/tandem.log" 2>&1 &
TANDEM_PID=$!; PIDS+=("$TANDEM_PID")
TANDEM_PORT="$(wait_port_file "$TMP/tandem.port" "$TANDEM_PID" tandem)"
TANDEM_URL="http://127.0.0.1:$TANDEM_PORT"
echo "   listening on 127.0.0.1:$TANDEM_PORT, RSS $(($(status_kb "$TANDEM_PID" VmRSS) / 1024)) MB after loading the models"

log "checking each request answers 200 (one sample of the answer and its timing)"
mkdir -p "$TMP/nginx/www"
declare -A ONE_US SIZE
for v in $VARIANTS; do
  t="$(task_of "$v")"
  check_200 "tandem $v" "$TANDEM_URL/v1/tasks/$t" "$TMP/bodies/body-$v.json" "$TMP/answer-$v.json"
  SIZE[$v]="$(stat -c %s "$TMP/answer-$v.json")"
  ONE_US[$v]="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timing"]["inference_us"])' \
    "$TMP/answer-$v.json" 2>/dev/null || echo "?")"
  python3 - "$TMP/answer-$v.json" "$v" "${SIZE[$v]}" <<'EOF' || die "the answer of $v is not the JSON expected"
import json, sys
a = json.load(open(sys.argv[1]))
out = json.dumps(a["output"], separators=(",", ":"))
conf = f", confidence {a['confidence']:.3f}" if "confidence" in a else ""
print(f"   {sys.argv[2]:<16} 200, {sys.argv[3]} bytes{conf}, timing {a['timing']}: {out[:150]}{'...' if len(out) > 150 else ''}")
EOF
  # nginx's reference body: the same bytes (same size) as Tandem's answer
  cp "$TMP/answer-$v.json" "$TMP/nginx/www/$v.json"
  chmod 644 "$TMP/nginx/www/$v.json"
done

# ---------------------------------------------------------------- nginx (the static floor)

log "starting nginx (worker_processes $THREADS): each variant's answer as a static body"
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
  open_file_cache max=64;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $TMP/nginx/www;
    location / {
      default_type application/json;
      # the static module refuses POST (405); answer the same file with 200 instead
      error_page 405 =200 \$uri;
    }
  }
}
EOF
  "$NGINX_BIN" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" \
    >"$TMP/nginx/stdout.log" 2>&1 &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")
  if wait_listening "$NGINX_PORT" "$NGINX_PID"; then break; fi
  # lost a race for the port (or something else): stop it and try again
  kill -TERM "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true
  unset 'PIDS[${#PIDS[@]}-1]'; NGINX_PID=""
done
[[ -n "$NGINX_PID" ]] || die "nginx did not start listening on 127.0.0.1:$NGINX_PORT: $(cat "$TMP/nginx/error.log" "$TMP/nginx/stdout.log" 2>/dev/null)"
NGINX_URL="http://127.0.0.1:$NGINX_PORT"
for v in $VARIANTS; do
  check_200 "nginx $v" "$NGINX_URL/$v.json" "$TMP/bodies/body-$v.json" "$TMP/nginx-answer-$v.json"
  n="$(stat -c %s "$TMP/nginx-answer-$v.json")"
  [[ "$n" == "${SIZE[$v]}" ]] || die "nginx answered $n bytes for $v instead of ${SIZE[$v]}"
done
echo "   127.0.0.1:$NGINX_PORT answers every variant with 200 and the same number of bytes"

# ---------------------------------------------------------------- measure

echo
log "load: wrk -t$WRK_THREADS -c$CONNECTIONS, warm-up $WARMUP then $DURATION per target and variant; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A RPS P50 P99 REQS ERRS HWM LOAD MODEL_US QUEUE_US
for v in $VARIANTS; do
  t="$(task_of "$v")"
  for target in tandem nginx; do
    if [[ "$target" == tandem ]]; then url="$TANDEM_URL/v1/tasks/$t"; else url="$NGINX_URL/$v.json"; fi
    run_wrk "$target-$v-warmup" "$url" "$WARMUP" "$TMP/post-$v.lua" >/dev/null
    [[ "$target" == tandem ]] && scrape "$TMP/metrics-$v-before.txt"
    res="$(run_wrk "$target-$v" "$url" "$DURATION" "$TMP/post-$v.lua")"
    read -r r_rps r_p50 r_p99 r_reqs r_errs <<<"$res"
    RPS[$target-$v]="$r_rps"; P50[$target-$v]="$r_p50"; P99[$target-$v]="$r_p99"
    REQS[$target-$v]="$r_reqs"; ERRS[$target-$v]="$r_errs"
    LOAD[$target-$v]="$(load1)"
    if [[ "$target" == tandem ]]; then
      HWM[$v]="$(status_kb "$TANDEM_PID" VmHWM)"
      # the model's own time per call over the measured run: delta sum / delta count
      sleep 0.2  # the last answers' observations (wrk stops with requests in flight)
      scrape "$TMP/metrics-$v-after.txt"
      for m in inference queue_wait; do
        read -r s0 c0 <<<"$(hist_sum_count "$TMP/metrics-$v-before.txt" tandem_task_${m}_seconds "$t")"
        read -r s1 c1 <<<"$(hist_sum_count "$TMP/metrics-$v-after.txt" tandem_task_${m}_seconds "$t")"
        mean="$(awk -v s0="$s0" -v s1="$s1" -v c0="$c0" -v c1="$c1" \
          'BEGIN { if (c1 > c0) printf "%.1f", (s1 - s0) / (c1 - c0) * 1e6; else print "nan" }')"
        if [[ "$m" == inference ]]; then MODEL_US[$v]="$mean"; else QUEUE_US[$v]="$mean"; fi
      done
    fi
    printf '   %-16s %-6s %9.0f req/s  p50 %9.1f us  p99 %9.1f us  (%s requests, %s errors, load %s)\n' \
      "$v" "$target" "${RPS[$target-$v]}" "${P50[$target-$v]}" "${P99[$target-$v]}" \
      "${REQS[$target-$v]}" "${ERRS[$target-$v]}" "${LOAD[$target-$v]}"
  done
done
NGINX_HWM_KB="$(nginx_hwm_kb)"

# ---------------------------------------------------------------- report

echo
echo "HTTP through POST /v1/tasks/<name> (tandem) vs the same bytes as a static body (nginx):"
printf '%-16s %-6s %9s %9s %9s %7s %7s %9s %10s %8s %9s %6s\n' variant target "req/s" "p50 us" "p99 us" errors "x nginx" "model us" "1e6/rps us" "model %" "peak RSS" load1
printf '%-16s %-6s %9s %9s %9s %7s %7s %9s %10s %8s %9s %6s\n' ---------------- ------ --------- --------- --------- ------- ------- --------- ---------- -------- --------- ------
for v in $VARIANTS; do
  for target in tandem nginx; do
    k="$target-$v"
    if [[ "$target" == tandem ]]; then
      ratio="$(awk -v a="${RPS[$k]}" -v b="${RPS[nginx-$v]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
      model="${MODEL_US[$v]}"
      per="$(awk -v r="${RPS[$k]}" 'BEGIN { printf "%.1f", (r > 0) ? 1e6 / r : 0 }')"
      # the share of each request's serving time (one worker) spent in the model
      share="$(awk -v m="$model" -v r="${RPS[$k]}" -v w="$WORKERS" \
        'BEGIN { if (m == "nan") print "-"; else printf "%.0f%%", 100 * m * r / 1e6 / w }')"
      rss="$(awk -v k="${HWM[$v]}" 'BEGIN { printf "%.1f MB", k / 1024 }')"
    else
      ratio="-"; model="-"; share="-"
      per="$(awk -v r="${RPS[$k]}" 'BEGIN { printf "%.1f", (r > 0) ? 1e6 / r : 0 }')"
      rss="-"
    fi
    printf '%-16s %-6s %9.0f %9.1f %9.1f %7s %7s %9s %10s %8s %9s %6s\n' "$v" "$target" "${RPS[$k]}" \
      "${P50[$k]}" "${P99[$k]}" "${ERRS[$k]}" "$ratio" "$model" "$per" "$share" "$rss" "${LOAD[$k]}"
  done
done
echo
echo "model us: Tandem's mean tandem_task_inference_seconds over the measured run (/metrics, delta sum / delta count)."
echo "  One sample from the checking request (timing.inference_us):$(for v in $VARIANTS; do printf ' %s %s us;' "$v" "${ONE_US[$v]}"; done)"
echo "  Mean wait in the task queue over the measured run:$(for v in $VARIANTS; do printf ' %s %s us;' "$v" "${QUEUE_US[$v]}"; done)"
echo "1e6/rps us: wall time per answer at this throughput. model %: model us x req/s / WORKERS, how busy"
echo "  the workers were with the model; well under 100% means the network thread (HTTP, JSON in and out,"
echo "  the hand-off to the worker) or a core taken by other work limits throughput, not the model."
echo "peak RSS: tandem VmHWM after each variant's run (it only grows); nginx master + workers VmHWM: $(awk -v k="$NGINX_HWM_KB" 'BEGIN { printf "%.1f MB", k / 1024 }') (an upper bound)."
echo "load1: the 1-minute load average just after each run (the machine is shared; 2 cores here)."
if [[ " $VARIANTS " == *" vision"* && -z "${OPENBLAS_CORETYPE:-}" ]]; then
  echo "vision: OPENBLAS_CORETYPE is unset, so OpenBLAS chose its kernels itself (on a CPU it does not know,"
  echo "  its slowest ones); OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2) passes a choice to tandem serve."
fi
[[ -n "$VISION_NOTE" ]] && echo "vision: $VISION_NOTE."
echo "uptime: $(uptime)"
for v in $VARIANTS; do
  for target in tandem nginx; do
    if [[ "${ERRS[$target-$v]}" != 0 ]]; then
      echo "WARNING: $target $v had ${ERRS[$target-$v]} non-2xx responses or socket errors; see $TMP/wrk-$target-$v-$DURATION.txt"
      KEEP_TMP=1
    fi
  done
done
