#!/usr/bin/env bash
# Offline routing benchmark (issue 5, "Offline evaluation by replay"): the learned router and a
# confidence cascade, trained and evaluated on recorded answers of real LLMs with the real CLI.
#
#   RouterBench ARC-Challenge (11 LLMs, recorded per-query cost): train on arc_challenge_train.csv,
#     evaluate on arc_challenge_test.csv. Target: the best single model's accuracy at <= 30% of
#     its cost.
#   RouteLLM MMLU (Mixtral-8x7B vs GPT-4, correctness only): train on the prompts outside a
#     deterministic 50% test split (--test-share 0.5 --seed 1), evaluate on the split. Target:
#     CPT(50%) <= 30% (a random router needs 50%); CPT(80%) reported.
#
# MMLU records no cost, so its models get a price per call from the config, derived from
# RouteLLM's blended prices per million tokens (GPT-4 $24.7/M, Mixtral-8x7B $0.24/M) and MMLU's
# mean prompt of 466 characters (~120 tokens; the answer is a letter): GPT-4 $0.002964 per call,
# Mixtral $0.000029 per call. CPT does not depend on the prices (only on which model is dearer).
#
# Data: $TANDEM_SHARED_DATA (default ../shared/data beside the repository); the benchmark skips
# with a message when it is absent. Output: the reports, and curve CSV/SVG files in $OUT
# (default build/bench-routing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TANDEM_BIN="${TANDEM_BIN:-$ROOT/build/release/src/tandem/tandem}"
SHARED="${TANDEM_SHARED_DATA:-$ROOT/../shared/data}"
OUT="${OUT:-$ROOT/build/bench-routing}"
SEED="${SEED:-1}"
RULE="${RULE:-utility}"  # the router's rule: utility or slack (see routing/learned_router.h)

ARC="$SHARED/routing/routerbench-arc"
MMLU="$SHARED/routing/routellm-mmlu"
if [[ ! -f "$ARC/arc_challenge_train.csv" || ! -f "$ARC/arc_challenge_test.csv" || ! -d "$MMLU" ]]; then
  echo "bench-routing: skipped: $SHARED/routing (routerbench-arc, routellm-mmlu) is absent;" \
       "set TANDEM_SHARED_DATA to the folder that holds routing/" >&2
  exit 0
fi
if [[ ! -x "$TANDEM_BIN" ]]; then
  echo "bench-routing: $TANDEM_BIN is missing: run make build (or set TANDEM_BIN)" >&2
  exit 1
fi
mkdir -p "$OUT"

ARC_MODELS=(
  "mistralai/mistral-7b-chat" "WizardLM/WizardLM-13B-V1.2" "mistralai/mixtral-8x7b-chat"
  "meta/code-llama-instruct-34b-chat" "zero-one-ai/Yi-34B-Chat" "claude-instant-v1"
  "meta/llama-2-70b-chat" "gpt-3.5-turbo-1106" "claude-v1" "claude-v2" "gpt-4-1106-preview"
)  # roughly cheapest first (the cascade's order)
WEAK="mistralai/Mixtral-8x7B-Instruct-v0.1"
STRONG="gpt-4-1106-preview"

# The config: one replay provider per data set, one [models.X] per recorded model, and tasks with
# router and cascade policies over them.
CONFIG="$OUT/tandem.toml"
{
  echo "# Written by bench/routing/run.sh"
  echo "[providers.arc]"
  echo "kind = \"replay\""
  echo "data = \"$ARC/arc_challenge_test.csv\""
  echo "format = \"routerbench\""
  echo "[providers.mmlu]"
  echo "kind = \"replay\""
  echo "data = \"$MMLU\""
  echo "format = \"routellm\""
  for m in "${ARC_MODELS[@]}"; do
    echo "[models.\"arc/$m\"]"
    echo "routes = [{ provider = \"arc\", model = \"$m\" }]"
  done
  echo "[models.\"mmlu/weak\"]"
  echo "routes = [{ provider = \"mmlu\", model = \"$WEAK\", request_price = 0.000029 }]"
  echo "[models.\"mmlu/strong\"]"
  echo "routes = [{ provider = \"mmlu\", model = \"$STRONG\", request_price = 0.002964 }]"
  task() {  # name, policy kind, router artifact, variant names...
    local name="$1" kind="$2" router="$3"
    shift 3
    echo "[tasks.$name]"
    echo "kind = \"text\""
    echo "labels = [\"A\", \"B\", \"C\", \"D\"]"
    local list=""
    for v in "$@"; do list+="\"$v\", "; done
    echo "[tasks.$name.policy]"
    echo "kind = \"$kind\""
    echo "variants = [${list%, }]"
    echo "router = \"$router\""
    if [[ "$kind" == "router" ]]; then echo "cost_weight = 0.1"; fi
    if [[ "$kind" == "cascade" ]]; then
      local th=""
      for ((i = 1; i < $#; i++)); do th+="0.9, "; done
      echo "thresholds = [${th%, }]"
    fi
  }
  arc_variants=()
  for m in "${ARC_MODELS[@]}"; do arc_variants+=("${m//\//_}"); done
  task arc-router router "$OUT/arc-router.tandem" "${arc_variants[@]}"
  # Cheap stages first; a later stage's confidence counts agreement with the earlier answers.
  task arc-cascade cascade "$OUT/arc-router.tandem" "mistralai_mixtral-8x7b-chat" \
    "zero-one-ai_Yi-34B-Chat" "gpt-3.5-turbo-1106" "gpt-4-1106-preview"
  task mmlu-router router "$OUT/mmlu-router.tandem" weak strong
  task mmlu-cascade cascade "$OUT/mmlu-router.tandem" weak strong
  for t in arc-router arc-cascade; do
    for m in "${ARC_MODELS[@]}"; do
      echo "[tasks.$t.variants.\"${m//\//_}\"]"
      echo "kind = \"llm\""
      echo "model = \"arc/$m\""
      echo "template = \"{{ text }}\""
    done
  done
  for t in mmlu-router mmlu-cascade; do
    for v in weak strong; do
      echo "[tasks.$t.variants.$v]"
      echo "kind = \"llm\""
      echo "model = \"mmlu/$v\""
      echo "template = \"{{ text }}\""
    done
  done
} >"$CONFIG"

run() {
  echo "\$ tandem $*"
  "$TANDEM_BIN" "$@"
  echo
}

echo "== RouterBench ARC-Challenge: train on the train file, evaluate on the test file =="
run train router --data "$ARC/arc_challenge_train.csv" --seed "$SEED" --rule "$RULE" \
  --out "$OUT/arc-router.tandem"
run eval --task arc-router -c "$CONFIG" --csv "$OUT/arc-router.csv" --plot "$OUT/arc-router.svg"
run eval --task arc-cascade -c "$CONFIG" --csv "$OUT/arc-cascade.csv" --plot "$OUT/arc-cascade.svg"

echo "== RouteLLM MMLU: train outside a 50% test split, evaluate on it =="
run train router --data "$MMLU" --test-share 0.5 --seed "$SEED" --rule "$RULE" \
  --out "$OUT/mmlu-router.tandem"
run eval --task mmlu-router -c "$CONFIG" --test-share 0.5 --seed "$SEED" \
  --csv "$OUT/mmlu-router.csv" --plot "$OUT/mmlu-router.svg"
run eval --task mmlu-cascade -c "$CONFIG" --test-share 0.5 --seed "$SEED" \
  --csv "$OUT/mmlu-cascade.csv" --plot "$OUT/mmlu-cascade.svg"
echo "curves and plots: $OUT"
