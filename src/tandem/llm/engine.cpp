#include "tandem/llm/engine.h"

#include <chat.h>
#include <llama.h>
#include <sampling.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "tandem/llm/backend.h"
#include "tandem/llm/start_window.h"
#include "tandem/llm/utf8.h"
#include "tandem/log/logger.h"

namespace tandem::llm {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Length of the longest suffix of `text` that is a proper prefix of some stop string: that much
// text may still turn into a stop and is held back.
std::size_t stop_prefix_tail(std::string_view text, const std::vector<std::string>& stops) {
  std::size_t best = 0;
  for (const auto& stop : stops) {
    for (std::size_t n = std::min(stop.size() - 1, text.size()); n > best; --n) {
      if (text.substr(text.size() - n) == std::string_view(stop).substr(0, n)) {
        best = n;
        break;
      }
    }
  }
  return best;
}

void check_gguf_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw EngineError(path + ": no such model file");
  }
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  if (!in || std::string_view(magic, 4) != "GGUF") {
    throw EngineError(path + ": not a GGUF file (bad magic)");
  }
}

// True when llama.cpp's sampler chain (common/sampling.cpp) can only return the argmax of the
// logits: temperature 0 (its temperature step keeps the first highest logit alone) and nothing
// before it that changes a logit (biases, suppressed tokens, penalties, DRY, a grammar, a
// reasoning budget) or may drop the best token (typical-p, XTC, mirostat, adaptive-p); top-k,
// top-p, min-p and top-n-sigma always keep it. The chain costs a copy of every logit into a
// candidate array and a softmax over the whole vocabulary per token, on the thread that owns the
// model while the compute threads wait, so with several sequences it is worth skipping.
bool plain_greedy(const common_params_sampling& s, const llama_vocab* vocab) {
  std::int32_t suppressed = 0;
  llama_vocab_get_suppress_tokens(vocab, &suppressed);
  bool adaptive = std::find(s.samplers.begin(), s.samplers.end(), COMMON_SAMPLER_TYPE_ADAPTIVE_P) !=
                  s.samplers.end();
  // The budget sampler exists only with a budget (or a lazy grammar, excluded above): a reasoning
  // template's tags alone leave greedy decoding as it is.
  bool budget = !s.reasoning_budget_start.empty() && !s.reasoning_budget_end.empty() &&
                (s.reasoning_budget_tokens >= 0 || s.reasoning_control);
  return s.temp <= 0 && s.dynatemp_range <= 0 && s.mirostat == 0 && !adaptive &&
         common_grammar_value(s.grammar).empty() && !s.grammar_lazy && !budget &&
         s.logit_bias.empty() && suppressed == 0 && s.penalty_repeat == 1 && s.penalty_freq == 0 &&
         s.penalty_present == 0 && s.dry_multiplier <= 0 && s.typ_p >= 1 && s.xtc_probability <= 0;
}

// The first highest logit, as the chain's temperature-0 step picks it.
llama_token argmax(const float* logits, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<llama_token>(best);
}

}  // namespace

struct Engine::Slot {
  int id = 0;
  bool busy = false;
  std::vector<llama_token> cache;  // the tokens this sequence holds in the KV cache, in order
  int cache_lora = -1;             // the adapter those KV entries were computed with

  GenerationRequest request;
  std::shared_ptr<Generation> generation;
  common_sampler* sampler = nullptr;
  std::size_t prompt_done = 0;  // prompt tokens in the KV cache
  bool has_next = false;        // a sampled token waits to be decoded
  llama_token next = 0;
  int generated = 0;
  int cached_tokens = 0;
  std::string text;      // generated text
  std::size_t sent = 0;  // bytes of `text` already pushed
  double compute_seconds = 0;
  int batch_index = -1;  // where this slot's logits sit in the current batch
  int batch_tokens = 0;
  std::uint64_t admitted_at = 0;
  bool greedy = false;  // plain_greedy: the next token is the logits' argmax
  ThoughtCounter thought;

