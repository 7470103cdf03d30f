#!/usr/bin/env bash
# Local inference benchmark: Tandem's in-process llama.cpp engine against llama.cpp's own
# llama-bench, llama-batched-bench and llama-server, built from the same source, on random-weight models with
# Qwen2-0.5B's shape (Q4_K and Q8_0). Per model it prints prompt-processing and generation
# tokens/s for one stream and for 4 and 8 concurrent streams, time to first token, peak RSS,
# the Tandem/llama.cpp ratios and the issue's targets (one stream >= 0.95x llama.cpp; 8 streams
# >= 2.5x the aggregate generation throughput of one). See bench/local/README.md.
#
# Both servers are started, but the load driver alternates between them and llama.cpp's tools
# (the engine alone) sample by sample, so only one is ever under load; every process started is
# killed on exit by a trap.
# Exit status: 0 whether the targets are met or not (it is a benchmark); non-zero only when
# something fails to build, start or answer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/local"

LLAMA_PREFIX="${TANDEM_LLAMA_PREFIX:-${TANDEM_CACHE:-$HOME/.cache/tandem}/llama.cpp-v0.4.0}"
MODEL_DIR="${MODEL_DIR:-$HOME/.cache/tandem/bench-models}"
QUICK="${QUICK:-}"

if [[ -n "$QUICK" ]]; then # smoke test: the tiny model, short runs (under a minute)
  MODELS="${MODELS:-tiny}"
  STREAMS="${STREAMS:-1,4,8}"
  GEN_TOKENS="${GEN_TOKENS:-16}"
  PROMPT_TOKENS="${PROMPT_TOKENS:-128}"
  REPEATS="${REPEATS:-1}"
  PP_REPEATS="${PP_REPEATS:-1}"
else
  MODELS="${MODELS:-q4_k q8_0}"     # any of q4_k q8_0 f16 tiny
  STREAMS="${STREAMS:-1,4,8}"       # concurrent streams per generation wave
  GEN_TOKENS="${GEN_TOKENS:-128}"   # max_tokens per generation request (llama-bench -n)
  PROMPT_TOKENS="${PROMPT_TOKENS:-512}" # prompt length for prompt processing (llama-bench -p)
  REPEATS="${REPEATS:-5}"           # rounds: requests (pp) or waves (gen) per measurement, and
                                    # llama-bench / llama-batched-bench runs (-r 1 each)
  PP_REPEATS="${PP_REPEATS:-9}"     # prompt-processing rounds: a sample is one 512-token prompt
                                    # (~5 s), and this VM's speed flips within seconds
fi
THREADS="${THREADS:-2}"             # compute threads, the same for all three
CONTEXT="${CONTEXT:-1024}"          # tokens per sequence
BATCH="${BATCH:-512}"               # n_batch (and n_ubatch) for both servers
PARALLEL="${PARALLEL:-$(tr ',' '\n' <<<"$STREAMS" | sort -n | tail -1)}" # slots: the largest wave
WAIT_IDLE_CPU="${WAIT_IDLE_CPU:-}"  # set (e.g. 20): before each phase wait until the machine's CPU
                                    # use (% of one core, over 2 s) is below it
WAIT_IDLE_MAX="${WAIT_IDLE_MAX:-300}" # ... for at most this many seconds (also the load driver's
                                    # budget for waiting out other work between samples)
MAX_OTHER="${MAX_OTHER:-50}"        # a sample during which other processes used more than this
                                    # (% of one core) is retried (load.mjs)
KEEP_TMP="${KEEP_TMP:-}"            # set: keep the temp dir (configs, logs, raw JSON)
NICE="${NICE:-}"                    # set (e.g. -10, needs root for < 0): run the servers, llama-bench
                                    # and the driver at this niceness, ahead of other work
TARGET_SINGLE="${TARGET_SINGLE:-0.95}"
TARGET_SCALING="${TARGET_SCALING:-2.5}"

die() { echo "run.sh: error: $*" >&2; exit 1; }
log() { echo "== $*"; }

