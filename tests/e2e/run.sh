#!/usr/bin/env bash
# End-to-end tests: the real gateway binary in front of the scriptable mock upstream, driven by
# the official openai npm client (tests/e2e/*.test.mjs, run by node's built-in test runner).
#
#   tests/e2e/run.sh                 # from anywhere; binaries from build/release
#   TANDEM_BIN=... MOCK_BIN=... tests/e2e/run.sh
#
# Starts the mock, then the gateway, both on 127.0.0.1 with port 0 (the kernel picks; each writes
# its port to a file), exports TANDEM_URL and TANDEM_KEY, runs the tests and always stops both
# processes. Exits with node's exit status.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

TANDEM_BIN="${TANDEM_BIN:-$ROOT/build/release/src/tandem/tandem}"
MOCK_BIN="${MOCK_BIN:-$ROOT/build/release/tests/tandem-mock-upstream}"
STARTUP_TIMEOUT_S="${E2E_STARTUP_TIMEOUT_S:-15}"

die() {
  echo "e2e: $*" >&2
  exit 1
}

for bin in "$TANDEM_BIN" "$MOCK_BIN"; do
  [[ -x "$bin" ]] || die "$bin is missing or not executable (build first: make build)"
done
command -v node >/dev/null 2>&1 || die "node is not installed (scripts/setup.sh installs it)"
[[ -d "$HERE/node_modules/openai" ]] ||
  die "the openai client is not installed: (cd tests/e2e && npm ci)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tandem-e2e.XXXXXX")"
MOCK_PID=""
GATEWAY_PID=""
NODE_PID=""
LOGS_SHOWN=""