  // Logprobs, when the request asked for them: the grammar at the current position (the
  // sampler's own copy is not reachable), and the entries of tokens whose text is not pushed yet,
  // with the bytes of `text` each produced.
  std::unique_ptr<GrammarTracker> grammar;
  struct PendingLogprob {
    std::size_t begin = 0, end = 0;
    TokenLogprob entry;
  };
  std::deque<PendingLogprob> pending_logprobs;
  std::vector<TokenLogprob> ready_logprobs;  // what the next push carries
};

void EmbeddingJob::set_waker(std::function<void()> waker) {
  std::unique_lock lock(mutex_);
  waker_ = std::move(waker);
  if (done_) {
    auto w = waker_;
    lock.unlock();
    if (w) w();
  }
}

bool EmbeddingJob::done() const {
  std::lock_guard lock(mutex_);
  return done_;
}

void EmbeddingJob::complete() {
  std::unique_lock lock(mutex_);
  done_ = true;
  auto w = waker_;
  lock.unlock();
  if (w) w();
}

Engine::Engine(EngineConfig config) : config_(std::move(config)) {
  ensure_backend();
  check_gguf_file(config_.path);
  llama_model_params mparams = llama_model_default_params();
  mparams.n_gpu_layers = config_.gpu_layers;
  model_ = llama_model_load_from_file(config_.path.c_str(), mparams);
  if (model_ == nullptr) {
    throw EngineError(config_.path +
                      ": llama.cpp could not load the model (corrupt, truncated or an unsupported "
                      "architecture; its log says more)");
  }
  for (const auto& lora : config_.loras) {
    check_gguf_file(lora.path);
    llama_adapter_lora* adapter = llama_adapter_lora_init(model_, lora.path.c_str());
    if (adapter == nullptr) {
      llama_model_free(model_);
      throw EngineError(lora.path + ": llama.cpp could not load the LoRA adapter '" + lora.name +
                        "' for " + config_.path + " (wrong base model or not a LoRA GGUF)");
    }
    adapters_.push_back(adapter);
  }
  int threads =
      config_.threads > 0 ? config_.threads : static_cast<int>(std::thread::hardware_concurrency());
  llama_context_params cparams = llama_context_default_params();
  cparams.n_ctx = static_cast<std::uint32_t>(config_.context * config_.parallel);
  cparams.n_seq_max = static_cast<std::uint32_t>(config_.parallel);
  cparams.n_batch = static_cast<std::uint32_t>(config_.batch);
  // Pooled embeddings need each sequence whole in one micro-batch.
  cparams.n_ubatch =
      static_cast<std::uint32_t>(config_.embeddings ? config_.batch : std::min(config_.batch, 512));
  cparams.n_threads = threads;
  cparams.n_threads_batch = threads;
  cparams.embeddings = config_.embeddings;
  cparams.kv_unified = false;  // each sequence owns `context` cells: no request starves another
  cparams.no_perf = true;
  ctx_ = llama_init_from_model(model_, cparams);
  if (ctx_ == nullptr) {
    llama_model_free(model_);
    throw EngineError(config_.path + ": llama.cpp could not create a context of " +
                      std::to_string(cparams.n_ctx) + " tokens (out of memory?)");
  }
  if (config_.embeddings && llama_pooling_type(ctx_) == LLAMA_POOLING_TYPE_NONE) {
    llama_free(ctx_);
    llama_model_free(model_);
    throw EngineError(config_.path +
                      ": the model declares no pooling, so it gives no sentence embeddings");
  }
  if (!config_.embeddings) {
    templates_ = common_chat_templates_init(model_, "").release();
  }
  for (llama_token t = 0; t < n_vocab(); ++t) {
    if (llama_vocab_is_eog(vocab(), t)) eog_tokens_.push_back(t);
  }
  batch_ = std::make_unique<llama_batch>(llama_batch_init(config_.batch, 0, 1));
  logprob_scratch_ = std::make_unique<LogprobScratch>();
  for (int i = 0; i < config_.parallel; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->id = i;
    slots_.push_back(std::move(slot));
  }
  log::info("local_model_loaded", {{"model", config_.name},
                                   {"path", config_.path},
                                   {"context", config_.context},
                                   {"parallel", config_.parallel},
                                   {"threads", threads},
                                   {"loras", static_cast<std::int64_t>(adapters_.size())}});
  thread_ = std::thread([this] { run(); });
}

