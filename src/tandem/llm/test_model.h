#pragma once
// Random-weight GGUF models with a real vocabulary, built with llama.cpp's own API
// (llama_model_init_from_user + llama_model_save_to_file). No pretrained model can be installed
// here; these exercise loading, tokenising, batching, streaming, grammars, LoRA and training
// honestly, and the ~0.5B shape gives real compute figures for benchmarks.
#include <cstdint>
#include <string>
#include <vector>

namespace tandem::llm {

struct TestModelSpec {
  std::string vocab_path;  // a ggml-vocab-*.gguf (tokenizer metadata only)
  std::string name = "tandem-test";
  // Qwen2's architecture: its vocabulary (ggml-vocab-qwen2.gguf) has ChatML's special tokens.
  std::uint32_t n_embd = 64;
  std::uint32_t n_layer = 2;
  std::uint32_t n_head = 4;
  std::uint32_t n_head_kv = 2;
  std::uint32_t n_ff = 128;
  std::uint32_t n_ctx_train = 4096;
  std::uint64_t seed = 42;
  float init_std = 0.02f;
  // "f32", "f16", "q8_0" or "q4_k" (Q4_K_M).
  std::string type = "f32";
  bool embedding = false;  // declares mean pooling: an embedding model
  // The chat template (Jinja). Empty: Qwen2.5-Instruct's own, from the templates folder beside
  // the vocabulary folder (share/templates), with its tool-call syntax; plain ChatML without it.
  std::string chat_template;
  // Tokens added to the vocabulary (e.g. a reasoning model's "<think>" and "</think>"), as a
  // real model's added tokens are: matched whole by the tokenizer. Qwen2's vocabulary has none.
  std::vector<std::string> added_tokens;
  // Tokens added as control tokens: special markers such as Mistral's [THINK] or gpt-oss's
  // <|channel|>, which are matched whole and read as text only where the caller asks for it.
  std::vector<std::string> control_tokens;
};

// A few KB of weights per layer: loads and generates in milliseconds.
TestModelSpec tiny_test_model(std::string vocab_path);
// The dimensions of Qwen2-0.5B (896 wide, 24 layers, 14 heads, 2 KV heads, 4864 FF).
TestModelSpec half_b_test_model(std::string vocab_path);

// A chat template file's text; empty when it cannot be read (or is empty).
std::string read_chat_template(const std::string& path);
// One of the real models' chat templates that the llama.cpp prefix keeps beside its vocabularies
// (share/templates next to share/vocab), for a vocabulary file there: its path.
std::string bundled_chat_template_path(const std::string& vocab_path, const std::string& file);

// Writes the model to `out_path`. Throws std::runtime_error with a message naming the file.
void write_test_model(const TestModelSpec& spec, const std::string& out_path);

// A random LoRA adapter (GGUF) for a model of `spec`'s shape, on every layer's attention and
// feed-forward projections and on the output projection: strong enough to change what the model
// generates. Different seeds give different adapters.
void write_test_lora(const TestModelSpec& spec, const std::string& out_path, int rank,
                     std::uint64_t seed, float std = 0.5f);

}  // namespace tandem::llm
