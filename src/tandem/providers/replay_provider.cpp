#include "tandem/providers/replay_provider.h"

#include <boost/json.hpp>
#include <chrono>

#include "tandem/core/api_error.h"
#include "tandem/providers/local_response.h"

namespace tandem::providers {

namespace json = boost::json;

namespace {

// The text of the last user message: a string, or the text parts of a content array.
std::optional<std::string> last_user_text(const json::object& request) {
  const json::value* messages = request.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return std::nullopt;
  const json::array& list = messages->get_array();
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    const json::object* m = it->if_object();
    if (m == nullptr) continue;
    const json::value* role = m->if_contains("role");
    if (role == nullptr || !role->is_string() || role->get_string() != "user") continue;
    const json::value* content = m->if_contains("content");
    if (content == nullptr) return std::nullopt;
    if (content->is_string()) return std::string(content->get_string());
    if (!content->is_array()) return std::nullopt;
    std::string text;
    for (const auto& part : content->get_array()) {
      const json::object* p = part.if_object();
      const json::value* t = p ? p->if_contains("text") : nullptr;
      if (t != nullptr && t->is_string()) text += t->get_string();
    }
    return text;
  }
  return std::nullopt;
}

std::unique_ptr<http::UpstreamResponse> json_answer(const json::object& body) {
  return std::make_unique<LocalJsonResponse>(200, json::serialize(body));
}

}  // namespace

ReplayProvider::ReplayProvider(const config::ProviderConfig& config)
    : store_(ReplayStore::load(config.replay_data, config.replay_format)) {}

std::unique_ptr<http::UpstreamResponse> ReplayProvider::answer(
    std::string_view path, std::string_view body, const config::RouteConfig& route) const {
  if (path != "/chat/completions") {
    return error_answer(core::invalid_request(
        "a replay provider answers chat completions only (nothing else was recorded)", "model"));
  }
  boost::system::error_code ec;
  json::value request = json::parse(body, ec);
  if (ec || !request.is_object()) {
    return error_answer(core::invalid_request("request body is not a JSON object", ""));
  }
  std::optional<std::string> prompt = last_user_text(request.get_object());
  if (!prompt) {
    return error_answer(
        core::invalid_request("a replayed request needs a user message", "messages"));
  }
  const datasets::RecordedQuery* query = store_->find_query(*prompt);
  if (query == nullptr) {
    return error_answer(core::invalid_request(
        "no recorded answer for this prompt (replay answers only the prompts it recorded)",
        "messages", "prompt_not_recorded"));
  }
  const datasets::RecordedAnswer* recorded = store_->find(route.model, *prompt);
  if (recorded == nullptr) {
    return error_answer(core::invalid_request("the recorded set has no model '" + route.model + "'",
                                              "model", "model_not_found"));
  }
  if (!recorded->score && !recorded->response) {
    // A blank cell: the model gave no answer when it was recorded.
    return error_answer(
        core::ApiError{503, "server_error", "no_recorded_answer",
                       "model '" + route.model + "' has no recorded answer for this prompt", ""});
  }
  json::object replay;
  if (recorded->score) replay["score"] = *recorded->score;
  if (recorded->cost_usd) replay["cost_usd"] = *recorded->cost_usd;
  replay["query_id"] = query->id;
  std::int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  json::object message{{"role", "assistant"}, {"content", recorded->response.value_or("")}};
  json::object choice{{"index", 0}, {"message", std::move(message)}, {"finish_reason", "stop"}};
  json::object answer{{"id", "replay-" + query->id},
                      {"object", "chat.completion"},
                      {"created", created},
                      {"model", route.model},
                      {"choices", json::array{std::move(choice)}},
                      {"tandem_replay", std::move(replay)}};
  return json_answer(answer);
}

}  // namespace tandem::providers
