#include "tandem/llm/finetune.h"

#include <chat.h>
#include <common.h>
#include <ggml-opt.h>
#include <ggml.h>
#include <gguf.h>
#include <llama.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string_view>
#include <thread>

#include "tandem/llm/backend.h"

namespace tandem::llm {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kEpochsKey = "tandem.finetune.epochs";
constexpr const char* kBaseKey = "tandem.finetune.base_model";

// ---------------------------------------------------------------------------------------------
// Options

void check_options(const FinetuneOptions& o) {
  if (o.model_path.empty()) throw FinetuneError("no base model given (--model)");
  if (o.data_path.empty()) throw FinetuneError("no data file given (--data)");
  if (o.out_path.empty()) throw FinetuneError("no output path given (--out)");
  if (o.epochs < 1) throw FinetuneError("--epochs must be at least 1");
  if (!(o.learning_rate > 0.0f) || !std::isfinite(o.learning_rate)) {
    throw FinetuneError("--lr must be a positive number");
  }
  if (!(o.lr_min >= 0.0f && o.lr_min < o.learning_rate)) {
    throw FinetuneError("--lr-min must be zero (a constant rate) or below --lr");
  }
  if (o.decay_epochs < 0) throw FinetuneError("--decay-epochs must be zero or positive");
  if (!(o.weight_decay >= 0.0f) || !std::isfinite(o.weight_decay)) {
    throw FinetuneError("--weight-decay must be zero or positive");
  }
  if (!(o.val_split >= 0.0f && o.val_split < 1.0f)) {
    throw FinetuneError("--val-split must be in [0, 1)");
  }
  if (o.context < 8) throw FinetuneError("--ctx must be at least 8 tokens");
  if (o.batch < 0 || (o.batch > 0 && o.context % o.batch != 0)) {
    throw FinetuneError("--batch must divide --ctx (got " + std::to_string(o.batch) + " for " +
                        std::to_string(o.context) + ")");
  }
  if (o.threads < 0) throw FinetuneError("--threads must be zero (all cores) or positive");
  std::error_code ec;
  if (fs::exists(o.out_path, ec) && fs::exists(o.model_path, ec) &&
      fs::equivalent(o.out_path, o.model_path, ec)) {
    throw FinetuneError(o.out_path + ": the output must not be the base model itself");
  }
}

// ---------------------------------------------------------------------------------------------
// Data: OpenAI's chat fine-tuning JSONL

struct Example {
  int line = 0;
  std::string prompt_messages;  // JSON array: every message before the final answer
  std::string answer;           // the final assistant message's content
};

std::string at_line(const std::string& path, int line) {
  return path + ":" + std::to_string(line) + ": ";
}

std::string_view role_of(const json::value& message) {
  const auto* role = message.as_object().if_contains("role");
  return role != nullptr && role->is_string() ? std::string_view(role->get_string())
                                              : std::string_view();
}

void check_message(const json::value& v, std::size_t i, const std::string& at) {
  const std::string name = "messages[" + std::to_string(i) + "]";
  if (!v.is_object()) throw FinetuneError(at + name + " is not an object");
  const auto& o = v.get_object();
  const auto* role = o.if_contains("role");
  if (role == nullptr || !role->is_string()) {
    throw FinetuneError(at + name + " has no \"role\" string");
  }
  const std::string_view r = role->get_string();
  if (r == "tool" || o.contains("tool_calls") || o.contains("function_call")) {
    throw FinetuneError(at + name + ": tool calls are not supported by tandem finetune");
  }
  if (r != "system" && r != "user" && r != "assistant") {
    throw FinetuneError(at + name + " has role \"" + std::string(r) +
                        "\" (expected system, user or assistant)");
  }
  const auto* content = o.if_contains("content");
  if (content == nullptr || !content->is_string()) {
    throw FinetuneError(at + name + ".content must be a string");
  }
}

Example parse_example(std::string_view text, const std::string& at, int line) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw FinetuneError(at + "not valid JSON (" + ec.message() + ")");
  if (!v.is_object()) throw FinetuneError(at + "expected an object with a \"messages\" array");
  const auto* messages = v.get_object().if_contains("messages");
  if (messages == nullptr || !messages->is_array() || messages->get_array().empty()) {
    throw FinetuneError(at + "no \"messages\" array (or it is empty)");
  }
  const auto& list = messages->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) check_message(list[i], i, at);
  const bool any_answer = std::any_of(
      list.begin(), list.end(), [](const json::value& m) { return role_of(m) == "assistant"; });
  if (!any_answer) throw FinetuneError(at + "no assistant message to learn from");
  if (role_of(list.back()) != "assistant") {
    throw FinetuneError(at + "the last message must be the assistant's answer");
  }
  if (list.size() < 2) {
    throw FinetuneError(at + "the assistant's answer needs a system or user message before it");
  }
  Example ex;
  ex.line = line;
  ex.answer = std::string(list.back().get_object().at("content").get_string());
  ex.prompt_messages = json::serialize(json::array(list.begin(), list.end() - 1));
  return ex;
}