Engine::~Engine() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& slot : slots_) {
    if (slot->sampler != nullptr) common_sampler_free(slot->sampler);
  }
  if (templates_ != nullptr) common_chat_templates_free(templates_);
  if (batch_) llama_batch_free(*batch_);
  if (ctx_ != nullptr) llama_free(ctx_);
  for (auto* adapter : adapters_) llama_adapter_lora_free(adapter);
  if (model_ != nullptr) llama_model_free(model_);
}

const llama_vocab* Engine::vocab() const {
  return llama_model_get_vocab(model_);
}

int Engine::n_vocab() const {
  return llama_vocab_n_tokens(vocab());
}

int Engine::lora_index(std::string_view name) const {
  for (std::size_t i = 0; i < config_.loras.size(); ++i) {
    if (config_.loras[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::int32_t> Engine::tokenize(std::string_view text, bool add_special,
                                           bool parse_special) const {
  std::vector<llama_token> tokens(text.size() + 8);
  int n =
      llama_tokenize(vocab(), text.data(), static_cast<std::int32_t>(text.size()), tokens.data(),
                     static_cast<std::int32_t>(tokens.size()), add_special, parse_special);
  if (n < 0) {
    tokens.resize(static_cast<std::size_t>(-n));
    n = llama_tokenize(vocab(), text.data(), static_cast<std::int32_t>(text.size()), tokens.data(),
                       static_cast<std::int32_t>(tokens.size()), add_special, parse_special);
  }
  tokens.resize(static_cast<std::size_t>(std::max(n, 0)));
  return tokens;
}

std::string Engine::token_text(std::int32_t token, bool special) const {
  char buf[256];
  int n = llama_token_to_piece(vocab(), token, buf, sizeof buf, 0, special);
  if (n < 0) {
    std::string big(static_cast<std::size_t>(-n), '\0');
    n = llama_token_to_piece(vocab(), token, big.data(), -n, 0, special);
    big.resize(static_cast<std::size_t>(std::max(n, 0)));
    return big;
  }
  return std::string(buf, static_cast<std::size_t>(n));
}

std::shared_ptr<Generation> Engine::generate(GenerationRequest request) {
  auto generation = std::make_shared<Generation>();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      generation->finish({"", "the local model is shutting down"});
      return generation;
    }
    queue_.push_back(Pending{std::move(request), generation});
  }
  wake_.notify_one();
  return generation;
}

std::shared_ptr<EmbeddingJob> Engine::embed(std::vector<std::vector<std::int32_t>> inputs) {
  auto job = std::make_shared<EmbeddingJob>();
  job->inputs = std::move(inputs);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      job->error = "the local model is shutting down";
      job->complete();
      return job;
    }
    embed_queue_.push_back(job);
  }
  wake_.notify_one();
  return job;
}

EngineStats Engine::stats() const {
  std::lock_guard lock(mutex_);
  EngineStats s = stats_;
  s.queued_requests += static_cast<int>(queue_.size());
  return s;
}

void Engine::wait_for_burst(std::unique_lock<std::mutex>& lock) {
  auto first = std::chrono::steady_clock::now();
  auto last = first;
  while (!stopping_ && !queue_.empty() && queue_.size() < slots_.size()) {
    std::size_t tokens = 0;
    for (const auto& pending : queue_) tokens += pending.request.prompt.size();
    StartWindow window =
        start_window(tokens, seconds_per_prompt_token_, config_.start_gap_ms, config_.start_max_ms);
    auto until = std::min(first + window.budget, last + window.gap);
    std::size_t seen = queue_.size();
    if (!wake_.wait_until(lock, until, [&] { return stopping_ || queue_.size() > seen; })) return;
    last = std::chrono::steady_clock::now();
  }
}

