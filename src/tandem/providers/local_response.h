#pragma once
// The answers of the local provider, shaped as an OpenAI-compatible server's HTTP answers: an
// error status with OpenAI's error body, a complete JSON body, or an SSE stream fed by a
// generation on the model's scheduler thread.
#include <memory>
#include <string>

#include "tandem/core/api_error.h"
#include "tandem/http/client.h"
#include "tandem/http/waiter.h"
#include "tandem/llm/chat_prompt.h"
#include "tandem/llm/generation.h"

namespace tandem::providers {

// A complete answer: a JSON body with a status (200, or an error).
class LocalJsonResponse final : public http::UpstreamResponse {
 public:
  LocalJsonResponse(int status, std::string body);
  int status() const override { return status_; }
  const http::Headers& headers() const override { return headers_; }
  http::Task<http::ClientError> read_some(std::string& out, bool& done,
                                          http::Clock::time_point deadline) override;

 private:
  int status_;
  http::Headers headers_;
  std::string body_;
};

std::unique_ptr<http::UpstreamResponse> error_answer(const core::ApiError& error);

// What every chunk and answer of one completion shares.
struct CompletionInfo {
  std::string id;  // "chatcmpl-..."
  std::int64_t created = 0;
  std::string model;
};

std::string usage_json(const llm::GenerationEnd& end);
// OpenAI's choice.logprobs: {"content":[{"token","logprob","bytes","top_logprobs"}, ...]}.
std::string logprobs_json(const std::vector<llm::TokenLogprob>& tokens);
// The non-streamed chat.completion body; `logprobs` when the request asked for them.
std::string completion_json(const CompletionInfo& info, const llm::ChatReply& reply,
                            const llm::GenerationEnd& end,
                            const std::vector<llm::TokenLogprob>* logprobs = nullptr);

// An SSE stream of chat.completion.chunk events, ending with the finish chunk, a usage chunk and
// [DONE], or with an error event when the generation failed. Destroying it cancels the
// generation (the client left), which frees its sequence at the scheduler's next step. A
// reasoning model's thinking streams as `reasoning_content` deltas before the content's. With
// `logprobs`, each chunk carries the logprobs of the tokens generated since the last one (with a
// response format, a fence's tokens and spaces around the JSON make no content).
class LocalStreamResponse final : public http::UpstreamResponse {
 public:
  LocalStreamResponse(CompletionInfo info, std::shared_ptr<llm::Generation> generation,
                      std::shared_ptr<http::Waiter> waiter, llm::ChatPrompt prompt,
                      llm::Generation::Taken first, http::CancelSignal* cancel,
                      bool logprobs = false);
  ~LocalStreamResponse() override;
  int status() const override { return 200; }
  const http::Headers& headers() const override { return headers_; }
  http::Task<http::ClientError> read_some(std::string& out, bool& done,
                                          http::Clock::time_point deadline) override;

 private:
  void render(llm::Generation::Taken taken, std::string& out);
  const std::vector<llm::TokenLogprob>* pending_logprobs() const;
  void send_growth(const llm::ChatReply& read, std::string& out);
  std::string chunk(std::string_view delta_json, std::string_view finish_reason,
                    const std::vector<llm::TokenLogprob>* logprobs = nullptr) const;

  CompletionInfo info_;
  std::shared_ptr<llm::Generation> generation_;
  std::shared_ptr<http::Waiter> waiter_;
  llm::ChatPrompt prompt_;
  http::Headers headers_;
  http::CancelSignal* cancel_;
  std::size_t hook_ = 0;
  std::string ready_;  // rendered events not yet read
  // The text generated so far when the reply is parsed (its reasoning and content stream as the
  // parser reads them; tool calls are parsed whole at the end), and the logprobs of the tokens
  // whose text no chunk has carried yet.
  std::string buffered_;
  std::vector<llm::TokenLogprob> buffered_logprobs_;
  std::string sent_reasoning_;  // a parsed reply's reasoning and content sent so far
  std::string sent_content_;
  bool logprobs_ = false;
  bool sent_role_ = false;
  bool finished_ = false;
};

}  // namespace tandem::providers
