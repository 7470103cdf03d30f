#include "tandem/providers/local_response.h"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "tandem/llm/utf8.h"

namespace tandem::providers {

namespace json = boost::json;

LocalJsonResponse::LocalJsonResponse(int status, std::string body)
    : status_(status), body_(std::move(body)) {
  headers_.push_back({"content-type", "application/json"});
}

http::Task<http::ClientError> LocalJsonResponse::read_some(std::string& out, bool& done,
                                                           http::Clock::time_point) {
  out += body_;
  body_.clear();
  done = true;
  co_return http::ClientError{};
}

std::unique_ptr<http::UpstreamResponse> error_answer(const core::ApiError& error) {
  return std::make_unique<LocalJsonResponse>(error.status, core::to_json(error));
}

std::string usage_json(const llm::GenerationEnd& end) {
  json::object usage;
  usage["prompt_tokens"] = end.prompt_tokens;
  usage["completion_tokens"] = end.completion_tokens;
  usage["total_tokens"] = end.prompt_tokens + end.completion_tokens;
  usage["prompt_tokens_details"] = json::object{{"cached_tokens", end.cached_tokens}};
  usage["completion_tokens_details"] = json::object{{"reasoning_tokens", end.reasoning_tokens}};
  usage["tandem_compute_us"] = static_cast<std::int64_t>(end.compute_seconds * 1e6 + 0.5);
  return json::serialize(usage);
}

namespace {

json::object token_json(std::string_view text, float logprob) {
  json::array bytes;
  bytes.reserve(text.size());
  for (char c : text) bytes.push_back(static_cast<unsigned char>(c));
  // A token may hold part of a UTF-8 character: `token` shows it sanitised, `bytes` as it is.
  return json::object{{"token", llm::sanitize_utf8(text)},
                      {"logprob", static_cast<double>(logprob)},
                      {"bytes", std::move(bytes)}};
}

json::value logprobs_value(const std::vector<llm::TokenLogprob>& tokens) {
  json::array content;
  content.reserve(tokens.size());
  for (const auto& t : tokens) {
    json::object entry = token_json(t.text, t.logprob);
    json::array top;
    top.reserve(t.top.size());
    for (const auto& alt : t.top) top.push_back(token_json(alt.text, alt.logprob));
    entry["top_logprobs"] = std::move(top);
    content.push_back(std::move(entry));
  }
  return json::object{{"content", std::move(content)}};
}

json::array tool_calls_json(const llm::ChatReply& reply) {
  json::array calls;
  for (std::size_t i = 0; i < reply.tool_calls.size(); ++i) {
    const auto& c = reply.tool_calls[i];
    calls.push_back(json::object{{"index", i},
                                 {"id", c.id},
                                 {"type", "function"},
                                 {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  }
  return calls;
}

std::string finish_reason_of(const llm::ChatReply& reply, const llm::GenerationEnd& end) {
  if (!reply.tool_calls.empty() && end.finish_reason == "stop") return "tool_calls";
  return end.finish_reason;
}

}  // namespace

std::string logprobs_json(const std::vector<llm::TokenLogprob>& tokens) {
  return json::serialize(logprobs_value(tokens));
}

std::string completion_json(const CompletionInfo& info, const llm::ChatReply& reply,
                            const llm::GenerationEnd& end,
                            const std::vector<llm::TokenLogprob>* logprobs) {
  json::object message{{"role", "assistant"}};
  if (!reply.reasoning.empty()) message["reasoning_content"] = reply.reasoning;
  if (reply.tool_calls.empty()) {
    message["content"] = reply.content;
  } else {
    message["content"] = reply.content.empty() ? json::value(nullptr) : json::value(reply.content);
    message["tool_calls"] = tool_calls_json(reply);
  }
  json::object body{{"id", info.id},
                    {"object", "chat.completion"},
                    {"created", info.created},
                    {"model", info.model}};
  body["choices"] = json::array{json::object{
      {"index", 0},
      {"message", std::move(message)},
      {"logprobs", logprobs != nullptr ? logprobs_value(*logprobs) : json::value(nullptr)},
      {"finish_reason", finish_reason_of(reply, end)}}};
  std::string out = json::serialize(body);
  out.pop_back();  // the usage object is serialised once, by usage_json
  out += ",\"usage\":" + usage_json(end) + "}";
  return out;
}

LocalStreamResponse::LocalStreamResponse(CompletionInfo info,
                                         std::shared_ptr<llm::Generation> generation,
                                         std::shared_ptr<http::Waiter> waiter,
                                         llm::ChatPrompt prompt, llm::Generation::Taken first,
                                         http::CancelSignal* cancel, bool logprobs)
    : info_(std::move(info)),
      generation_(std::move(generation)),
      waiter_(std::move(waiter)),
      prompt_(std::move(prompt)),
      cancel_(cancel),
      logprobs_(logprobs) {
  headers_.push_back({"content-type", "text/event-stream"});
  if (cancel_ != nullptr) {
    std::weak_ptr<http::Waiter> weak = waiter_;
    auto generation_ptr = generation_;
    hook_ = cancel_->add_hook([weak, generation_ptr] {
      generation_ptr->cancel();
      if (auto w = weak.lock()) w->interrupt();
    });
  }
  render(std::move(first), ready_);
}

LocalStreamResponse::~LocalStreamResponse() {
  if (cancel_ != nullptr) cancel_->remove_hook(hook_);
  generation_->set_waker({});
  generation_->cancel();  // a no-op when it already ended
}

std::string LocalStreamResponse::chunk(std::string_view delta_json, std::string_view finish_reason,
                                       const std::vector<llm::TokenLogprob>* logprobs) const {
  json::object c{{"id", info_.id},
                 {"object", "chat.completion.chunk"},
                 {"created", info_.created},
                 {"model", info_.model}};
  json::object choice{{"index", 0}};
  choice["delta"] = json::parse(delta_json);
  choice["logprobs"] = logprobs != nullptr ? logprobs_value(*logprobs) : json::value(nullptr);
  choice["finish_reason"] =
      finish_reason.empty() ? json::value(nullptr) : json::value(json::string(finish_reason));
  c["choices"] = json::array{std::move(choice)};
  return "data: " + json::serialize(c) + "\n\n";
}

// The logprobs of the tokens no chunk has carried yet, when the request asked for them; null
// when there are none, so a chunk without tokens says "logprobs": null.
const std::vector<llm::TokenLogprob>* LocalStreamResponse::pending_logprobs() const {
  return logprobs_ && !buffered_logprobs_.empty() ? &buffered_logprobs_ : nullptr;
}

// Sends what the parser's reasoning and content add to what was sent. Both only grow as a reply
// does; should the parser ever read the text otherwise, nothing is sent that would contradict a
// sent chunk. The logprobs of the tokens since the last chunk ride on the first chunk sent.
void LocalStreamResponse::send_growth(const llm::ChatReply& read, std::string& out) {
  auto send = [&](const char* field, const std::string& now, std::string& sent) {
    if (now.size() <= sent.size() || !now.starts_with(sent)) return;
    out += chunk(json::serialize(json::object{{field, now.substr(sent.size())}}), "",
                 pending_logprobs());
    buffered_logprobs_.clear();
    sent = now;
  };
  send("reasoning_content", read.reasoning, sent_reasoning_);
  send("content", read.content, sent_content_);
}

void LocalStreamResponse::render(llm::Generation::Taken taken, std::string& out) {
  if (!sent_role_ && (taken.ended ? taken.end.error.empty() : true)) {
    out += chunk(R"({"role":"assistant","content":""})", "");
    sent_role_ = true;
  }
  if (!taken.text.empty() || !taken.logprobs.empty()) {
    if (prompt_.parsed) {
      buffered_ += taken.text;
      for (auto& lp : taken.logprobs) buffered_logprobs_.push_back(std::move(lp));
      // With tools, text before a call may turn out to be the call's start: content waits for
      // the whole reply's parse; reasoning, which ends before any call, streams.
      if (!prompt_.has_tools || prompt_.reasons) {
        llm::ChatReply read = prompt_.partial(buffered_);
        if (prompt_.has_tools) read.content.clear();
        send_growth(read, out);
      }
    } else {
      out += chunk(json::serialize(json::object{{"content", taken.text}}), "",
                   logprobs_ ? &taken.logprobs : nullptr);
    }
  }
  if (!taken.ended) return;
  finished_ = true;
  const auto& end = taken.end;
  if (!end.error.empty()) {
    out += "data: " +
           json::serialize(json::object{
               {"error",
                {{"message", "local model failed: " + end.error}, {"type", "server_error"}}}}) +
           "\n\n";
    return;
  }
  llm::ChatReply reply;
  if (prompt_.parsed) {
    reply = prompt_.parse(buffered_, end.finish_reason == "length");
    send_growth(reply, out);
    if (!reply.tool_calls.empty()) {
      out += chunk(json::serialize(json::object{{"tool_calls", tool_calls_json(reply)}}), "",
                   pending_logprobs());
      buffered_logprobs_.clear();
    }
    if (const auto* logprobs = pending_logprobs()) {
      // Tokens whose text was neither reasoning nor content (a fence's closing, spaces, a tag):
      // their logprobs still count.
      out += chunk(R"({"content":""})", "", logprobs);
    }
  }
  out += chunk("{}", finish_reason_of(reply, end));
  out += "data: {\"id\":" + json::serialize(json::string(info_.id)) +
         ",\"object\":\"chat.completion.chunk\",\"created\":" + std::to_string(info_.created) +
         ",\"model\":" + json::serialize(json::string(info_.model)) +
         ",\"choices\":[],\"usage\":" + usage_json(end) + "}\n\n";
  out += "data: [DONE]\n\n";
}

http::Task<http::ClientError> LocalStreamResponse::read_some(std::string& out, bool& done,
                                                             http::Clock::time_point deadline) {
  done = false;
  while (ready_.empty() && !finished_) {
    if (http::is_cancelled(cancel_)) {
      co_return http::ClientError{http::ClientErrorKind::cancelled, "cancelled"};
    }
    llm::Generation::Taken taken = generation_->take();
    if (!taken.empty()) {
      render(std::move(taken), ready_);
      continue;
    }
    if (!co_await waiter_->wait(deadline)) {
      co_return http::ClientError{http::ClientErrorKind::timeout,
                                  "the local model produced nothing before the deadline"};
    }
  }
  out += ready_;
  ready_.clear();
  done = finished_;
  co_return http::ClientError{};
}

}  // namespace tandem::providers