void Engine::run() {
  std::deque<Pending> incoming;
  while (true) {
    bool busy = std::any_of(slots_.begin(), slots_.end(), [](auto& s) { return s->busy; });
    std::shared_ptr<EmbeddingJob> job;
    {
      std::unique_lock lock(mutex_);
      if (!busy) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !embed_queue_.empty(); });
        wait_for_burst(lock);
      }
      if (stopping_) break;
      while (!queue_.empty()) {
        incoming.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (!embed_queue_.empty()) {
        job = std::move(embed_queue_.front());
        embed_queue_.pop_front();
      }
    }
    if (job) {
      run_embeddings(*job);
      job->complete();
    }
    admit(incoming);
    if (!busy) {
      int started = static_cast<int>(
          std::count_if(slots_.begin(), slots_.end(), [](auto& s) { return s->busy; }));
      std::lock_guard lock(mutex_);
      stats_.max_start_sequences = std::max(stats_.max_start_sequences, started);
    }
    if (!incoming.empty()) {
      // No free slot: they wait, in order, ahead of later arrivals.
      std::lock_guard lock(mutex_);
      while (!incoming.empty()) {
        queue_.push_front(std::move(incoming.back()));
        incoming.pop_back();
      }
    }
    step();
  }
  // Shutdown: nothing in flight is left waiting.
  for (auto& slot : slots_) {
    if (slot->busy) finish_slot(*slot, "", "the local model is shutting down");
  }
  std::lock_guard lock(mutex_);
  for (auto& pending : queue_) {
    pending.generation->finish({"", "the local model is shutting down"});
  }
  for (auto& job : embed_queue_) {
    job->error = "the local model is shutting down";
    job->complete();
  }
  queue_.clear();
  embed_queue_.clear();
}

void Engine::admit(std::deque<Pending>& incoming) {
  llama_memory_t memory = llama_get_memory(ctx_);
  while (!incoming.empty()) {
    Pending& next = incoming.front();
    if (next.generation->cancelled()) {
      next.generation->finish({"", "cancelled"});
      incoming.pop_front();
      continue;
    }
    // The free slot whose cached tokens share the longest prefix with this prompt.
    Slot* best = nullptr;
    std::size_t best_prefix = 0;
    const auto& prompt = next.request.prompt;
    for (auto& slot : slots_) {
      if (slot->busy) continue;
      std::size_t n = 0;
      if (slot->cache_lora == next.request.lora) {
        std::size_t limit = std::min(slot->cache.size(), prompt.size());
        while (n < limit && slot->cache[n] == prompt[n]) ++n;
      }
      if (best == nullptr || n > best_prefix) {
        best = slot.get();
        best_prefix = n;
      }
    }
    if (best == nullptr) return;
    Slot& slot = *best;
    // At least the last prompt token is decoded again: its logits give the first sample.
    std::size_t keep = std::min(best_prefix, prompt.empty() ? 0 : prompt.size() - 1);
    if (!llama_memory_seq_rm(memory, slot.id, static_cast<llama_pos>(keep), -1)) {
      llama_memory_seq_rm(memory, slot.id, -1, -1);
      keep = 0;
    }
    slot.cache.resize(keep);
    slot.cache_lora = next.request.lora;
    slot.request = std::move(next.request);
    slot.generation = std::move(next.generation);
    incoming.pop_front();
    std::string sampler_error;
    slot.grammar.reset();
    slot.pending_logprobs.clear();
    slot.ready_logprobs.clear();
    try {
      // Throws for a grammar that does not parse, or one the generation prompt cannot enter.
      slot.sampler = common_sampler_init(model_, *slot.request.sampling);
      // Logprobs read the chain's candidates: those requests keep the whole chain.
      slot.greedy = plain_greedy(*slot.request.sampling, vocab()) && !slot.request.logprobs;
      if (slot.sampler != nullptr && slot.request.logprobs) {
        slot.grammar = GrammarTracker::make(vocab(), *slot.request.sampling);
      }
    } catch (const std::exception& e) {
      sampler_error = e.what();
      if (slot.sampler != nullptr) common_sampler_free(slot.sampler);
      slot.sampler = nullptr;
    }
    slot.prompt_done = keep;
    slot.cached_tokens = static_cast<int>(keep);
    slot.has_next = false;
    slot.generated = 0;
    slot.text.clear();
    slot.sent = 0;
    slot.compute_seconds = 0;
    slot.thought = ThoughtCounter(slot.request.thought);
    slot.admitted_at = ++admissions_;
    slot.busy = true;
    {
      std::lock_guard lock(mutex_);
      ++stats_.active_sequences;
    }
    if (slot.sampler == nullptr) {
      // llama.cpp rethrows a failed prefill as a bare std::exception, whose text says nothing.
      if (sampler_error == "std::exception") sampler_error.clear();
      finish_slot(slot, "",
                  "the sampler for this request could not be set up (its grammar does not compile, "
                  "or the template's generation prompt does not enter it)" +
                      (sampler_error.empty() ? "" : ": " + sampler_error));
      continue;
    }
    if (slot.request.prompt.empty()) {
      finish_slot(slot, "", "the prompt is empty");
      continue;
    }
    if (static_cast<int>(slot.request.prompt.size()) >= config_.context) {
      finish_slot(slot, "",
                  "the prompt has " + std::to_string(slot.request.prompt.size()) +
                      " tokens; the context holds " + std::to_string(config_.context));
      continue;
    }
    std::lock_guard lock(mutex_);
    stats_.prompt_tokens_cached += keep;
  }
}

