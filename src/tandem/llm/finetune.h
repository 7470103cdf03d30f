#pragma once
// Full fine-tuning of a local GGUF model on chat examples (OpenAI's fine-tuning JSONL format),
// with llama.cpp's training API (llama_opt_init / llama_opt_epoch, AdamW, cross-entropy).
//
// Each example is rendered through the model's own chat template, tokenised as the engine
// tokenises a prompt, and trained in a window of `context` tokens of its own, starting at
// position 0 as at inference (or, with `pack`, together with other whole examples).
// After every epoch the model is saved (atomically) to `out_path` together with a sidecar state
// file `<out_path>.state.json`; running again with the same data and settings resumes after the
// last finished epoch.
//
// What llama.cpp's trainer reaches: every F32 weight except the token embeddings and the
// attention's key and value projections (no gradient flows back through its KV cache). The loss
// covers every position of a window, prompt and padding included: its labels cannot mask any.
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tandem::llm {

// Bad options, unreadable or malformed files, an unusable base model, or a state file that does
// not match the run. The message names the file (and line) and says what is wrong.
class FinetuneError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FinetuneOptions {
  std::string model_path;  // the base model (GGUF, F32 weights)
  std::string data_path;   // JSONL: one {"messages": [...]} per line
  std::string out_path;    // the tuned model (GGUF); the state file sits next to it
  int epochs = 3;          // total epochs, counting those a resumed run already did
  float learning_rate = 1e-5f;
  // With lr_min > 0 the rate falls exponentially, step by step, from learning_rate to lr_min over
  // decay_epochs epochs (0: over `epochs` of the run that started this output), then stays.
  float lr_min = 0.0f;
  int decay_epochs = 0;
  float weight_decay = 0.0f;
  float val_split = 0.2f;  // fraction of the examples held out for validation
  int context = 512;       // tokens per training window; longer examples are skipped
  int batch = 0;           // tokens per optimizer step (divides context); 0: context
  // Several whole examples per window: less padding to compute, but each example then attends
  // to the ones before it, which inference never shows the model.
  bool pack = false;
  int threads = 0;          // 0: all cores
  std::uint64_t seed = 42;  // validation split and per-epoch example order
  bool restart = false;     // ignore (and replace) an existing output and its state
};

struct EpochStats {
  int epoch = 0;  // 1-based
  double train_loss = 0;
  double train_accuracy = 0;  // next-token accuracy over the training windows
  std::optional<double> val_loss;
  std::optional<double> val_accuracy;
  double seconds = 0;
};

// Within an epoch: one physical batch of `batch` tokens done.
struct StepProgress {
  int epoch = 0;  // 1-based
  int epochs = 0;
  bool training = true;  // false: the validation pass
  std::int64_t step = 0;
  std::int64_t steps = 0;
  double loss = 0;  // running mean over this pass so far
  double elapsed_seconds = 0;
};

// What the caller hears; any member may be empty. Called on the training thread.
struct FinetuneListener {
  std::function<void(const std::string&)> info;     // the plan, resumption, saved files
  std::function<void(const std::string&)> warning;  // e.g. skipped examples
  std::function<void(const StepProgress&)> step;
  std::function<void(const EpochStats&)> epoch;  // after the epoch's model is saved
};

struct FinetuneResult {
  std::vector<EpochStats> history;  // every epoch of this output, resumed ones included
  int first_epoch = 1;              // the first epoch this call ran
  int epochs_run = 0;               // 0: the state already had all requested epochs
  bool resumed = false;
  int train_examples = 0;
  int val_examples = 0;
  int skipped_examples = 0;  // longer than the context
  int train_windows = 0;
  int val_windows = 0;
  std::int64_t train_tokens = 0;  // example tokens (padding excluded) in the training windows
  std::string out_path;
  std::string state_path;
};

// Trains and saves. Throws FinetuneError for anything the caller can fix.
FinetuneResult finetune(const FinetuneOptions& options, const FinetuneListener& listener = {});

// `<out_path>.state.json`.
std::string finetune_state_path(const std::string& out_path);

}  // namespace tandem::llm
