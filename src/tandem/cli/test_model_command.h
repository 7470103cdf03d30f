#pragma once
// `tandem make-test-model`: writes a random-weight GGUF model with a real vocabulary.
#include <string>
#include <vector>

#include "tandem/llm/test_model.h"

namespace tandem::cli {

struct TestModelOptions {
  std::string vocab_path;
  std::string out_path;
  std::string size = "tiny";  // "tiny" or "0.5b"
  std::string type = "f32";
  std::uint64_t seed = 42;
  bool embedding = false;
  std::string chat_template_path;  // a Jinja file; empty: Qwen2.5's (llm/test_model.h)
  std::vector<std::string> added_tokens;
  std::vector<std::string> control_tokens;
};

int run_make_test_model(const TestModelOptions& options);

}  // namespace tandem::cli