bool Engine::step() {
  for (auto& slot : slots_) {
    if (slot->busy && slot->generation->cancelled()) finish_slot(*slot, "", "cancelled");
  }
  // LoRA adapters apply to the whole context, so one decode serves one adapter: when requests
  // with different adapters are active, the step alternates between them.
  std::vector<int> loras;
  for (auto& slot : slots_) {
    if (slot->busy) loras.push_back(slot->request.lora);
  }
  if (loras.empty()) return false;
  std::sort(loras.begin(), loras.end());
  loras.erase(std::unique(loras.begin(), loras.end()), loras.end());
  int lora = loras[lora_turn_++ % loras.size()];
  if (lora != active_lora_) {
    if (lora >= 0) {
      float scale = config_.loras[static_cast<std::size_t>(lora)].scale;
      llama_set_adapters_lora(ctx_, &adapters_[static_cast<std::size_t>(lora)], 1, &scale);
    } else {
      llama_set_adapters_lora(ctx_, nullptr, 0, nullptr);
    }
    active_lora_ = lora;
  }

  const int capacity = config_.batch;
  llama_batch& batch = *batch_;
  batch.n_tokens = 0;
  std::vector<Slot*> in_batch;
  // Sequences that are generating go first (one token each), then prompt chunks fill the rest.
  for (auto& slot : slots_) {
    slot->batch_index = -1;
    slot->batch_tokens = 0;
    if (!slot->busy || slot->request.lora != lora || !slot->has_next) continue;
    if (batch.n_tokens >= capacity) break;
    int i = batch.n_tokens++;
    batch.token[i] = slot->next;
    batch.pos[i] = static_cast<llama_pos>(slot->cache.size());
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = slot->id;
    batch.logits[i] = 1;
    slot->batch_index = i;
    slot->batch_tokens = 1;
    in_batch.push_back(slot.get());
  }
  std::vector<Slot*> prompting;
  for (auto& slot : slots_) {
    if (slot->busy && slot->request.lora == lora && !slot->has_next)
      prompting.push_back(slot.get());
  }
  std::sort(prompting.begin(), prompting.end(),
            [](Slot* a, Slot* b) { return a->admitted_at < b->admitted_at; });
  for (Slot* slot : prompting) {
    const auto& prompt = slot->request.prompt;
    while (slot->prompt_done < prompt.size() && batch.n_tokens < capacity) {
      int i = batch.n_tokens++;
      batch.token[i] = prompt[slot->prompt_done];
      batch.pos[i] = static_cast<llama_pos>(slot->prompt_done);
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = slot->id;
      ++slot->prompt_done;
      ++slot->batch_tokens;
      bool last = slot->prompt_done == prompt.size();
      batch.logits[i] = last ? 1 : 0;
      if (last) slot->batch_index = i;
    }
    if (slot->batch_tokens > 0) in_batch.push_back(slot);
  }
  if (batch.n_tokens == 0) return false;

  auto started = SteadyClock::now();
  int rc = llama_decode(ctx_, batch);
  double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  const int total_tokens = batch.n_tokens;
  {
    std::lock_guard lock(mutex_);
    ++stats_.decode_calls;
    stats_.max_batch_sequences =
        std::max(stats_.max_batch_sequences, static_cast<int>(in_batch.size()));
  }
  if (rc != 0) {
    llama_memory_t memory = llama_get_memory(ctx_);
    for (Slot* slot : in_batch) {
      llama_memory_seq_rm(memory, slot->id, static_cast<llama_pos>(slot->cache.size()), -1);
      finish_slot(*slot, "", "llama_decode failed (" + std::to_string(rc) + ")");
    }
    return true;
  }
  // Record what each sequence now holds in the cache, and its share of the compute time.
  for (int i = 0; i < total_tokens; ++i) {
    Slot& slot = *slots_[static_cast<std::size_t>(batch.seq_id[i][0])];
    slot.cache.push_back(batch.token[i]);
  }
  std::uint64_t prompt_decoded = 0, generated = 0, greedy = 0;
  for (Slot* slot : in_batch) {
    slot->compute_seconds += seconds * slot->batch_tokens / total_tokens;
    if (!slot->has_next) prompt_decoded += static_cast<std::uint64_t>(slot->batch_tokens);
    if (slot->batch_index >= 0) ++generated;  // each of these samples one token below
    if (slot->batch_index >= 0 && slot->greedy) ++greedy;
  }
  if (prompt_decoded > 0) {
    // What a prompt token costs, for the start window: steps of one token per sequence cost
    // mostly the weights' reading, so only steps that are mostly prompt are measured.
    if (prompt_decoded * 2 >= static_cast<std::uint64_t>(total_tokens)) {
      double per_token = seconds / static_cast<double>(total_tokens);
      seconds_per_prompt_token_ = seconds_per_prompt_token_ > 0
                                      ? 0.8 * seconds_per_prompt_token_ + 0.2 * per_token
                                      : per_token;
    }
  }
  {
    // Counted before any of these requests can end and be answered.
    std::lock_guard lock(mutex_);
    stats_.prompt_tokens_decoded += prompt_decoded;
    stats_.generated_tokens += generated;
    stats_.greedy_tokens += greedy;
  }
  for (Slot* slot : in_batch) {
    if (slot->batch_index < 0) continue;  // a prompt chunk that did not reach the end
    llama_token token = 0;
    float* logits = llama_get_logits_ith(ctx_, slot->batch_index);
    if (slot->request.ignore_eos) {
      for (llama_token eog : eog_tokens_) logits[eog] = -INFINITY;
    }
    if (slot->greedy) {
      token = argmax(logits, n_vocab());
    } else {
      token = common_sampler_sample(slot->sampler, ctx_, slot->batch_index);
    }
    common_sampler_accept(slot->sampler, token, true);
    ++slot->generated;
    if (llama_vocab_is_eog(vocab(), token)) {
      finish_slot(*slot, "stop");
      continue;
    }
    if (slot->request.logprobs) {
      Slot::PendingLogprob lp{slot->text.size(), 0, score(*slot, token)};
      slot->thought.add(lp.entry.text);
      slot->text += lp.entry.text;
      lp.end = slot->text.size();
      slot->pending_logprobs.push_back(std::move(lp));
      if (slot->grammar) {
        try {
          slot->grammar->accept(token);
        } catch (const std::exception&) {
          slot->grammar.reset();  // cannot happen for a token the sampler's grammar took
        }
      }
    } else {
      std::string text = piece(*slot, token);
      slot->thought.add(text);
      slot->text += text;
    }
    slot->has_next = true;
    slot->next = token;
    emit(*slot, false);
    if (!slot->busy) continue;  // a stop sequence ended it
    bool context_full = static_cast<int>(slot->cache.size()) + 1 >= config_.context;
    if ((slot->request.max_tokens >= 0 && slot->generated >= slot->request.max_tokens) ||
        context_full) {
      finish_slot(*slot, "length");
    }
  }
  return true;
}