stop() {
  local pid=$1
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do  # up to 5 s for a graceful stop, then SIGKILL
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop "$NODE_PID"
  stop "$GATEWAY_PID"
  stop "$MOCK_PID"
  if [[ $status -ne 0 && -z "$LOGS_SHOWN" ]]; then
    for log in "$WORK/gateway.log" "$WORK/mock.log"; do
      [[ -s "$log" ]] || continue
      echo "---- last lines of $(basename "$log") ----" >&2
      tail -n 40 "$log" >&2
    done
  fi
  if [[ -n "${E2E_KEEP_WORKDIR:-}" ]]; then
    echo "e2e: kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for_port FILE PID NAME LOG: sets PORT once FILE holds one; fails, printing the log, if PID
# exits first or the wait runs out.
wait_for_port() {
  local file=$1 pid=$2 name=$3 log=$4
  local deadline=$((SECONDS + STARTUP_TIMEOUT_S))
  PORT=""
  while ((SECONDS < deadline)); do
    if [[ -s "$file" ]]; then
      PORT="$(tr -d '[:space:]' <"$file")"
      if [[ "$PORT" =~ ^[0-9]+$ && "$PORT" -gt 0 ]]; then
        return 0
      fi
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      local rc=0
      wait "$pid" 2>/dev/null || rc=$?
      echo "e2e: $name exited (status $rc) before writing its port; its log ($log):" >&2
      cat "$log" >&2 || true
      LOGS_SHOWN=1
      return 1
    fi
    sleep 0.05
  done
  echo "e2e: $name wrote no port within ${STARTUP_TIMEOUT_S}s; its log ($log):" >&2
  cat "$log" >&2 || true
  LOGS_SHOWN=1
  return 1
}

# ---- the mock upstream -------------------------------------------------------------------------
"$MOCK_BIN" --port 0 --port-file "$WORK/mock.port" --threads 2 >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
wait_for_port "$WORK/mock.port" "$MOCK_PID" "the mock upstream" "$WORK/mock.log"
MOCK_PORT=$PORT

# ---- local models ------------------------------------------------------------------------------
# Random-weight GGUF models with the real Qwen2 vocabulary, written by the gateway binary itself.
VOCAB="${TANDEM_LLAMA_VOCAB:-${TANDEM_LLAMA_PREFIX:-$HOME/.cache/tandem/llama.cpp-v0.4.0}/share/vocab/ggml-vocab-qwen2.gguf}"
[[ -f "$VOCAB" ]] || die "$VOCAB is missing (scripts/setup_llama.sh installs it)"
"$TANDEM_BIN" make-test-model --vocab "$VOCAB" -o "$WORK/tiny.gguf" >/dev/null 2>"$WORK/models.log"
"$TANDEM_BIN" make-test-model --vocab "$VOCAB" -o "$WORK/tiny-embed.gguf" --embedding \
  >/dev/null 2>>"$WORK/models.log"
# A reasoning model's template (Qwen3.5's opens <think> in the prompt): the random model's whole
# reply is its thought.
"$TANDEM_BIN" make-test-model --vocab "$VOCAB" -o "$WORK/tiny-thinker.gguf" \
  --chat-template "$(dirname "$(dirname "$VOCAB")")/templates/Qwen3.5-4B.jinja" \
  --add-token '<think>' --add-token '</think>' \
  >/dev/null 2>>"$WORK/models.log"

# ---- tailored models ---------------------------------------------------------------------------
# Small synthetic training sets, trained with the real CLI; `tandem eval` and `tandem models
# list` must read what `tandem train` wrote. The vision model learns three bar shapes.
node "$HERE/task_data.mjs" "$WORK"
train() { # NAME ARGS...: a failure shows the command's output
  local name=$1
  shift
  if ! "$TANDEM_BIN" train "$@" >"$WORK/train-$name.log" 2>&1; then
    cat "$WORK/train-$name.log" >&2
    die "tandem train $name failed"
  fi
}
train recsys recsys --data "$WORK/ratings.csv" --out "$WORK/movies.tmd" --solver sgd \
  --factors 4 --iterations 30 --holdout 0.2
train text text --data "$WORK/reviews.csv" --out "$WORK/reviews.tmd" --validation 0.25
train vision vision --data "$WORK/images.idx" --labels "$WORK/labels.idx" \
  --out "$WORK/shapes.tmd" --epochs 2 --validation 0.2 --label-names horizontal,vertical,bars
"$TANDEM_BIN" eval --model "$WORK/reviews.tmd" --data "$WORK/reviews.csv" >"$WORK/eval-text.log" ||
  die "tandem eval text failed: $(cat "$WORK/eval-text.log")"
grep -q "^accuracy" "$WORK/eval-text.log" || die "tandem eval text printed no accuracy"
"$TANDEM_BIN" models list "$WORK" >"$WORK/models.log" || die "tandem models list failed"
for m in movies reviews shapes; do
  grep -q "$m.tmd" "$WORK/models.log" || die "tandem models list does not show $m.tmd"
done

# ---- offline routing: a router trained and a policy evaluated on recorded answers ---------------
# 120 recorded questions for three models: "cheap" is right unless the question says "hard";
# "dear" is always right and costs 100 times more; "mid" (10 times cheap's price) is right on
# some hard questions, by a pattern the text does not show, and otherwise repeats cheap's wrong
# answer (so only agreement with cheap tells when to trust it).
{
  echo ",sample_id,prompt,eval_name,cheap,mid,dear,cheap|model_response,mid|model_response,dear|model_response,cheap|total_cost,mid|total_cost,dear|total_cost,oracle_model_to_route_to"
  for i in $(seq 1 120); do
    words="question $i about topic$((i % 4)) and more words"
    if ((i % 3 == 0)); then
      if (((i * 7) % 5 < 3)); then mid="1,B"; else mid="0,A"; fi
      echo "$i,q.$i,\"['$words hard']\",e2e,0,${mid%,*},1,A,${mid#*,},B,0.00001,0.0001,0.001,dear"
    else
      echo "$i,q.$i,\"['$words easy']\",e2e,1,1,1,B,B,B,0.00001,0.0001,0.001,cheap"
    fi
  done
} >"$WORK/recorded.csv"
cat >"$WORK/routing.toml" <<EOF
[providers.recorded]
kind = "replay"
data = "$WORK/recorded.csv"
[models.cheap]
routes = [{ provider = "recorded", model = "cheap" }]
[models.mid]
routes = [{ provider = "recorded", model = "mid" }]
[models.dear]
routes = [{ provider = "recorded", model = "dear" }]
[tasks.quiz]
labels = ["A", "B"]
[tasks.quiz.variants.cheap]
kind = "llm"
model = "cheap"
template = "{{ text }}"
confidence = "router"
[tasks.quiz.variants.dear]
kind = "llm"
model = "dear"
template = "{{ text }}"
[tasks.quiz.policy]
kind = "cascade"
variants = ["cheap", "dear"]
thresholds_file = "$WORK/quiz.thresholds.json"
router = "$WORK/quiz-router.tmd"
[tasks.trio]
labels = ["A", "B"]
[tasks.trio.variants.cheap]
kind = "llm"
model = "cheap"
template = "{{ text }}"
confidence = "router_agreement"
[tasks.trio.variants.mid]
kind = "llm"
model = "mid"
template = "{{ text }}"
confidence = "router_agreement"
[tasks.trio.variants.dear]
kind = "llm"
model = "dear"
template = "{{ text }}"
[tasks.trio.policy]
kind = "cascade"
variants = ["cheap", "mid", "dear"]
thresholds_file = "$WORK/trio.thresholds.json"
router = "$WORK/quiz-router.tmd"
EOF
run_cli() { # LOG ARGS...: a failure shows the command's output
  local log=$1
  shift
  "$TANDEM_BIN" "$@" >"$log" 2>&1 || die "tandem $* failed: $(cat "$log")"
}
run_cli "$WORK/train-router.log" train router --data "$WORK/recorded.csv" --out "$WORK/quiz-router.tmd"
run_cli "$WORK/eval-task.log" eval --task quiz -c "$WORK/routing.toml" --cascade-confidence router \
  --csv "$WORK/quiz.csv" --plot "$WORK/quiz.svg" --write-thresholds "$WORK/quiz.thresholds.json"
for want in "oracle" "random router at equal cost" "CPT(50%)" "wrote $WORK/quiz.thresholds.json"; do
  grep -qF "$want" "$WORK/eval-task.log" ||
    die "tandem eval --task printed no '$want': $(cat "$WORK/eval-task.log")"
done
grep -q "<svg" "$WORK/quiz.svg" || die "tandem eval --task wrote no SVG plot"
[[ $(wc -l <"$WORK/quiz.csv") -gt 2 ]] || die "tandem eval --task wrote no curve CSV"
grep -q '"thresholds"' "$WORK/quiz.thresholds.json" || die "tandem eval --task wrote no thresholds"
# Three stages whose confidence is the router's prior combined with agreement with the earlier
# answers: the default confidence of a cascade evaluated on recorded answers.
run_cli "$WORK/eval-trio.log" eval --task trio -c "$WORK/routing.toml" \
  --write-thresholds "$WORK/trio.thresholds.json"
for want in "combined with agreement with earlier stages' answers" "wrote $WORK/trio.thresholds.json"; do
  grep -qF "$want" "$WORK/eval-trio.log" ||
    die "tandem eval --task trio printed no '$want': $(cat "$WORK/eval-trio.log")"
done
# The task's rules come first in evaluation as in serving: the longest questions (21 of 120 are
# over 44 characters) go to mid; with the context of a high-stakes caller, all go to dear.
{
  cat "$WORK/routing.toml"
  printf '[[tasks.trio.rules]]\nwhen = { stakes = ["high"] }\nuse = ["dear"]\n'
  printf '[[tasks.trio.rules]]\nwhen = { input_chars_above = 44 }\nuse = ["mid", "dear"]\n'
} >"$WORK/routing-rules.toml"
run_cli "$WORK/eval-rules.log" eval --task trio -c "$WORK/routing-rules.toml"
grep -qE "rule 2 \(input_chars>44\) +21 queries, accuracy 0.8571" "$WORK/eval-rules.log" &&
  grep -qF "the task as configured (rules, then the policy on the other 99 queries)" \
    "$WORK/eval-rules.log" || die "tandem eval --task with rules: $(cat "$WORK/eval-rules.log")"
run_cli "$WORK/eval-rules-high.log" eval --task trio -c "$WORK/routing-rules.toml" \
  --context '{"stakes": "high"}'
grep -qE "rule 1 \(stakes=high\) +120 queries, accuracy 1.0000" "$WORK/eval-rules-high.log" ||
  die "tandem eval --task --context: $(cat "$WORK/eval-rules-high.log")"
run_cli "$WORK/check-routing.log" check-config -c "$WORK/routing.toml"
# The prompt an LLM variant sends, as `tandem prompt render` shows it (estimated tokens: remote).
run_cli "$WORK/prompt.log" prompt render -c "$WORK/routing.toml" --task quiz --variant dear \
  --input '{"text": "question 3 about topic3 and more words hard"}'
grep -qF "question 3 about topic3" "$WORK/prompt.log" || die "tandem prompt render: $(cat "$WORK/prompt.log")"
# Examples retrieved by a remote embeddings API (the mock's bag-of-words vectors): render calls it
# as the server would, picks the nearest example and prints what the embedding cost.
cat >"$WORK/embedder.toml" <<EOF
[providers.up]
kind = "openai"
base_url = "http://127.0.0.1:$MOCK_PORT/v1"
input_price_per_mtok = 3
[models.m]
routes = [{ provider = "up", model = "chat" }]
[models.vectors]
type = "embeddings"
routes = [{ provider = "up", model = "mock:words" }]
[tasks.topic]
labels = ["pets", "money"]
[tasks.topic.variants.llm]
kind = "llm"
model = "m"
template = "Text: {{ text }}"
examples = [{ input = "my cat sleeps on the sofa", output = "pets" },
            { input = "the bank charged a fee", output = "money" }]
retrieve_examples = 1
embedder = "vectors"
EOF
run_cli "$WORK/prompt-embedder.log" prompt render -c "$WORK/embedder.toml" --task topic \
  --variant llm --input '{"text": "why does the bank want a fee"}'
for want in "Text: the bank charged a fee" "embedded the input by up:mock:words: 1 request(s), 7 tokens"; do
  grep -qF "$want" "$WORK/prompt-embedder.log" ||
    die "tandem prompt render with a remote embedder printed no '$want': $(cat "$WORK/prompt-embedder.log")"
done

# ---- the gateway -------------------------------------------------------------------------------
# Prices are exported so that the tests compute the expected cost from the same numbers.
export TANDEM_E2E_PRICE_IN="${TANDEM_E2E_PRICE_IN:-0.15}"
export TANDEM_E2E_PRICE_OUT="${TANDEM_E2E_PRICE_OUT:-0.6}"
export TANDEM_E2E_EMBED_PRICE_IN="${TANDEM_E2E_EMBED_PRICE_IN:-0.02}"
if [[ -z "${TANDEM_E2E_KEY:-}" ]]; then
  TANDEM_E2E_KEY="e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
fi
export TANDEM_E2E_KEY

cat >"$WORK/tandem.toml" <<EOF
# Generated by tests/e2e/run.sh
[server]
host = "127.0.0.1"
port = 0
threads = 2
drain_timeout_ms = 1000
log_level = "info"

[[client_keys]]
name = "e2e"
key_env = "TANDEM_E2E_KEY"

# The mock upstream: answers everything, scripted per request.
[providers.good]
kind = "openai"
base_url = "http://127.0.0.1:$MOCK_PORT/v1"
input_price_per_mtok = "$TANDEM_E2E_PRICE_IN"
output_price_per_mtok = "$TANDEM_E2E_PRICE_OUT"
max_retries = 0
request_timeout_ms = 10000
stream_idle_timeout_ms = 5000
breaker_failure_threshold = 1000

# Nothing listens on port 1: every connection is refused, so its routes always fall back.
[providers.bad]
kind = "openai"
base_url = "http://127.0.0.1:1/v1"
connect_timeout_ms = 1000
max_retries = 0

[models.e2e-fallback]
routes = [
  { provider = "bad", model = "gpt-4o-mini" },
  { provider = "good", model = "mock-chat" },
]

[models.e2e-direct]
routes = [{ provider = "good", model = "mock-chat" }]

[models.e2e-ratelimited]
routes = [{ provider = "good", model = "mock:status=429" }]

# Local models in process (llama.cpp), with a price per token and per hour of compute.
[providers.local]
kind = "local"
input_price_per_mtok = 1
output_price_per_mtok = 2
compute_price_per_hour = 3.6

[providers.local.models.tiny]
path = "$WORK/tiny.gguf"
context = 256
parallel = 2
threads = 2

[providers.local.models.tiny-thinker]
path = "$WORK/tiny-thinker.gguf"
context = 256
parallel = 1
threads = 2

[providers.local.models.tiny-embed]
path = "$WORK/tiny-embed.gguf"
context = 128
embeddings = true
threads = 2

[models.e2e-local]
routes = [{ provider = "local", model = "tiny" }]

[models.e2e-local-thinker]
routes = [{ provider = "local", model = "tiny-thinker" }]

[models.e2e-local-embed]
type = "embeddings"
routes = [{ provider = "local", model = "tiny-embed" }]

# Tailored models, served on /v1/tasks/<name> (tests/e2e/tasks.test.mjs).
[tasks.e2e-movies]
kind = "recsys"
model = "$WORK/movies.tmd"

[tasks.e2e-reviews]
kind = "text"
model = "$WORK/reviews.tmd"

[tasks.e2e-shapes]
kind = "vision"
model = "$WORK/shapes.tmd"

# A hybrid task: the tailored text model first, the mock LLM when it is unsure (tasks.test.mjs).
[models.e2e-hybrid-llm]
routes = [{ provider = "good", model = "mock-chat" }]

[tasks.e2e-hybrid]
labels = ["great", "other"]
record = "$WORK/hybrid.jsonl"

[tasks.e2e-hybrid.variants.fast]
kind = "tailored"
artifact = "$WORK/reviews.tmd"

[tasks.e2e-hybrid.variants.llm]
kind = "llm"
model = "e2e-hybrid-llm"
system = "Answer with one of: {{ labels | join(', ') }}."
template = "{{ text }}"
examples = [{ input = "wonderful coffee", output = "great" }]
confidence = "logprobs"

[tasks.e2e-hybrid.policy]
kind = "cascade"
variants = ["fast", "llm"]
thresholds = [0.99]
fallback = ["fast"]

[[tasks.e2e-hybrid.rules]]
when = { explain = true }
use = ["fast"]

# The replayed quiz, with the router and the thresholds tandem eval --task fitted above.
$(cat "$WORK/routing.toml")

[models.e2e-embed]
type = "embeddings"
routes = [{ provider = "good", model = "mock-embed", input_price_per_mtok = "$TANDEM_E2E_EMBED_PRICE_IN", output_price_per_mtok = 0 }]
EOF

"$TANDEM_BIN" serve -c "$WORK/tandem.toml" --port 0 --port-file "$WORK/gateway.port" \
  >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
wait_for_port "$WORK/gateway.port" "$GATEWAY_PID" "the gateway" "$WORK/gateway.log"
GATEWAY_PORT=$PORT

export TANDEM_URL="http://127.0.0.1:$GATEWAY_PORT"
export TANDEM_KEY="$TANDEM_E2E_KEY"
export MOCK_URL="http://127.0.0.1:$MOCK_PORT"
echo "e2e: mock on $MOCK_URL (pid $MOCK_PID), gateway on $TANDEM_URL (pid $GATEWAY_PID)"

# ---- the tests ---------------------------------------------------------------------------------
cd "$ROOT"
# In the background and waited for, so that a signal to this script stops everything at once.
rc=0
node --test "$@" tests/e2e/ &
NODE_PID=$!
wait "$NODE_PID" || rc=$?
NODE_PID=""
if ! kill -0 "$GATEWAY_PID" 2>/dev/null; then
  echo "e2e: the gateway died during the tests" >&2
  [[ $rc -ne 0 ]] || rc=1
fi
exit "$rc"
