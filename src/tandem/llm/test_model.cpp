#include "tandem/llm/test_model.h"

#include <gguf.h>
#include <llama.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <stdexcept>
#include <vector>

#include "tandem/llm/backend.h"

namespace tandem::llm {

namespace {

// Plain ChatML, for when Qwen2.5's template is not at hand.
constexpr const char* kChatMlTemplate =
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

struct InitData {
  std::uint64_t seed;
  float std;
};

// Each tensor's values depend only on the seed and the tensor's name, so a model is the same
// whatever order llama.cpp creates its tensors in. Norm weights start at 1 as in a real model.
void set_tensor_data(ggml_tensor* tensor, void* userdata) {
  const auto* init = static_cast<const InitData*>(userdata);
  std::string name = tensor->name;
  std::mt19937_64 rng(init->seed ^ std::hash<std::string>{}(name));
  std::normal_distribution<float> dist(0.0f, init->std);
  const bool is_norm = name.find("norm") != std::string::npos;
  const std::int64_t n = ggml_nelements(tensor);
  if (tensor->type != GGML_TYPE_F32) {
    throw std::runtime_error("test model: unexpected tensor type for " + name);
  }
  std::vector<float> values(static_cast<std::size_t>(n));
  for (auto& v : values) v = is_norm ? 1.0f : dist(rng);
  ggml_backend_tensor_set(tensor, values.data(), 0, ggml_nbytes(tensor));
}

llama_ftype ftype_for(const std::string& type) {
  if (type == "f16") return LLAMA_FTYPE_MOSTLY_F16;
  if (type == "q8_0") return LLAMA_FTYPE_MOSTLY_Q8_0;
  if (type == "q4_k") return LLAMA_FTYPE_MOSTLY_Q4_K_M;
  throw std::runtime_error("test model: unknown type '" + type + "' (f32, f16, q8_0, q4_k)");
}

std::string default_chat_template(const std::string& vocab_path) {
  std::string text =
      read_chat_template(bundled_chat_template_path(vocab_path, "Qwen-Qwen2.5-7B-Instruct.jinja"));
  return text.empty() ? kChatMlTemplate : text;
}

// llama_model_save_to_file writes what the loaded model keeps, which leaves out the chat
// template. The file is rewritten with it: new metadata, then the tensor data copied as bytes
// (same tensors in the same order and alignment, so every offset stays valid).
void add_chat_template(const std::string& path, const std::string& chat_template) {
  ggml_context* tensors = nullptr;
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/&tensors};
  gguf_context* src = gguf_init_from_file(path.c_str(), params);
  if (src == nullptr) throw std::runtime_error(path + ": cannot reread the saved model");
  gguf_context* dst = gguf_init_empty();
  gguf_set_kv(dst, src);
  gguf_set_val_str(dst, "tokenizer.chat_template", chat_template.c_str());
  for (std::int64_t i = 0; i < gguf_get_n_tensors(src); ++i) {
    gguf_add_tensor(dst, ggml_get_tensor(tensors, gguf_get_tensor_name(src, i)));
  }
  const std::size_t data_offset = gguf_get_data_offset(src);
  std::string tmp = path + ".template.tmp";
  bool ok = gguf_write_to_file(dst, tmp.c_str(), /*only_meta=*/true);
  gguf_free(dst);
  gguf_free(src);
  ggml_free(tensors);
  if (!ok) throw std::runtime_error(tmp + ": cannot write");
  std::ifstream in(path, std::ios::binary);
  std::ofstream out(tmp, std::ios::binary | std::ios::app);
  in.seekg(static_cast<std::streamoff>(data_offset));
  out << in.rdbuf();
  out.close();
  if (!in || !out) throw std::runtime_error(tmp + ": cannot copy the tensor data");
  std::filesystem::rename(tmp, path);
}

// Puts each of `added` into the vocabulary's first unused slots (the "[PAD...]" entries that pad
// Qwen2's to 151,936) as a token of `type`: user-defined, the type most real models' added tokens
// have (Qwen3's <think> and </think>), or control, a special marker's. The tokenizer matches both
// whole in any text it reads with special tokens.
void add_tokens(gguf_context* meta, const std::vector<std::string>& added, llama_token_type type) {
  if (added.empty()) return;
  const std::int64_t tokens_key = gguf_find_key(meta, "tokenizer.ggml.tokens");
  const std::int64_t types_key = gguf_find_key(meta, "tokenizer.ggml.token_type");
  if (types_key < 0 || gguf_get_arr_type(meta, types_key) != GGUF_TYPE_INT32) {
    throw std::runtime_error("test model: the vocabulary has no int32 tokenizer.ggml.token_type");
  }
  const std::size_t n = gguf_get_arr_n(meta, tokens_key);
  std::vector<std::string> tokens(n);
  for (std::size_t i = 0; i < n; ++i) tokens[i] = gguf_get_arr_str(meta, tokens_key, i);
  const auto* data = static_cast<const std::int32_t*>(gguf_get_arr_data(meta, types_key));
  std::vector<std::int32_t> types(data, data + gguf_get_arr_n(meta, types_key));
  std::size_t slot = 0;
  for (const auto& text : added) {
    if (std::find(tokens.begin(), tokens.end(), text) != tokens.end()) continue;
    while (slot < n && !tokens[slot].starts_with("[PAD")) ++slot;
    if (slot == n) throw std::runtime_error("test model: no unused vocabulary slot for " + text);
    tokens[slot] = text;
    types[slot] = type;
  }
  std::vector<const char*> pointers;
  pointers.reserve(n);
  for (const auto& t : tokens) pointers.push_back(t.c_str());
  gguf_set_arr_str(meta, "tokenizer.ggml.tokens", pointers.data(), n);
  gguf_set_arr_data(meta, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
}

}  // namespace

std::string read_chat_template(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string bundled_chat_template_path(const std::string& vocab_path, const std::string& file) {
  return (std::filesystem::path(vocab_path).parent_path().parent_path() / "templates" / file)
      .string();
}

TestModelSpec tiny_test_model(std::string vocab_path) {
  TestModelSpec spec;
  spec.vocab_path = std::move(vocab_path);
  return spec;
}

TestModelSpec half_b_test_model(std::string vocab_path) {
  TestModelSpec spec;
  spec.vocab_path = std::move(vocab_path);
  spec.name = "tandem-test-0.5b";
  spec.n_embd = 896;
  spec.n_layer = 24;
  spec.n_head = 14;
  spec.n_head_kv = 2;
  spec.n_ff = 4864;
  spec.n_ctx_train = 32768;
  return spec;
}

void write_test_model(const TestModelSpec& spec, const std::string& out_path) {
  ensure_backend();
  if (spec.type != "f32") ftype_for(spec.type);  // reject an unknown type before any work
  gguf_init_params vocab_params{/*no_alloc=*/true, /*ctx=*/nullptr};
  gguf_context* vocab = gguf_init_from_file(spec.vocab_path.c_str(), vocab_params);
  if (vocab == nullptr) {
    throw std::runtime_error(spec.vocab_path + ": cannot read as a GGUF vocabulary");
  }
  gguf_context* meta = gguf_init_empty();
  gguf_set_kv(meta, vocab);
  gguf_free(vocab);
  if (gguf_find_key(meta, "tokenizer.ggml.tokens") < 0) {
    gguf_free(meta);
    throw std::runtime_error(spec.vocab_path + ": has no tokenizer.ggml.tokens");
  }
  try {
    add_tokens(meta, spec.added_tokens, LLAMA_TOKEN_TYPE_USER_DEFINED);
    add_tokens(meta, spec.control_tokens, LLAMA_TOKEN_TYPE_CONTROL);
  } catch (...) {
    gguf_free(meta);
    throw;
  }
  const std::string arch = "qwen2";
  auto key = [&](const char* suffix) { return arch + "." + suffix; };
  gguf_set_val_str(meta, "general.architecture", arch.c_str());
  gguf_set_val_str(meta, "general.name", spec.name.c_str());
  gguf_set_val_u32(meta, key("context_length").c_str(), spec.n_ctx_train);
  gguf_set_val_u32(meta, key("embedding_length").c_str(), spec.n_embd);
  gguf_set_val_u32(meta, key("block_count").c_str(), spec.n_layer);
  gguf_set_val_u32(meta, key("feed_forward_length").c_str(), spec.n_ff);
  gguf_set_val_u32(meta, key("attention.head_count").c_str(), spec.n_head);
  gguf_set_val_u32(meta, key("attention.head_count_kv").c_str(), spec.n_head_kv);
  gguf_set_val_f32(meta, key("attention.layer_norm_rms_epsilon").c_str(), 1e-6f);
  gguf_set_val_f32(meta, key("rope.freq_base").c_str(), 1000000.0f);
  if (spec.embedding) {
    gguf_set_val_u32(meta, key("pooling_type").c_str(), LLAMA_POOLING_TYPE_MEAN);
  }
  std::string chat_template =
      spec.chat_template.empty() ? default_chat_template(spec.vocab_path) : spec.chat_template;

  InitData init{spec.seed, spec.init_std};
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = 0;
  llama_model* model = llama_model_init_from_user(meta, set_tensor_data, &init, params);
  gguf_free(meta);
  if (model == nullptr)
    throw std::runtime_error(out_path + ": llama.cpp could not build the model");

  std::filesystem::path out(out_path);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  if (spec.type == "f32") {
    llama_model_save_to_file(model, out_path.c_str());
    llama_model_free(model);
    add_chat_template(out_path, chat_template);
  } else {
    std::string f32_path = out_path + ".f32.tmp";
    llama_model_save_to_file(model, f32_path.c_str());
    llama_model_free(model);
    add_chat_template(f32_path, chat_template);
    llama_model_quantize_params q = llama_model_quantize_default_params();
    q.ftype = ftype_for(spec.type);
    std::uint32_t rc = llama_model_quantize(f32_path.c_str(), out_path.c_str(), &q);
    std::filesystem::remove(f32_path);
    if (rc != 0) throw std::runtime_error(out_path + ": quantisation to " + spec.type + " failed");
  }
  if (!std::filesystem::exists(out_path)) throw std::runtime_error(out_path + ": was not written");
}

void write_test_lora(const TestModelSpec& spec, const std::string& out_path, int rank,
                     std::uint64_t seed, float std) {
  ensure_backend();
  struct Target {
    std::string name;
    std::int64_t n_in, n_out;
  };
  const std::int64_t head_dim = spec.n_embd / spec.n_head;
  std::vector<Target> targets;
  for (std::uint32_t il = 0; il < spec.n_layer; ++il) {
    std::string blk = "blk." + std::to_string(il) + ".";
    targets.push_back({blk + "attn_q.weight", spec.n_embd, spec.n_embd});
    targets.push_back({blk + "attn_v.weight", spec.n_embd, head_dim * spec.n_head_kv});
    targets.push_back({blk + "ffn_up.weight", spec.n_embd, spec.n_ff});
    targets.push_back({blk + "ffn_down.weight", spec.n_ff, spec.n_embd});
  }
  std::size_t bytes = 0;
  for (const auto& t : targets) {
    bytes += static_cast<std::size_t>((t.n_in + t.n_out) * rank) * sizeof(float) + 1024;
  }
  ggml_init_params params{bytes + (1 << 20), nullptr, false};
  ggml_context* ctx = ggml_init(params);
  gguf_context* gguf = gguf_init_empty();
  gguf_set_val_str(gguf, "general.type", "adapter");
  gguf_set_val_str(gguf, "general.architecture", "qwen2");
  gguf_set_val_str(gguf, "general.name", (spec.name + "-lora").c_str());
  gguf_set_val_str(gguf, "adapter.type", "lora");
  gguf_set_val_f32(gguf, "adapter.lora.alpha", static_cast<float>(rank));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, std);
  for (const auto& t : targets) {
    // A: n_in x rank, B: rank x n_out (ggml's ne order), as llama.cpp's converter writes them.
    ggml_tensor* a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, t.n_in, rank);
    ggml_tensor* b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, rank, t.n_out);
    ggml_set_name(a, (t.name + ".lora_a").c_str());
    ggml_set_name(b, (t.name + ".lora_b").c_str());
    for (ggml_tensor* x : {a, b}) {
      auto* data = static_cast<float*>(x->data);
      for (std::int64_t i = 0; i < ggml_nelements(x); ++i) data[i] = dist(rng);
      gguf_add_tensor(gguf, x);
    }
  }
  std::filesystem::path out(out_path);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  bool ok = gguf_write_to_file(gguf, out_path.c_str(), false);
  gguf_free(gguf);
  ggml_free(ctx);
  if (!ok) throw std::runtime_error(out_path + ": cannot write the LoRA adapter");
}

}  // namespace tandem::llm