void Engine::emit(Slot& slot, bool final_flush) {
  const auto& stops = slot.request.stop;
  if (!stops.empty()) {
    std::size_t longest = 0;
    for (const auto& s : stops) longest = std::max(longest, s.size());
    std::size_t from = slot.sent > longest ? slot.sent - longest : 0;
    std::size_t hit = std::string::npos;
    for (const auto& s : stops) {
      if (s.empty()) continue;
      std::size_t at = slot.text.find(s, from);
      if (at != std::string::npos && at < hit) hit = at;
    }
    if (hit != std::string::npos) {
      slot.text.resize(std::max(hit, slot.sent));
      collect_logprobs(slot, slot.text.size(), true);
      if (slot.text.size() > slot.sent || !slot.ready_logprobs.empty()) {
        slot.generation->push(sanitize_utf8(std::string_view(slot.text).substr(slot.sent)),
                              &slot.ready_logprobs);
      }
      slot.sent = slot.text.size();
      if (!final_flush) finish_slot(slot, "stop");
      return;
    }
  }
  std::size_t end = slot.text.size();
  if (!final_flush) {
    std::string_view unsent = std::string_view(slot.text).substr(slot.sent);
    end -= std::max(stop_prefix_tail(unsent, stops), incomplete_utf8_tail(unsent));
  }
  if (slot.pending_logprobs.empty()) {
    if (end > slot.sent) {
      slot.generation->push(
          sanitize_utf8(std::string_view(slot.text).substr(slot.sent, end - slot.sent)));
      slot.sent = end;
    }
    return;
  }
  collect_logprobs(slot, end, false);
  if (end > slot.sent || !slot.ready_logprobs.empty()) {
    slot.generation->push(
        sanitize_utf8(std::string_view(slot.text).substr(slot.sent, end - slot.sent)),
        &slot.ready_logprobs);
    slot.sent = std::max(slot.sent, end);
  }
}

