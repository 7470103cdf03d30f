#pragma once
// `tandem finetune`: fine-tunes a local GGUF model on chat examples (OpenAI's JSONL format), with
// a progress bar on stderr and the loss of every epoch on stdout.
#include "tandem/llm/finetune.h"

namespace tandem::cli {

// Returns the process exit status: 0 when trained (or nothing was left to do), 1 on any error.
int run_finetune(const llm::FinetuneOptions& options);

}  // namespace tandem::cli
