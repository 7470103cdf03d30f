#pragma once
// The random-weight models the llm tests run on, generated once per build folder (ctest runs
// every test in its own process) with llama.cpp's own API and the source tree's Qwen2 vocabulary.
#include <string>

#include "tandem/llm/engine.h"
#include "tandem/llm/test_model.h"

namespace tandem::testing {

// The tiny chat model (f32, 2 layers, 64 wide).
const std::string& tiny_model_path();
// The same shape, declaring mean pooling: an embedding model.
const std::string& tiny_embedding_model_path();
// The tiny model with another of the source tree's chat templates (a file name in
// share/templates, e.g. "Qwen-Qwen3-0.6B.jinja"): a reasoning model's, for one. Its vocabulary has
// <think> and </think> as tokens, as Qwen3's does; with `control_tags`, as control tokens (special
// markers, the type of Mistral's [THINK] and gpt-oss's harmony tokens), which have no text unless
// the chat template preserves them.
const std::string& tiny_model_with_template(const std::string& template_file,
                                            bool control_tags = false);
// Two different LoRA adapters for the tiny model.
const std::string& tiny_lora_path(int which);
llm::TestModelSpec tiny_spec();

// An engine config for the tiny model with small, test-friendly sizes.
llm::EngineConfig tiny_engine_config(int parallel = 4, int context = 512);

}  // namespace tandem::testing