// Moves the logprob entries of the tokens whose text is pushed up to `visible` bytes into
// `ready_logprobs`. `cut`: the text ends there for good (a stop sequence), so a token that
// reached into it counts, and the tokens after it are dropped.
void Engine::collect_logprobs(Slot& slot, std::size_t visible, bool cut) {
  auto& pending = slot.pending_logprobs;
  while (!pending.empty() &&
         (pending.front().end <= visible || (cut && pending.front().begin < visible))) {
    slot.ready_logprobs.push_back(std::move(pending.front().entry));
    pending.pop_front();
  }
  if (cut) pending.clear();
}

TokenLogprob Engine::score(const Slot& slot, std::int32_t token) {
  TokenLogprob out;
  auto& scratch = *logprob_scratch_;
  std::vector<TokenProb> top;
  out.logprob = token_logprobs(llama_get_logits_ith(ctx_, slot.batch_index), n_vocab(), token,
                               slot.request.top_logprobs,
                               slot.grammar ? slot.grammar->sampler() : nullptr, scratch, top);
  out.text = piece(slot, token);
  out.top.reserve(top.size());
  for (const auto& t : top) out.top.push_back({piece(slot, t.token), t.logprob});
  return out;
}

// A generated token's text. A template's markers that are control tokens (gpt-oss's harmony
// channels, Mistral's [THINK] and [TOOL_CALLS]) read as text only where the chat template preserves
// them, as llama-server renders them: the reply's parser needs them, and other control tokens stay
// silent.
std::string Engine::piece(const Slot& slot, std::int32_t token) const {
  const auto& sampling = slot.request.sampling;
  return token_text(token, sampling && sampling->preserved_tokens.contains(token));
}

