#pragma once
// Runs one variant of a task for one request: a tailored model on the worker pool, or an LLM
// through its model's fallback chain (prompt built from the variant's templates and examples,
// the answer checked against the task's contract and retried once when invalid, confidence from
// token probabilities or from the agreement of several samples). Every call is charged and
// counted like a chat completion.
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tandem/api/context.h"
#include "tandem/core/api_error.h"
#include "tandem/core/usage.h"
#include "tandem/tasks/loaded_task.h"
#include "tandem/tasks/task_input.h"

namespace tandem::api {

struct VariantResult {
  std::string variant;
  std::string kind;  // "tailored" or "llm"
  bool ok = false;
  boost::json::object output;
  std::optional<double> confidence;
  core::Usage usage;  // summed over every call (LLM variants)
  std::int64_t cost_pico_usd = 0;
  int calls = 0;            // upstream calls (samples and the retry included)
  std::string answered_by;  // the route that answered ("provider:model"), for LLM variants
  double seconds = 0;
  double queue_seconds = 0;             // tailored: time waiting for a worker
  std::string note;                     // e.g. "retried once: the reply was not valid JSON"
  std::vector<std::size_t> examples;    // LLM: the few-shot examples in the prompt (store indices)
  std::optional<core::ApiError> error;  // when !ok
  // The input is wrong for this variant (a 400): other variants would fail the same way, so the
  // task answers with this error instead of falling back.
  bool client_error = false;
  // The shared snapshot a tailored answer came from (its metadata goes in the response).
  std::shared_ptr<const tasks::TailoredTask> model;
};

// A job on the task worker pool (tailored inference, or a reload), waited for without blocking
// the network thread.
struct PoolOutcome {
  tasks::TaskAnswer answer;
  std::optional<core::ApiError> error;  // queue full (503), past the deadline (504), or the job's
  const char* outcome = "ok";           // for metrics: ok, invalid_input, error, rejected, timeout
  bool client_error = false;            // the job threw TaskInputError
  double queue_seconds = 0;
  double run_seconds = 0;
};
http::Task<PoolOutcome> run_on_pool(WorkerContext& worker, std::function<tasks::TaskAnswer()> work,
                                    std::string failure, http::Clock::time_point deadline,
                                    http::CancelSignal* cancel);

// `cancel` is cancelled by the client leaving or by the task's deadline.
// The input is shared: a tailored model may still be running on a worker when the request
// stops waiting for it.
http::Task<VariantResult> run_variant(WorkerContext& worker, const tasks::LoadedVariant& variant,
                                      std::shared_ptr<const tasks::TaskInput> input,
                                      http::Clock::time_point deadline, http::CancelSignal* cancel);

// The probability of `label` in a reply from its tokens' logprobs (OpenAI's
// choices[0].logprobs.content), or, for a free reply, the geometric mean token probability;
// nullopt when the reply carries no logprobs or the label is not found among its tokens.
std::optional<double> confidence_from_logprobs(const boost::json::value* logprobs_content,
                                               std::string_view content, const std::string* label);

}  // namespace tandem::api