std::vector<Example> load_examples(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FinetuneError(path + ": cannot open the data file");
  std::vector<Example> examples;
  std::string text;
  int line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines are allowed
    examples.push_back(parse_example(text, at_line(path, line), line));
  }
  if (examples.empty()) throw FinetuneError(path + ": no examples (the file is empty)");
  return examples;
}

// FNV-1a over the file's bytes: enough to notice that the data changed between runs.
std::string hash_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FinetuneError(path + ": cannot read");
  std::uint64_t h = 14695981039346656037ull;
  std::vector<char> buffer(1 << 16);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buffer[static_cast<std::size_t>(i)]);
      h *= 1099511628211ull;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string("fnv1a64:") + hex;
}

// ---------------------------------------------------------------------------------------------
// GGUF files

struct GgufDeleter {
  void operator()(gguf_context* g) const { gguf_free(g); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;

GgufPtr open_gguf(const std::string& path) {
  if (!fs::is_regular_file(path)) throw FinetuneError(path + ": no such model file");
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  GgufPtr g(gguf_init_from_file(path.c_str(), params));
  if (!g) throw FinetuneError(path + ": not a GGUF model file (or it is corrupt)");
  return g;
}

// llama.cpp trains only F32 tensors (llama_set_param skips the rest without a word), so a
// quantised or F16 model would "train" nothing. The token embeddings are never trained.
void check_trainable(const std::string& path) {
  GgufPtr g = open_gguf(path);
  const std::int64_t n = gguf_get_n_tensors(g.get());
  if (n == 0) throw FinetuneError(path + ": has no tensors (a vocabulary-only file?)");
  for (std::int64_t i = 0; i < n; ++i) {
    const std::string name = gguf_get_tensor_name(g.get(), i);
    const ggml_type type = gguf_get_tensor_type(g.get(), i);
    if (type != GGML_TYPE_F32 && name != "token_embd.weight") {
      throw FinetuneError(path + ": training needs F32 weights, but " + name + " is " +
                          ggml_type_name(type) +
                          " (a quantised or half-precision model); fine-tune an F32 export of it");
    }
  }
}

int epochs_recorded_in(const std::string& path) {
  GgufPtr g = open_gguf(path);
  const std::int64_t key = gguf_find_key(g.get(), kEpochsKey);
  if (key < 0 || gguf_get_kv_type(g.get(), key) != GGUF_TYPE_UINT32) return -1;
  return static_cast<int>(gguf_get_val_u32(g.get(), key));
}

void copy_bytes(std::ifstream& in, std::ofstream& out) {
  std::vector<char> buffer(1 << 20);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    out.write(buffer.data(), in.gcount());
  }
}

// llama_model_save_to_file writes the hyper-parameters from memory, where llama_opt_init has set
// the context length to the training window, and it drops keys it does not model (the chat
// template, general.* details). Training changes only weights, so every key of the file the
// model was loaded from is put back; the tensor data is copied unchanged after the new header.
void write_with_metadata(const std::string& raw_path, const std::string& source_path,
                         const std::string& dest_path, int epochs_done,
                         const std::string& base_model) {
  GgufPtr raw = open_gguf(raw_path);
  GgufPtr source = open_gguf(source_path);
  const std::size_t data_offset = gguf_get_data_offset(raw.get());
  const std::uint32_t alignment = static_cast<std::uint32_t>(gguf_get_alignment(raw.get()));
  gguf_set_kv(raw.get(), source.get());
  // The tensor data keeps the raw file's alignment, whatever the source declared.
  if (gguf_find_key(raw.get(), "general.alignment") >= 0) {
    gguf_set_val_u32(raw.get(), "general.alignment", alignment);
  }
  gguf_set_val_u32(raw.get(), kEpochsKey, static_cast<std::uint32_t>(epochs_done));
  gguf_set_val_str(raw.get(), kBaseKey, base_model.c_str());

  std::vector<char> meta(gguf_get_meta_size(raw.get()));
  gguf_get_meta_data(raw.get(), meta.data());
  std::ifstream in(raw_path, std::ios::binary);
  std::ofstream out(dest_path, std::ios::binary | std::ios::trunc);
  if (!in || !out) throw FinetuneError(dest_path + ": cannot write the tuned model");
  out.write(meta.data(), static_cast<std::streamsize>(meta.size()));
  in.seekg(static_cast<std::streamoff>(data_offset));
  copy_bytes(in, out);
  out.close();
  if (!out) throw FinetuneError(dest_path + ": cannot write the tuned model (disk full?)");
}

std::string temp_name(const std::string& path, const char* tag) {
  return path + "." + tag + "." + std::to_string(::getpid());
}

void replace_file(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw FinetuneError(path + ": cannot replace (" + ec.message() + ")");
  }
}