void Engine::finish_slot(Slot& slot, std::string reason, std::string error) {
  if (error.empty()) emit(slot, true);
  GenerationEnd end;
  end.finish_reason = std::move(reason);
  end.error = std::move(error);
  end.prompt_tokens = static_cast<int>(slot.request.prompt.size());
  end.cached_tokens = slot.cached_tokens;
  end.completion_tokens = slot.generated;
  end.reasoning_tokens = slot.thought.tokens();
  end.compute_seconds = slot.compute_seconds;
  {
    // Counted before the requester hears of the end, so what it reads next is up to date.
    std::lock_guard lock(mutex_);
    --stats_.active_sequences;
  }
  slot.generation->finish(std::move(end));
  slot.generation.reset();
  if (slot.sampler != nullptr) {
    common_sampler_free(slot.sampler);
    slot.sampler = nullptr;
  }
  slot.grammar.reset();
  slot.pending_logprobs.clear();
  slot.ready_logprobs.clear();
  slot.has_next = false;
  slot.busy = false;
}

void Engine::run_embeddings(EmbeddingJob& job) {
  llama_memory_t memory = llama_get_memory(ctx_);
  const int n_embd = llama_model_n_embd(model_);
  const int max_tokens = std::min(config_.context, config_.batch);
  for (std::size_t i = 0; i < job.inputs.size(); ++i) {
    int n = static_cast<int>(job.inputs[i].size());
    if (n == 0) {
      job.error = "input " + std::to_string(i) + " is empty";
      return;
    }
    if (n > max_tokens) {
      job.error = "input " + std::to_string(i) + " has " + std::to_string(n) +
                  " tokens; this model embeds at most " + std::to_string(max_tokens);
      return;
    }
    job.prompt_tokens += n;
  }
  job.vectors.assign(job.inputs.size(), {});
  llama_batch batch = llama_batch_init(config_.batch, 0, 1);
  std::size_t next = 0;
  while (next < job.inputs.size()) {
    // As many whole inputs as fit one batch, one sequence each.
    batch.n_tokens = 0;
    std::size_t first = next;
    while (next < job.inputs.size() && static_cast<int>(next - first) < config_.parallel &&
           batch.n_tokens + static_cast<int>(job.inputs[next].size()) <= config_.batch) {
      const auto& tokens = job.inputs[next];
      for (std::size_t p = 0; p < tokens.size(); ++p) {
        int i = batch.n_tokens++;
        batch.token[i] = tokens[p];
        batch.pos[i] = static_cast<llama_pos>(p);
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = static_cast<llama_seq_id>(next - first);
        batch.logits[i] = 1;
      }
      ++next;
    }
    llama_memory_clear(memory, true);
    auto started = SteadyClock::now();
    int rc =
        llama_model_has_encoder(model_) ? llama_encode(ctx_, batch) : llama_decode(ctx_, batch);
    job.compute_seconds += std::chrono::duration<double>(SteadyClock::now() - started).count();
    if (rc != 0) {
      job.error = "llama.cpp failed to embed (" + std::to_string(rc) + ")";
      break;
    }
    for (std::size_t k = first; k < next; ++k) {
      const float* e = llama_get_embeddings_seq(ctx_, static_cast<llama_seq_id>(k - first));
      if (e == nullptr) {
        job.error = "llama.cpp returned no pooled embedding";
        break;
      }
      double norm = 0;
      for (int d = 0; d < n_embd; ++d) norm += static_cast<double>(e[d]) * e[d];
      float scale = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
      auto& out = job.vectors[k];
      out.resize(static_cast<std::size_t>(n_embd));
      for (int d = 0; d < n_embd; ++d) out[static_cast<std::size_t>(d)] = e[d] * scale;
    }
    if (!job.error.empty()) break;
  }
  llama_memory_clear(memory, true);
  llama_batch_free(batch);
}

}  // namespace tandem::llm
