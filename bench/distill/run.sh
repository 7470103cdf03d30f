#!/usr/bin/env bash
# Distillation benchmark (issue 5, "Distillation") on recorded answers of a real LLM: every
# RouterBench ARC-Challenge question (train and test files together) goes through the gateway to
# a task whose only variant is one LLM served by the `replay` provider, so the task's records are
# the gateway's own; then `tandem distill` trains the text classifier on them, checks it against
# held-out answers, and prints the agreement, the coverage at the target and the share of the
# teacher's cost saved.
#
#   TEACHER     the recorded model that answers (default gpt-4-1106-preview)
#   AGREEMENT   the target agreement with the teacher (default 0.9)
#   HOLDOUT     the share held out (default 0.25); SEED (default 42)
#
# Data: $TANDEM_SHARED_DATA (default ../shared/data beside the repository); the benchmark skips
# with a message when it is absent. Output in $OUT (default build/bench-distill). Exit status 0
# whatever the figures (a model that misses the target is a result, not a failure).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TANDEM_BIN="${TANDEM_BIN:-$ROOT/build/release/src/tandem/tandem}"
SHARED="${TANDEM_SHARED_DATA:-$ROOT/../shared/data}"
OUT="${OUT:-$ROOT/build/bench-distill}"
TEACHER="${TEACHER:-gpt-4-1106-preview}"
AGREEMENT="${AGREEMENT:-0.9}"
HOLDOUT="${HOLDOUT:-0.25}"
SEED="${SEED:-42}"
CLIENTS="${CLIENTS:-4}"

ARC="$SHARED/routing/routerbench-arc"
if [[ ! -f "$ARC/arc_challenge_train.csv" || ! -f "$ARC/arc_challenge_test.csv" ]]; then
  echo "bench-distill: skipped: $ARC/arc_challenge_{train,test}.csv are absent;" \
       "set TANDEM_SHARED_DATA to the folder that holds routing/" >&2
  exit 0
fi
[[ -x "$TANDEM_BIN" ]] || { echo "bench-distill: $TANDEM_BIN is missing: run make build (or set TANDEM_BIN)" >&2; exit 1; }
"$TANDEM_BIN" distill --help >/dev/null 2>&1 || { echo "bench-distill: $TANDEM_BIN has no 'distill' command (rebuild it)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench-distill: python3 is needed (it sends the questions)" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT/records.jsonl" "$OUT/arc-distilled.tandem" "$OUT/arc-distilled.tandem.json"

# One file with every recorded question (the two files share their header).
ALL="$OUT/arc_challenge_all.csv"
{ cat "$ARC/arc_challenge_train.csv"; tail -n +2 "$ARC/arc_challenge_test.csv"; } >"$ALL"

CONFIG="$OUT/tandem.toml"
cat >"$CONFIG" <<TOML
# Written by bench/distill/run.sh
[server]
host = "127.0.0.1"
port = 0
log_level = "warn"
[providers.arc]
kind = "replay"
data = "$ALL"
format = "routerbench"
[models.teacher]
routes = [{ provider = "arc", model = "$TEACHER" }]
[tasks.arc]
labels = ["A", "B", "C", "D"]
record = "$OUT/records.jsonl"
[tasks.arc.variants.llm]
kind = "llm"
model = "teacher"
template = "{{ text }}"
confidence = "none"
[tasks.arc.policy]
kind = "single"
[tasks.arc.distill]
teacher = "llm"
artifact = "$OUT/arc-distilled.tandem"
agreement = $AGREEMENT
min_records = 200
TOML

PORT_FILE="$OUT/port"
rm -f "$PORT_FILE"
"$TANDEM_BIN" serve -c "$CONFIG" --port-file "$PORT_FILE" >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s "$PORT_FILE" ]] && break; sleep 0.1; done
[[ -s "$PORT_FILE" ]] || { echo "bench-distill: the gateway did not start:" >&2; cat "$OUT/serve.log" >&2; exit 1; }
PORT="$(cat "$PORT_FILE")"

echo "== the teacher ($TEACHER, replayed) answers every ARC question through POST /v1/tasks/arc"
python3 - "$ALL" "$PORT" "$CLIENTS" <<'PY'
import ast, collections, concurrent.futures, csv, json, sys, time, urllib.error, urllib.request
path, port, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
csv.field_size_limit(1 << 30)
def unwrap(cell):  # RouterBench cells are Python list reprs (datasets/routing_data.h)
    if not cell.startswith("["):
        return cell
    return "\n\n".join(ast.literal_eval(cell))
with open(path, newline="", encoding="utf-8") as f:
    prompts = [unwrap(row["prompt"]) for row in csv.DictReader(f)]
def ask(prompt):
    body = json.dumps({"input": prompt}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/tasks/arc", data=body,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)["output"]["label"]
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}"
started = time.time()
with concurrent.futures.ThreadPoolExecutor(clients) as pool:
    answers = list(pool.map(ask, prompts))
counts = collections.Counter(answers)
print(f"{len(prompts)} questions in {time.time() - started:.1f} s: " +
      ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
PY
kill -TERM $SERVER
wait $SERVER || true
trap - EXIT
echo "records: $(wc -l <"$OUT/records.jsonl") lines in $OUT/records.jsonl"
echo
echo "\$ tandem distill -c $CONFIG --task arc --holdout $HOLDOUT --seed $SEED --quiet"
set +e
"$TANDEM_BIN" distill -c "$CONFIG" --task arc --holdout "$HOLDOUT" --seed "$SEED" --quiet
STATUS=$?
set -e
case $STATUS in
  0) echo "bench-distill: accepted (the gateway would add the distilled model first)" ;;
  2) echo "bench-distill: the target was not reached (written with accepted false)" ;;
  *) echo "bench-distill: tandem distill failed (exit status $STATUS)" >&2; exit $STATUS ;;
esac
