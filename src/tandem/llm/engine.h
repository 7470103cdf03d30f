#pragma once
// One local GGUF model and the scheduler thread that owns it. Requests are tokenised by the
// caller and queued as typed tasks; the scheduler admits them into free sequence slots and
// decodes every active sequence in one llama_decode per step (continuous batching): a request
// that arrives while others generate joins the running batch at the next step. A slot keeps its
// last sequence in the KV cache, and a new request goes to the slot sharing the longest prompt
// prefix, whose cached part is not computed again.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tandem/llm/generation.h"
#include "tandem/llm/thought_counter.h"

struct llama_model;
struct llama_context;
struct llama_vocab;
struct llama_adapter_lora;
struct common_chat_templates;
struct common_params_sampling;
struct llama_batch;

namespace tandem::llm {

struct LoraConfig {
  std::string name;
  std::string path;
  float scale = 1.0f;
};

struct EngineConfig {
  std::string name;    // for logs
  std::string path;    // the GGUF file
  int context = 4096;  // tokens per sequence (prompt + completion)
  int parallel = 4;    // sequences decoded together
  int threads = 0;     // 0: all cores
  int batch = 512;     // most tokens per llama_decode (prompt chunks are split to fit)
  int gpu_layers = 0;  // layers offloaded to a GPU backend, where the build has one
  bool embeddings = false;
  std::vector<LoraConfig> loras;
  // An idle engine's wait for a burst of requests before its first step (llm/start_window.h).
  double start_gap_ms = 10;
  double start_max_ms = 40;
};

// A model file that cannot be used: missing, not GGUF, or rejected by llama.cpp.
class EngineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GenerationRequest {
  std::vector<std::int32_t> prompt;  // tokens
  int max_tokens = -1;               // -1: until the context is full
  std::vector<std::string> stop;
  int lora = -1;                                     // index into EngineConfig::loras, -1 for none
  std::shared_ptr<common_params_sampling> sampling;  // llama.cpp wants it mutable
  // OpenAI's logprobs: each generated token's logprob and its `top_logprobs` (0..20) most likely
  // alternatives, as llm/logprobs.h defines them. Off: nothing is computed.
  bool logprobs = false;
  int top_logprobs = 0;
  // llama-server's and vLLM's ignore_eos: end-of-generation tokens are never picked (their
  // logits are -inf before sampling, so logprobs say so too), and generation runs to max_tokens,
  // a stop string or the context's end. For benchmarks that need a fixed number of tokens.
  bool ignore_eos = false;
  // A reasoning template's thinking tags: the reply's thought is counted in tokens
  // (GenerationEnd::reasoning_tokens). Empty: nothing is counted.
  ThoughtTags thought;
};

// Embeddings of several inputs, pooled as the model declares and L2-normalised.
class EmbeddingJob {
 public:
  std::vector<std::vector<std::int32_t>> inputs;
  // Filled by the scheduler, then `done` is set and the waker called.
  std::vector<std::vector<float>> vectors;
  std::string error;
  int prompt_tokens = 0;
  double compute_seconds = 0;

  void set_waker(std::function<void()> waker);
  bool done() const;
  void complete();  // scheduler side

 private:
  mutable std::mutex mutex_;
  bool done_ = false;
  std::function<void()> waker_;
};

struct EngineStats {
  std::uint64_t decode_calls = 0;
  std::uint64_t prompt_tokens_decoded = 0;  // after prefix reuse
  std::uint64_t prompt_tokens_cached = 0;
  std::uint64_t generated_tokens = 0;
  std::uint64_t greedy_tokens = 0;  // of those, picked as the logits' argmax (see plain_greedy)
  int max_batch_sequences = 0;      // most sequences seen together in one decode
  int max_start_sequences = 0;      // most sequences an idle engine started with in one step
  int active_sequences = 0;         // now
  int queued_requests = 0;          // now: waiting for a free sequence slot
};

class Engine {
 public:
  explicit Engine(EngineConfig config);  // throws EngineError naming the file
  ~Engine();                             // ends pending work with an error, joins the thread
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const EngineConfig& config() const { return config_; }
  const llama_model* model() const { return model_; }
  const llama_vocab* vocab() const;
  const common_chat_templates* chat_templates() const { return templates_; }
  int n_vocab() const;
  int lora_index(std::string_view name) const;

  std::vector<std::int32_t> tokenize(std::string_view text, bool add_special,
                                     bool parse_special) const;
  // A token's text. A control token (a template's special marker) has none unless `special`.
  std::string token_text(std::int32_t token, bool special = false) const;

  std::shared_ptr<Generation> generate(GenerationRequest request);
  std::shared_ptr<EmbeddingJob> embed(std::vector<std::vector<std::int32_t>> inputs);

  EngineStats stats() const;

 private:
  struct Slot;
  struct Pending {
    GenerationRequest request;
    std::shared_ptr<Generation> generation;
  };

  void run();
  void wait_for_burst(std::unique_lock<std::mutex>& lock);
  void admit(std::deque<Pending>& incoming);
  bool step();
  void run_embeddings(EmbeddingJob& job);
  void finish_slot(Slot& slot, std::string reason, std::string error = {});
  void emit(Slot& slot, bool final_flush);
  TokenLogprob score(const Slot& slot, std::int32_t token);
  std::string piece(const Slot& slot, std::int32_t token) const;
  static void collect_logprobs(Slot& slot, std::size_t visible, bool cut);

  EngineConfig config_;
  llama_model* model_ = nullptr;
  llama_context* ctx_ = nullptr;
  common_chat_templates* templates_ = nullptr;
  std::vector<llama_adapter_lora*> adapters_;
  int active_lora_ = -2;  // what the context has set; -2: not set yet
  std::uint64_t admissions_ = 0;
  std::uint64_t lora_turn_ = 0;
  double seconds_per_prompt_token_ = 0;   // measured on steps that decode prompts; 0: not yet
  std::vector<std::int32_t> eog_tokens_;  // the vocabulary's end-of-generation tokens

  std::vector<std::unique_ptr<Slot>> slots_;
  std::unique_ptr<llama_batch> batch_;  // reused by every step
  std::unique_ptr<LogprobScratch> logprob_scratch_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  std::deque<std::shared_ptr<EmbeddingJob>> embed_queue_;
  bool stopping_ = false;
  EngineStats stats_;
  std::thread thread_;
};

}  // namespace tandem::llm