for v in GEN_TOKENS PROMPT_TOKENS REPEATS PP_REPEATS THREADS CONTEXT BATCH PARALLEL MAX_OTHER; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ -z "$WAIT_IDLE_CPU" || "$WAIT_IDLE_CPU" =~ ^[1-9][0-9]*$ ]] || die "WAIT_IDLE_CPU must be a positive integer"
[[ "$WAIT_IDLE_MAX" =~ ^[0-9]+$ ]] || die "WAIT_IDLE_MAX must be a non-negative integer"
[[ -z "$NICE" || "$NICE" =~ ^-?[0-9]+$ ]] || die "NICE must be an integer"
RUN=()
if [[ -n "$NICE" ]]; then RUN=(nice -n "$NICE"); fi
[[ "$STREAMS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "STREAMS must be like 1,4,8"
((PROMPT_TOKENS + 8 < CONTEXT)) || die "PROMPT_TOKENS must be below CONTEXT"
((GEN_TOKENS + 64 < CONTEXT)) || die "GEN_TOKENS must be below CONTEXT"
command -v node >/dev/null || die "node not found (Node 18+ is needed for the load driver)"
command -v curl >/dev/null || die "curl not found"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/tandem-bench-local.XXXXXX")"
PIDS=() # servers this script started

stop_pid() { # PID: TERM, bounded wait, then KILL
  local p="$1" n=0
  kill -TERM "$p" 2>/dev/null || return 0
  while kill -0 "$p" 2>/dev/null && ((n < 100)); do sleep 0.1; n=$((n + 1)); done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
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

forget_pid() { # PID: drop from PIDS once stopped
  local keep=() p
  for p in "${PIDS[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

# ---------------------------------------------------------------- tools, build, models

log "llama.cpp tools (scripts/setup_llama.sh --tools; returns at once when built)"
"$ROOT/scripts/setup_llama.sh" --tools
LLAMA_BENCH="$LLAMA_PREFIX/bin/llama-bench"
LLAMA_BATCHED="$LLAMA_PREFIX/bin/llama-batched-bench"
LLAMA_SERVER="$LLAMA_PREFIX/bin/llama-server"
VOCAB="$LLAMA_PREFIX/share/vocab/ggml-vocab-qwen2.gguf"
[[ -x "$LLAMA_BENCH" && -x "$LLAMA_BATCHED" && -x "$LLAMA_SERVER" ]] ||
  die "llama-bench/llama-batched-bench/llama-server missing in $LLAMA_PREFIX/bin"
[[ -f "$VOCAB" ]] || die "$VOCAB missing"

if [[ -z "${TANDEM_BIN:-}" ]]; then
  log "tandem (cmake --build --preset release --target tandem)"
  (cd "$ROOT" && { [[ -f build/release/build.ninja ]] || cmake --preset release >/dev/null; } \
    && cmake --build --preset release --target tandem) || die "building tandem failed"
  TANDEM_BIN="$ROOT/build/release/src/tandem/tandem"
fi
[[ -x "$TANDEM_BIN" ]] || die "$TANDEM_BIN not found or not executable"
# A private copy: a rebuild in the tree during the run does not change what is measured.
cp "$TANDEM_BIN" "$TMP/tandem"
TANDEM="$TMP/tandem"

mkdir -p "$MODEL_DIR"
model_path() { # NAME -> path
  case "$1" in
    tiny) echo "$MODEL_DIR/tandem-test-tiny-q8_0.gguf" ;;
    q4_k | q8_0 | f16) echo "$MODEL_DIR/tandem-test-0.5b-$1.gguf" ;;
    *) die "unknown model '$1' in MODELS (q4_k, q8_0, f16, tiny)" ;;
  esac
}
for m in $MODELS; do
  path="$(model_path "$m")"
  if [[ -s "$path" ]]; then continue; fi
  if [[ "$m" == tiny ]]; then size=tiny; type=q8_0; else size=0.5b; type="$m"; fi
  log "writing the $size $type random-weight model to $path (once; 0.5b takes a minute or two)"
  rm -f "$path.partial.gguf"
  "$TANDEM" make-test-model --vocab "$VOCAB" -o "$path.partial.gguf" --size "$size" --type "$type" \
    >"$TMP/make-$m.log" 2>&1 || die "make-test-model failed: $(tail -5 "$TMP/make-$m.log")"
  mv "$path.partial.gguf" "$path"
done

# ---------------------------------------------------------------- helpers

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

status_kb() { # PID FIELD -> kB (0 if gone)
  awk -v f="$2:" '$1 == f { v = $2 } END { print v + 0 }' "/proc/$1/status" 2>/dev/null || echo 0
}

cpu_busy_ticks() { # all CPUs: user nice system irq softirq steal
  awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

children_ticks() { # this shell's reaped children: cutime + cstime (fields 16, 17)
  sed 's/^.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }'
}

proc_ticks() { # PID: utime + stime (fields 14, 15; the name in field 2 may hold spaces)
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0
}

cpu_busy_pct() { # % of one core busy, machine-wide, over the next 2 s
  local b0 b1
  b0="$(cpu_busy_ticks)"; sleep 2; b1="$(cpu_busy_ticks)"
  echo $(((b1 - b0) * 100 / $(getconf CLK_TCK) / 2))
}

wait_idle() { # with WAIT_IDLE_CPU set: until the machine is (nearly) idle, bounded
  [[ -n "$WAIT_IDLE_CPU" ]] || return 0
  local t=0 busy
  while busy="$(cpu_busy_pct)"; ((busy >= WAIT_IDLE_CPU)); do
    if ((t >= WAIT_IDLE_MAX)); then
      echo "   the machine is still ${busy}% busy after ${WAIT_IDLE_MAX}s; measuring anyway"
      return 0
    fi
    ((t == 0)) && echo "   waiting for other work to finish (${busy}% of a core busy; want < ${WAIT_IDLE_CPU}%)"
    sleep 3; t=$((t + 5))
  done
}

# Runs the load driver against both servers and llama.cpp's tools (alternating sample by sample;
# only one is under load at any moment) while counting the CPU everything else used. Sets
# LOAD_OTHER_CPU (% of one core used by all but the two servers, the driver and the tools it ran:
# this shell's reaped children).
drive() { # TANDEM_PORT TANDEM_PID SERVER_PORT SERVER_PID
  local tport="$1" tpid="$2" sport="$3" spid="$4"
  wait_idle
  local b0 p0 t0 b1 p1 t1
  b0="$(cpu_busy_ticks)"; p0=$(($(proc_ticks "$tpid") + $(proc_ticks "$spid") + $(children_ticks))); t0="$(date +%s.%N)"
  # in the background and waited for, so that a TERM to this script stops it at once
  "${RUN[@]}" node "$HERE/load.mjs" \
    --target "label=tandem,url=http://127.0.0.1:$tport/v1/chat/completions,pid=$tpid,out=$W/tandem.json,ignore-eos" \
    --target "label=llama-server,url=http://127.0.0.1:$sport/v1/chat/completions,pid=$spid,out=$W/llama-server.json,ignore-eos,valid-text" \
    --engine "label=llama.cpp,bench=$LLAMA_BENCH,batched=$LLAMA_BATCHED,model=$MODEL,threads=$THREADS,batch=$BATCH,ubatch=$UBATCH,ctx=$((PARALLEL * CONTEXT)),out=$W/llama-cpp.json" \
    --model m --prompt-tokens "$PROMPT_TOKENS" --gen-tokens "$GEN_TOKENS" --streams "$STREAMS" \
    --repeats "$REPEATS" --pp-repeats "$PP_REPEATS" --hz "$(getconf CLK_TCK)" --max-other "$MAX_OTHER" \
    --wait-budget-s "$WAIT_IDLE_MAX" &
  local npid=$!
  PIDS+=("$npid")
  wait "$npid" || die "the load driver failed (logs: $TMP)"
  forget_pid "$npid"
  b1="$(cpu_busy_ticks)"; p1=$(($(proc_ticks "$tpid") + $(proc_ticks "$spid") + $(children_ticks))); t1="$(date +%s.%N)"
  LOAD_OTHER_CPU="$(awk -v b="$((b1 - b0))" -v p="$((p1 - p0))" -v dt="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { o = (b - p) / hz / dt * 100; if (o < 0) o = 0; printf "%.0f", o }')"
}

# ---------------------------------------------------------------- measure

echo
log "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
log "knobs: NICE='$NICE' MODELS='$MODELS' STREAMS=$STREAMS PROMPT_TOKENS=$PROMPT_TOKENS GEN_TOKENS=$GEN_TOKENS REPEATS=$REPEATS PP_REPEATS=$PP_REPEATS THREADS=$THREADS CONTEXT=$CONTEXT PARALLEL=$PARALLEL BATCH=$BATCH"

UBATCH=$((BATCH < 512 ? BATCH : 512)) # what Tandem's engine uses for generation models
SUMMARY="$TMP/summary.jsonl"
: >"$SUMMARY"
REPORTS=()

for m in $MODELS; do
  MODEL="$(model_path "$m")"
  W="$TMP/$m"
  mkdir -p "$W"
  echo
  log "model $m: $MODEL ($(du -m "$MODEL" | cut -f1) MB)"

  # Tandem.
  cat >"$W/tandem.toml" <<EOF
[server]
host = "127.0.0.1"
port = 0
threads = 1
log_level = "warn"

[providers.gguf]
kind = "local"
request_timeout_ms = 600000

[providers.gguf.models.m]
path = "$MODEL"
context = $CONTEXT
parallel = $PARALLEL
threads = $THREADS
batch = $BATCH

[models.m]
routes = [{ provider = "gguf", model = "m" }]
EOF
  log "tandem serve (parallel $PARALLEL, context $CONTEXT, threads $THREADS, batch $BATCH)"
  "${RUN[@]}" "$TANDEM" serve -c "$W/tandem.toml" --port-file "$W/tandem.port" >"$W/tandem.log" 2>&1 &
  TPID=$!; PIDS+=("$TPID")
  n=0
  while [[ ! -s "$W/tandem.port" ]]; do
    kill -0 "$TPID" 2>/dev/null || die "tandem exited during start-up: $(tail -5 "$W/tandem.log")"
    ((n++ < 1200)) || die "tandem did not write its port within 120 s"
    sleep 0.1
  done
  TPORT="$(cat "$W/tandem.port")"

  # llama-server: the same slots, context, threads and batch; no host-RAM prompt cache
  # (-cram 0; Tandem has none); its KV prefix reuse stays on, as Tandem's does, and every
  # prompt is unique from its first word. It gets logit_bias +100 on " the" (load.mjs
  # valid-text): it fails any answer that is not well-formed UTF-8 with a 500, which a random
  # model's tokens often are not; the forward pass and sampler cost the same.
  SPORT="$(free_port)"
  SERVER_ARGS=(-m "$MODEL" -np "$PARALLEL" -c "$((PARALLEL * CONTEXT))" -t "$THREADS"
    -b "$BATCH" -ub "$UBATCH" --no-kv-unified -cram 0 --no-webui --host 127.0.0.1 --port "$SPORT")
  log "llama-server ${SERVER_ARGS[*]}"
  "${RUN[@]}" "$LLAMA_SERVER" "${SERVER_ARGS[@]}" >"$W/llama-server.log" 2>&1 &
  SPID=$!; PIDS+=("$SPID")
  n=0
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$SPORT/health" || true)" == 200 ]]; do
    kill -0 "$SPID" 2>/dev/null || die "llama-server exited during start-up: $(tail -5 "$W/llama-server.log")"
    ((n++ < 600)) || die "llama-server was not healthy within 120 s"
    sleep 0.2
  done

  log "load: alternating between tandem, llama-server and llama.cpp's tools, sample by sample (one under load at a time)"
  drive "$TPORT" "$TPID" "$SPORT" "$SPID"
  TANDEM_RSS_KB="$(status_kb "$TPID" VmHWM)"
  SERVER_RSS_KB="$(status_kb "$SPID" VmHWM)"
  SERVERS_OTHER="$LOAD_OTHER_CPU"
  stop_pid "$TPID"; forget_pid "$TPID"
  stop_pid "$SPID"; forget_pid "$SPID"

  node "$HERE/report.mjs" --name "model $m ($(basename "$MODEL")), load average now $(cut -d' ' -f1-3 /proc/loadavg)" \
    --engine "$W/llama-cpp.json" --tandem "$W/tandem.json" --server "$W/llama-server.json" \
    --tandem-rss-kb "$TANDEM_RSS_KB" --server-rss-kb "$SERVER_RSS_KB" --servers-other-cpu "$SERVERS_OTHER" \
    --target-single "$TARGET_SINGLE" --target-scaling "$TARGET_SCALING" --summary "$SUMMARY" \
    | tee "$W/report.txt"
  REPORTS+=("$W/report.txt")
done

# ---------------------------------------------------------------- verdict

echo
log "targets (one stream >= ${TARGET_SINGLE}x llama.cpp; ${PARALLEL}-stream aggregate >= ${TARGET_SCALING}x one stream)"
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean);
  for (const l of lines) {
    const s = JSON.parse(l);
    for (const v of s.verdicts) {
      console.log(`   ${s.name.split(" (")[0].padEnd(14)} ${v.name.padEnd(40)} ${(v.ratio.toFixed(2) + v.interval).padStart(20)}  (>= ${v.target})  ${v.mark}`);
    }
  }
' "$SUMMARY"
log "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
