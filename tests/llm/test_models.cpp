#include "test_models.h"

#include <unistd.h>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>

namespace tandem::testing {

namespace {

// Writes a file once: into a temporary name, then renamed, so concurrent test processes never
// see a half-written model.
std::string cached(const std::string& name, const std::function<void(const std::string&)>& make) {
  std::string path = std::string(TANDEM_TEST_MODEL_DIR) + "/" + name;
  if (!std::filesystem::exists(path)) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    make(tmp);
    std::filesystem::rename(tmp, path);
  }
  return path;
}

}  // namespace

llm::TestModelSpec tiny_spec() {
  return llm::tiny_test_model(std::string(TANDEM_LLAMA_VOCAB_DIR) + "/ggml-vocab-qwen2.gguf");
}

const std::string& tiny_model_path() {
  static const std::string path =
      cached("tiny.gguf", [](const std::string& p) { llm::write_test_model(tiny_spec(), p); });
  return path;
}

const std::string& tiny_embedding_model_path() {
  static const std::string path = cached("tiny-embedding.gguf", [](const std::string& p) {
    auto spec = tiny_spec();
    spec.embedding = true;
    llm::write_test_model(spec, p);
  });
  return path;
}

const std::string& tiny_model_with_template(const std::string& template_file, bool control_tags) {
  static std::mutex mutex;
  static std::map<std::string, std::string> paths;
  std::lock_guard lock(mutex);
  const std::string key = template_file + (control_tags ? " control" : "");
  auto it = paths.find(key);
  if (it != paths.end()) return it->second;
  const std::string file = llm::bundled_chat_template_path(tiny_spec().vocab_path, template_file);
  const std::string text = llm::read_chat_template(file);
  if (text.empty()) throw std::runtime_error("no chat template " + file);
  std::string stem = std::filesystem::path(template_file).stem().string();
  std::string name = "tiny-" + stem + (control_tags ? "-think-control.gguf" : "-think-tokens.gguf");
  std::string path = cached(name, [&](const std::string& p) {
    auto spec = tiny_spec();
    spec.chat_template = text;
    // single tokens, as in Qwen3's vocabulary
    (control_tags ? spec.control_tokens : spec.added_tokens) = {"<think>", "</think>"};
    llm::write_test_model(spec, p);
  });
  return paths.emplace(key, path).first->second;
}

const std::string& tiny_lora_path(int which) {
  static const std::string a = cached(
      "tiny-lora-a.gguf", [](const std::string& p) { llm::write_test_lora(tiny_spec(), p, 8, 1); });
  static const std::string b = cached(
      "tiny-lora-b.gguf", [](const std::string& p) { llm::write_test_lora(tiny_spec(), p, 8, 2); });
  return which == 0 ? a : b;
}

llm::EngineConfig tiny_engine_config(int parallel, int context) {
  llm::EngineConfig c;
  c.name = "tiny";
  c.path = tiny_model_path();
  c.parallel = parallel;
  c.context = context;
  c.threads = 2;
  c.batch = 256;
  return c;
}

}  // namespace tandem::testing
