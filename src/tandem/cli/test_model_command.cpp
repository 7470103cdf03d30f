#include "tandem/cli/test_model_command.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>

namespace tandem::cli {

int run_make_test_model(const TestModelOptions& options) {
  llm::TestModelSpec spec = options.size == "0.5b" ? llm::half_b_test_model(options.vocab_path)
                                                   : llm::tiny_test_model(options.vocab_path);
  spec.type = options.type;
  spec.seed = options.seed;
  spec.embedding = options.embedding;
  spec.added_tokens = options.added_tokens;
  spec.control_tokens = options.control_tokens;
  if (!options.chat_template_path.empty()) {
    spec.chat_template = llm::read_chat_template(options.chat_template_path);
    if (spec.chat_template.empty()) {
      std::fprintf(stderr, "tandem make-test-model: cannot read the chat template %s\n",
                   options.chat_template_path.c_str());
      return 1;
    }
  }
  auto started = std::chrono::steady_clock::now();
  try {
    llm::write_test_model(spec, options.out_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem make-test-model: %s\n", e.what());
    return 1;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("wrote %s (%s, %s, %.1f MB) in %.1f s\n", options.out_path.c_str(),
              options.size.c_str(), options.type.c_str(),
              static_cast<double>(std::filesystem::file_size(options.out_path)) / 1e6, seconds);
  return 0;
}

}  // namespace tandem::cli