void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = temp_name(path, "tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw FinetuneError(tmp + ": cannot write");
  }
  replace_file(tmp, path);
}

// ---------------------------------------------------------------------------------------------
// The state file: what a resumed run must agree with

struct Settings {
  std::string base_model;  // canonical path
  std::uint64_t base_bytes = 0;
  std::string data_hash;
  double learning_rate = 0;
  double lr_min = 0;
  std::int64_t decay_epochs = 0;
  double weight_decay = 0;
  double val_split = 0;
  std::int64_t context = 0;
  std::int64_t batch = 0;
  bool pack = false;
  std::uint64_t seed = 0;
};

struct State {
  Settings settings;
  std::vector<EpochStats> history;
};

json::value optional_number(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

std::string state_json(const State& s, const std::string& data_path) {
  json::array history;
  for (const auto& e : s.history) {
    history.push_back(json::object{{"epoch", e.epoch},
                                   {"train_loss", e.train_loss},
                                   {"train_accuracy", e.train_accuracy},
                                   {"val_loss", optional_number(e.val_loss)},
                                   {"val_accuracy", optional_number(e.val_accuracy)},
                                   {"seconds", e.seconds}});
  }
  json::object o{{"version", 1},
                 {"base_model", s.settings.base_model},
                 {"base_model_bytes", s.settings.base_bytes},
                 {"data", data_path},
                 {"data_hash", s.settings.data_hash},
                 {"learning_rate", s.settings.learning_rate},
                 {"lr_min", s.settings.lr_min},
                 {"decay_epochs", s.settings.decay_epochs},
                 {"weight_decay", s.settings.weight_decay},
                 {"val_split", s.settings.val_split},
                 {"context", s.settings.context},
                 {"batch", s.settings.batch},
                 {"pack", s.settings.pack},
                 {"seed", s.settings.seed},
                 {"epochs_done", static_cast<std::int64_t>(s.history.size())},
                 {"history", std::move(history)}};
  return json::serialize(o) + "\n";
}

std::optional<double> read_optional(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  return json::value_to<double>(*v);
}

State read_state(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  try {
    const json::object o = json::parse(text.str()).as_object();
    State s;
    s.settings.base_model = json::value_to<std::string>(o.at("base_model"));
    s.settings.base_bytes = json::value_to<std::uint64_t>(o.at("base_model_bytes"));
    s.settings.data_hash = json::value_to<std::string>(o.at("data_hash"));
    s.settings.learning_rate = json::value_to<double>(o.at("learning_rate"));
    s.settings.lr_min = json::value_to<double>(o.at("lr_min"));
    s.settings.decay_epochs = json::value_to<std::int64_t>(o.at("decay_epochs"));
    s.settings.weight_decay = json::value_to<double>(o.at("weight_decay"));
    s.settings.val_split = json::value_to<double>(o.at("val_split"));
    s.settings.context = json::value_to<std::int64_t>(o.at("context"));
    s.settings.batch = json::value_to<std::int64_t>(o.at("batch"));
    s.settings.pack = o.at("pack").as_bool();
    s.settings.seed = json::value_to<std::uint64_t>(o.at("seed"));
    for (const auto& item : o.at("history").as_array()) {
      const auto& h = item.as_object();
      EpochStats e;
      e.epoch = json::value_to<int>(h.at("epoch"));
      e.train_loss = json::value_to<double>(h.at("train_loss"));
      e.train_accuracy = json::value_to<double>(h.at("train_accuracy"));
      e.val_loss = read_optional(h, "val_loss");
      e.val_accuracy = read_optional(h, "val_accuracy");
      e.seconds = json::value_to<double>(h.at("seconds"));
      s.history.push_back(e);
    }
    if (json::value_to<std::int64_t>(o.at("epochs_done")) !=
        static_cast<std::int64_t>(s.history.size())) {
      throw std::runtime_error("epochs_done does not match the history");
    }
    return s;
  } catch (const std::exception& e) {
    throw FinetuneError(path + ": unreadable fine-tuning state (" + e.what() +
                        "); pass --restart to start over");
  }
}

template <typename T>
void compare(std::vector<std::string>& diffs, const char* what, const T& saved, const T& now) {
  if (saved == now) return;
  std::ostringstream line;
  line << what << ": " << saved << " before, " << now << " now";
  diffs.push_back(line.str());
}

std::vector<std::string> differences(const Settings& saved, const Settings& now) {
  std::vector<std::string> d;
  compare(d, "base model", saved.base_model, now.base_model);
  compare(d, "base model size", saved.base_bytes, now.base_bytes);
  compare(d, "data (content hash)", saved.data_hash, now.data_hash);
  compare(d, "learning rate", saved.learning_rate, now.learning_rate);
  compare(d, "minimum learning rate", saved.lr_min, now.lr_min);
  compare(d, "decay epochs", saved.decay_epochs, now.decay_epochs);
  compare(d, "weight decay", saved.weight_decay, now.weight_decay);
  compare(d, "validation split", saved.val_split, now.val_split);
  compare(d, "context", saved.context, now.context);
  compare(d, "batch", saved.batch, now.batch);
  compare(d, "packing", saved.pack, now.pack);
  compare(d, "seed", saved.seed, now.seed);
  return d;
}

Settings settings_for(const FinetuneOptions& o, int batch) {
  Settings s;
  s.base_model = fs::weakly_canonical(o.model_path).string();
  s.base_bytes = fs::file_size(o.model_path);
  s.data_hash = hash_file(o.data_path);
  s.learning_rate = o.learning_rate;
  s.lr_min = o.lr_min;
  s.decay_epochs = o.lr_min > 0 ? (o.decay_epochs > 0 ? o.decay_epochs : o.epochs) : 0;
  s.weight_decay = o.weight_decay;
  s.val_split = o.val_split;
  s.context = o.context;
  s.batch = batch;
  s.pack = o.pack;
  s.seed = o.seed;
  return s;
}

// Where training starts: a fresh run from the base model, or a resumed one from the output.
struct Start {
  bool resume = false;
  std::string load_from;
  std::vector<EpochStats> history;
};

Start plan_start(const FinetuneOptions& o, Settings& now, const std::string& state_path) {
  const bool have_out = fs::exists(o.out_path);
  const bool have_state = fs::exists(state_path);
  if (o.restart) return {false, o.model_path, {}};
  if (!have_state) {
    if (have_out) {
      throw FinetuneError(o.out_path + ": exists but has no fine-tuning state (" + state_path +
                          "); pass --restart to overwrite it");
    }
    return {false, o.model_path, {}};
  }
  State saved = read_state(state_path);
  // An unspecified decay length is the first run's epochs, so asking for more epochs later keeps
  // the schedule the finished epochs followed.
  if (o.decay_epochs == 0 && o.lr_min > 0) now.decay_epochs = saved.settings.decay_epochs;
  std::vector<std::string> diffs = differences(saved.settings, now);
  if (!diffs.empty()) {
    std::string text;
    for (const auto& d : diffs) text += "\n  " + d;
    throw FinetuneError(state_path + ": the run it records differs from this one:" + text +
                        "\npass --restart to start over");
  }
  if (!have_out) {
    throw FinetuneError(state_path + ": records " + std::to_string(saved.history.size()) +
                        " epochs but " + o.out_path + " is missing; pass --restart to start over");
  }
  const int recorded = epochs_recorded_in(o.out_path);
  if (recorded != static_cast<int>(saved.history.size())) {
    throw FinetuneError(o.out_path + ": holds " + std::to_string(recorded) +
                        " epochs but its state says " + std::to_string(saved.history.size()) +
                        " (interrupted between the two writes?); pass --restart to start over");
  }
  return {true, o.out_path, std::move(saved.history)};
}

// ---------------------------------------------------------------------------------------------
// Model, context, tokens

struct ModelDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextDeleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
struct DatasetDeleter {
  void operator()(ggml_opt_dataset* d) const { ggml_opt_dataset_free(d); }
};
struct ResultDeleter {
  void operator()(ggml_opt_result* r) const { ggml_opt_result_free(r); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;
using DatasetPtr = std::unique_ptr<ggml_opt_dataset, DatasetDeleter>;
using ResultPtr = std::unique_ptr<ggml_opt_result, ResultDeleter>;

ModelPtr load_model(const std::string& path) {
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = 0;
  params.load_mode = LLAMA_LOAD_MODE_NONE;  // training writes the weights: no read-only mmap
  params.use_extra_bufts = false;           // keep the weights in plain, trainable CPU buffers
  ModelPtr model(llama_model_load_from_file(path.c_str(), params));
  if (!model) throw FinetuneError(path + ": llama.cpp could not load the model");
  return model;
}

// llama.cpp rounds a context up to a multiple of 256; the training window can be shorter (see
// start_training), so the context is only the KV cache the windows run in.
ContextPtr make_context(llama_model* model, const FinetuneOptions& o, int batch) {
  llama_context_params params = llama_context_default_params();
  params.n_ctx = static_cast<std::uint32_t>(o.context);
  params.n_batch = static_cast<std::uint32_t>(batch);
  params.n_ubatch = static_cast<std::uint32_t>(batch);
  params.n_seq_max = 1;
  const int threads = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  params.n_threads = threads;
  params.n_threads_batch = threads;
  // The backward pass has no F16 OUT_PROD and no flash-attention gradient.
  params.type_k = GGML_TYPE_F32;
  params.type_v = GGML_TYPE_F32;
  params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  params.no_perf = true;
  ContextPtr ctx(llama_init_from_model(model, params));
  if (!ctx) throw FinetuneError("llama.cpp could not create a training context (out of memory?)");
  if (llama_n_ctx(ctx.get()) < static_cast<std::uint32_t>(o.context)) {
    throw FinetuneError("llama.cpp made a context of " + std::to_string(llama_n_ctx(ctx.get())) +
                        " tokens, short of " + std::to_string(o.context));
  }
  return ctx;
}

using Tokens = std::vector<llama_token>;

llama_token end_of_turn(const llama_vocab* vocab) {
  llama_token t = llama_vocab_eot(vocab);
  return t != LLAMA_TOKEN_NULL ? t : llama_vocab_eos(vocab);
}

// Padding fills the end of a window. Its positions are trained like any other (see pack()), so
// a token the model stops at anyway keeps them harmless.
llama_token padding(const llama_vocab* vocab) {
  for (llama_token t : {llama_vocab_pad(vocab), llama_vocab_eos(vocab), end_of_turn(vocab)}) {
    if (t != LLAMA_TOKEN_NULL) return t;
  }
  return 0;
}

// The prompt exactly as the engine sees it at inference (the template with the generation
// prompt, tokenised on its own), then the answer as the template closes it (end-of-turn
// included), so the model learns both what to say and where to stop.
Tokens example_tokens(const common_chat_templates* templates, const llama_vocab* vocab,
                      const Example& ex, const std::string& at) {
  std::string prompt;
  std::string full;
  try {
    common_chat_templates_inputs inputs;
    inputs.use_jinja = true;
    inputs.messages = common_chat_msgs_parse_oaicompat(common_json::parse(ex.prompt_messages));
    inputs.add_generation_prompt = true;
    prompt = common_chat_templates_apply(templates, inputs).prompt;
    common_chat_msg answer;
    answer.role = "assistant";
    answer.content = ex.answer;
    inputs.messages.push_back(answer);
    inputs.add_generation_prompt = false;
    full = common_chat_templates_apply(templates, inputs).prompt;
  } catch (const std::exception& e) {
    throw FinetuneError(at + "the model's chat template rejected the example: " + e.what());
  }
  // Templates that rewrite earlier turns (e.g. dropping past reasoning) do not extend the prompt;
  // then the answer is closed with the end-of-turn token directly.
  const bool extends = full.size() > prompt.size() && full.compare(0, prompt.size(), prompt) == 0;
  Tokens tokens = common_tokenize(vocab, prompt, /*add_special=*/true, /*parse_special=*/true);
  Tokens answer = common_tokenize(vocab, extends ? full.substr(prompt.size()) : ex.answer,
                                  /*add_special=*/false, /*parse_special=*/true);
  const bool stops = std::any_of(answer.begin(), answer.end(),
                                 [&](llama_token t) { return llama_vocab_is_eog(vocab, t); });
  if (!stops) answer.push_back(end_of_turn(vocab));
  tokens.insert(tokens.end(), answer.begin(), answer.end());
  return tokens;
}

// Deterministic on every platform (std::shuffle's algorithm is not specified).
void shuffle(std::vector<std::size_t>& v, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

struct Split {
  std::vector<std::size_t> train;
  std::vector<std::size_t> val;
};

Split split_examples(std::size_t n, double val_split, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  shuffle(order, seed);
  std::size_t n_val = 0;
  if (val_split > 0 && n >= 2) {
    n_val = static_cast<std::size_t>(std::lround(static_cast<double>(n) * val_split));
    n_val = std::clamp<std::size_t>(n_val, 1, n - 1);
  }
  Split s;
  s.val.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_val));
  s.train.assign(order.begin() + static_cast<std::ptrdiff_t>(n_val), order.end());
  std::sort(s.val.begin(), s.val.end());
  std::sort(s.train.begin(), s.train.end());
  return s;
}

// Windows of context + 1 tokens (a window's inputs are its first `context` tokens, its labels
// the same shifted by one), each holding one example from position 0, as inference sees it; or,
// packing, as many whole examples as fit (first fit). The rest is padding.
//
// llama_opt_epoch takes labels as token ids and turns each into a one-hot target, so there is
// no way to exclude positions from the loss: the prompt tokens and the padding are trained too,
// not only the answers, and the loss figures include them.
std::vector<Tokens> make_windows(const std::vector<const Tokens*>& examples, int context, bool pack,
                                 llama_token pad) {
  const std::size_t capacity = static_cast<std::size_t>(context) + 1;
  std::vector<Tokens> windows;
  for (const Tokens* ex : examples) {
    auto fits = [&](const Tokens& w) { return pack && w.size() + ex->size() <= capacity; };
    auto it = std::find_if(windows.begin(), windows.end(), fits);
    if (it == windows.end()) {
      windows.emplace_back();
      it = windows.end() - 1;
    }
    it->insert(it->end(), ex->begin(), ex->end());
  }
  for (auto& w : windows) w.resize(capacity, pad);
  return windows;
}

// llama_opt_epoch reads datapoints of the context's full (rounded-up) size but trains only the
// first n_ctx_train tokens of each, the window; the tail is filler it never looks at.
DatasetPtr make_dataset(const std::vector<Tokens>& train, const std::vector<Tokens>& val,
                        int window, std::uint32_t datapoint) {
  const auto n = static_cast<std::int64_t>(train.size() + val.size());
  DatasetPtr ds(ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, datapoint, datapoint, n,
                                      /*ndata_shard=*/1));
  auto* data = static_cast<llama_token*>(ggml_opt_dataset_data(ds.get())->data);
  auto* labels = static_cast<llama_token*>(ggml_opt_dataset_labels(ds.get())->data);
  const auto size = static_cast<std::size_t>(datapoint);
  const auto used = static_cast<std::size_t>(window);
  std::size_t i = 0;
  for (const auto* part : {&train, &val}) {
    for (const auto& w : *part) {
      llama_token* d = data + i * size;
      llama_token* l = labels + i * size;
      std::memcpy(d, w.data(), used * sizeof(llama_token));
      std::memcpy(l, w.data() + 1, used * sizeof(llama_token));
      std::fill(d + used, d + size, w.back());
      std::fill(l + used, l + size, w.back());
      ++i;
    }
  }
  return ds;
}

// ---------------------------------------------------------------------------------------------
// Training

// The learning-rate schedule, asked by ggml before every optimizer step. It depends only on the
// epoch and the step within it, so a resumed run continues the schedule exactly.
struct Optimizer {
  double learning_rate = 0;
  double lr_min = 0;        // 0: constant
  double decay_epochs = 0;  // epochs to fall from learning_rate to lr_min
  double weight_decay = 0;
  int epoch = 1;
  std::int64_t step = 0;   // optimizer steps done in this epoch
  std::int64_t steps = 1;  // optimizer steps per epoch

  double rate() const {
    if (lr_min <= 0 || decay_epochs <= 0) return learning_rate;
    const double t = (epoch - 1) + static_cast<double>(step) / static_cast<double>(steps);
    if (t >= decay_epochs) return lr_min;
    return learning_rate * std::pow(lr_min / learning_rate, t / decay_epochs);
  }
};

ggml_opt_optimizer_params optimizer_params(void* userdata) {
  auto* o = static_cast<Optimizer*>(userdata);
  ggml_opt_optimizer_params p = ggml_opt_get_default_optimizer_params(nullptr);
  p.adamw.alpha = static_cast<float>(o->rate());
  p.adamw.wd = static_cast<float>(o->weight_decay);
  ++o->step;
  return p;
}

// ggml's epoch callback is a plain function without user data: the running epoch is reached
// through this thread's pointer (training runs on the caller's thread).
struct EpochReporter {
  const FinetuneListener* listener = nullptr;
  int epoch = 0;
  int epochs = 0;
  // ggml counts ubatches as if whole datapoints were trained (per_datapoint each); only the
  // window's per_window are.
  std::int64_t per_datapoint = 1;
  std::int64_t per_window = 1;
  std::exception_ptr error;  // a throwing listener must not unwind through C code
};
thread_local EpochReporter* current_reporter = nullptr;

void on_batch(bool train, ggml_opt_context_t, ggml_opt_dataset_t, ggml_opt_result_t result,
              std::int64_t ibatch, std::int64_t ibatch_max, std::int64_t t_start_us) {
  EpochReporter* r = current_reporter;
  if (r == nullptr || !r->listener->step || r->error) return;
  StepProgress p;
  p.epoch = r->epoch;
  p.epochs = r->epochs;
  p.training = train;
  p.step = (ibatch - 1) / r->per_datapoint * r->per_window + (ibatch - 1) % r->per_datapoint + 1;
  p.steps = ibatch_max / r->per_datapoint * r->per_window;
  ggml_opt_result_loss(result, &p.loss, nullptr);
  p.elapsed_seconds = static_cast<double>(ggml_time_us() - t_start_us) / 1e6;
  try {
    r->listener->step(p);
  } catch (...) {
    r->error = std::current_exception();
  }
}

void say(const std::function<void(const std::string&)>& to, const std::string& text) {
  if (to) to(text);
}

// Everything a run needs once the model is loaded.
struct Corpus {
  std::vector<Tokens> examples;  // fitting examples, in file order
  Split split;                   // indices into `examples`
  std::vector<Tokens> val_windows;
  std::int64_t train_tokens = 0;
  int skipped = 0;
};

Corpus prepare(const std::vector<Example>& raw, const FinetuneOptions& o, llama_model* model,
               const FinetuneListener& listener) {
  const llama_vocab* vocab = llama_model_get_vocab(model);
  common_chat_templates_ptr templates = common_chat_templates_init(model, "");
  Corpus c;
  std::string first_skipped;
  for (const auto& ex : raw) {
    Tokens t = example_tokens(templates.get(), vocab, ex, at_line(o.data_path, ex.line));
    if (t.size() > static_cast<std::size_t>(o.context)) {
      if (c.skipped++ == 0) {
        first_skipped = "line " + std::to_string(ex.line) + ": " + std::to_string(t.size());
      }
      continue;
    }
    c.examples.push_back(std::move(t));
  }
  if (c.examples.empty()) {
    throw FinetuneError(o.data_path + ": no example fits the " + std::to_string(o.context) +
                        "-token context (" + first_skipped + " tokens); raise --ctx");
  }
  if (c.skipped > 0) {
    say(listener.warning, std::to_string(c.skipped) + " example(s) longer than the " +
                              std::to_string(o.context) +
                              "-token context skipped (first: " + first_skipped + " tokens)");
  }
  c.split = split_examples(c.examples.size(), o.val_split, o.seed);
  std::vector<const Tokens*> val;
  for (std::size_t i : c.split.val) val.push_back(&c.examples[i]);
  c.val_windows = make_windows(val, o.context, o.pack, padding(vocab));
  for (std::size_t i : c.split.train)
    c.train_tokens += static_cast<std::int64_t>(c.examples[i].size());
  return c;
}

// This epoch's training windows: the training examples in a seeded order of their own, so a
// resumed run sees exactly the order an uninterrupted one would have.
std::vector<Tokens> train_windows(const Corpus& c, const FinetuneOptions& o, int epoch,
                                  llama_token pad) {
  std::vector<std::size_t> order = c.split.train;
  shuffle(order, o.seed * 1000003ull + static_cast<std::uint64_t>(epoch));
  std::vector<const Tokens*> examples;
  for (std::size_t i : order) examples.push_back(&c.examples[i]);
  return make_windows(examples, o.context, o.pack, pad);
}

EpochStats run_epoch(llama_context* ctx, const Corpus& c, const FinetuneOptions& o, int epoch,
                     Optimizer& optimizer, const FinetuneListener& listener,
                     int* train_window_count) {
  const llama_token pad = padding(llama_model_get_vocab(llama_get_model(ctx)));
  std::vector<Tokens> train = train_windows(c, o, epoch, pad);
  *train_window_count = static_cast<int>(train.size());
  optimizer.epoch = epoch;
  optimizer.step = 0;
  // One optimizer step per physical batch: the context's n_batch equals its n_ubatch.
  const std::int64_t per_window = o.context / static_cast<int>(llama_n_ubatch(ctx));
  optimizer.steps = static_cast<std::int64_t>(train.size()) * per_window;
  DatasetPtr ds = make_dataset(train, c.val_windows, o.context, llama_n_ctx(ctx));
  ResultPtr train_result(ggml_opt_result_init());
  ResultPtr val_result(ggml_opt_result_init());

  EpochReporter reporter;
  reporter.listener = &listener;
  reporter.epoch = epoch;
  reporter.epochs = o.epochs;
  reporter.per_datapoint = llama_n_ctx(ctx) / llama_n_ubatch(ctx);
  reporter.per_window = per_window;
  current_reporter = &reporter;
  struct Unset {
    ~Unset() { current_reporter = nullptr; }
  } unset;  // also when llama.cpp throws
  const auto started = std::chrono::steady_clock::now();
  llama_opt_epoch(ctx, ds.get(), train_result.get(), val_result.get(),
                  static_cast<std::int64_t>(train.size()), on_batch, on_batch);
  if (reporter.error) std::rethrow_exception(reporter.error);

  EpochStats s;
  s.epoch = epoch;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ggml_opt_result_loss(train_result.get(), &s.train_loss, nullptr);
  ggml_opt_result_accuracy(train_result.get(), &s.train_accuracy, nullptr);
  if (!c.val_windows.empty()) {
    double loss = 0;
    double accuracy = 0;
    ggml_opt_result_loss(val_result.get(), &loss, nullptr);
    ggml_opt_result_accuracy(val_result.get(), &accuracy, nullptr);
    s.val_loss = loss;
    s.val_accuracy = accuracy;
  }
  if (!std::isfinite(s.train_loss)) {
    throw FinetuneError("epoch " + std::to_string(epoch) +
                        ": the training loss is not finite (diverged); lower --lr");
  }
  return s;
}

// The model, then its state: both by temp file and rename, so an interrupted run leaves the
// previous epoch's pair intact (the epoch count inside the model tells a torn pair apart).
void save_checkpoint(llama_model* model, const std::string& metadata_source,
                     const FinetuneOptions& o, const State& state) {
  const std::string raw = temp_name(o.out_path, "raw");
  const std::string tmp = temp_name(o.out_path, "tmp");
  llama_model_save_to_file(model, raw.c_str());
  if (!fs::exists(raw)) throw FinetuneError(o.out_path + ": llama.cpp could not save the model");
  try {
    write_with_metadata(raw, metadata_source, tmp, static_cast<int>(state.history.size()),
                        state.settings.base_model);
  } catch (...) {
    std::error_code ec;
    fs::remove(raw, ec);
    fs::remove(tmp, ec);
    throw;
  }
  fs::remove(raw);
  replace_file(tmp, o.out_path);
  write_text_atomically(finetune_state_path(o.out_path), state_json(state, o.data_path));
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

std::string plan_text(const FinetuneOptions& o, const Start& start, std::size_t done,
                      const FinetuneResult& r, int batch) {
  const std::string what = start.resume
                               ? "resuming " + o.out_path + " after epoch " + std::to_string(done)
                               : "fine-tuning " + o.model_path;
  return what + ": " + std::to_string(r.train_examples) + " training and " +
         std::to_string(r.val_examples) + " validation example(s), " +
         std::to_string(r.train_tokens) + " training tokens, context " + std::to_string(o.context) +
         ", batch " + std::to_string(batch) + ", lr " + number(o.learning_rate);
}

Optimizer make_optimizer(const FinetuneOptions& o, const Settings& settings) {
  Optimizer optimizer;
  optimizer.learning_rate = o.learning_rate;
  optimizer.lr_min = o.lr_min;
  optimizer.decay_epochs = static_cast<double>(settings.decay_epochs);
  optimizer.weight_decay = o.weight_decay;
  return optimizer;
}

// ggml keeps a pointer to `optimizer` and asks it for the rate before every optimizer step.
void start_training(llama_context* ctx, llama_model* model, const FinetuneOptions& o,
                    Optimizer& optimizer) {
  llama_opt_params params{};
  // The window: llama_opt_epoch trains the first n_ctx_train tokens of each datapoint. (It also
  // becomes the model's context length in memory; write_with_metadata restores the file's.)
  params.n_ctx_train = static_cast<std::uint32_t>(o.context);
  params.param_filter = llama_opt_param_filter_all;
  params.param_filter_ud = nullptr;
  params.get_opt_pars = optimizer_params;
  params.get_opt_pars_ud = &optimizer;
  params.optimizer_type = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
  // AdamW's moments live inside the context and llama.cpp cannot save them, so a resumed run
  // starts them afresh; the weights carry over exactly.
  llama_opt_init(ctx, model, params);
}

}  // namespace

std::string finetune_state_path(const std::string& out_path) {
  return out_path + ".state.json";
}

FinetuneResult finetune(const FinetuneOptions& o, const FinetuneListener& listener) {
  check_options(o);
  ensure_backend();
  if (!fs::is_regular_file(o.data_path)) throw FinetuneError(o.data_path + ": no such data file");
  check_trainable(o.model_path);
  const std::vector<Example> raw = load_examples(o.data_path);
  const int batch = o.batch > 0 ? o.batch : o.context;

  FinetuneResult result;
  result.out_path = o.out_path;
  result.state_path = finetune_state_path(o.out_path);
  State state;
  state.settings = settings_for(o, batch);
  Start start = plan_start(o, state.settings, result.state_path);
  state.history = std::move(start.history);
  result.resumed = start.resume;
  result.history = state.history;
  result.first_epoch = static_cast<int>(state.history.size()) + 1;
  if (static_cast<int>(state.history.size()) >= o.epochs) {
    say(listener.info, o.out_path + " already has " + std::to_string(state.history.size()) +
                           " epoch(s); nothing to do (raise --epochs, or --restart)");
    return result;
  }

  ModelPtr model = load_model(start.load_from);
  ContextPtr ctx = make_context(model.get(), o, batch);
  Corpus corpus = prepare(raw, o, model.get(), listener);
  result.train_examples = static_cast<int>(corpus.split.train.size());
  result.val_examples = static_cast<int>(corpus.split.val.size());
  result.skipped_examples = corpus.skipped;
  result.val_windows = static_cast<int>(corpus.val_windows.size());
  result.train_tokens = corpus.train_tokens;
  say(listener.info, plan_text(o, start, state.history.size(), result, batch));

  Optimizer optimizer = make_optimizer(o, state.settings);
  start_training(ctx.get(), model.get(), o, optimizer);

  for (int epoch = result.first_epoch; epoch <= o.epochs; ++epoch) {
    EpochStats stats =
        run_epoch(ctx.get(), corpus, o, epoch, optimizer, listener, &result.train_windows);
    state.history.push_back(stats);
    save_checkpoint(model.get(), start.load_from, o, state);
    result.history = state.history;
    ++result.epochs_run;
    if (listener.epoch) listener.epoch(stats);
  }
  say(listener.info, "saved " + o.out_path + " (" + std::to_string(state.history.size()) +
                         " epoch(s)) and " + result.state_path);
  return result;
}

}  // namespace tandem::llm
