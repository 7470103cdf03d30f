// POST /v1/tasks/<name>, GET /v1/tasks and POST /v1/tasks/<name>/reload. The network thread
// parses and checks the input, asks the task's policy for a plan (rules, then single, cascade,
// split or learned router), and runs the plan's variants in order: tailored models on the worker
// pool, LLMs through their models' fallback chains. The response says which variants ran and
// why; the inference is recorded for evaluation and distillation.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <random>

#include "tandem/api/endpoints.h"
#include "tandem/api/model_call.h"
#include "tandem/api/variant_call.h"
#include "tandem/core/money.h"
#include "tandem/log/logger.h"
#include "tandem/routing/cascade_fit.h"
#include "tandem/routing/policy.h"

namespace tandem::api {

namespace json = boost::json;

namespace {

using Seconds = std::chrono::duration<double>;

json::object model_info(const tasks::TailoredTask& model) {
  const models::ArtifactMeta& m = model.meta();
  json::object metrics;
  for (const auto& [k, v] : m.metrics) metrics[k] = v;
  return json::object{{"kind", m.kind},
                      {"version", m.version},
                      {"created", m.created_utc},
                      {"data_sha256", m.data_sha256},
                      {"metrics", std::move(metrics)}};
}

http::Response json_ok(const json::object& body) {
  http::Response r;
  r.body = json::serialize(body);
  return r;
}

core::ApiError task_not_found(std::string_view name) {
  return core::not_found("no task named '" + std::string(name) + "'", "task_not_found");
}

double unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// One variant run, with what the policy made of it.
struct Step {
  VariantResult result;
  std::optional<double> threshold;
  bool accepted = false;
  bool fallback = false;  // ran from the fallback list
};

struct RunOutcome {
  routing::RoutePlan plan;
  std::vector<Step> steps;
  const Step* answer = nullptr;  // the accepted step; null when none answered
  std::string router_detail;     // the router's predictions, for the route
  bool below_threshold = false;  // every stage was unsure; the last answer stands
  std::optional<core::ApiError> error;
  // The learned router's P(correct) per model for this input: predicted once, when first needed
  // (the router policy's pick, or a stage whose confidence is the router's).
  std::optional<std::vector<double>> router_p;
};

const std::vector<double>& router_predictions(const tasks::LoadedTask& task,
                                              const tasks::TaskInput& input, RunOutcome& run) {
  if (!run.router_p) {
    const auto* text = std::get_if<tasks::TextInput>(&input);
    run.router_p = task.router()->predict(text ? std::string_view(text->text) : "");
  }
  return *run.router_p;
}

// The router's pick among the policy's candidates, and its reasons in words.
std::size_t router_pick(const tasks::LoadedTask& task, const std::vector<double>& p_all,
                        std::string& detail) {
  const routing::RouterModel& router = *task.router();
  std::vector<double> p, costs;
  for (const auto& variant : task.policy().variants) {
    std::size_t column = task.router_column(variant).value();  // checked at load
    p.push_back(p_all.at(column));
    costs.push_back(router.mean_costs().at(column));
  }
  std::size_t pick =
      routing::RouterModel::choose_model(p, task.config().policy.cost_weight, costs, router.rule());
  char buffer[64];
  for (std::size_t i = 0; i < p.size(); ++i) {
    std::snprintf(buffer, sizeof buffer, "%s%s p=%.2f", detail.empty() ? "" : ", ",
                  task.policy().variants[i].c_str(), p[i]);
    detail += buffer;
  }
  return pick;
}

// "cascade: distilled 0.62<0.80 escalated > llm ok" -- the x-tandem-route header.
std::string route_header(const RunOutcome& run) {
  std::string out = run.plan.policy + ":";
  for (std::size_t i = 0; i < run.steps.size(); ++i) {
    const Step& s = run.steps[i];
    char conf[48] = "";
    if (s.result.confidence) {
      if (s.threshold) {
        std::snprintf(conf, sizeof conf, " %.2f%s%.2f", *s.result.confidence,
                      *s.result.confidence >= *s.threshold ? ">=" : "<", *s.threshold);
      } else {
        std::snprintf(conf, sizeof conf, " %.2f", *s.result.confidence);
      }
    }
    out += (i == 0 ? " " : " > ") + s.result.variant + conf;
    out += !s.result.ok ? " failed" : s.accepted ? " ok" : " escalated";
  }
  return out;
}

json::object step_json(const Step& s) {
  const VariantResult& r = s.result;
  json::object o{{"variant", r.variant}, {"kind", r.kind}, {"ok", r.ok}};
  if (r.confidence) o["confidence"] = *r.confidence;
  if (s.threshold) o["threshold"] = *s.threshold;
  o["accepted"] = s.accepted;
  if (s.fallback) o["fallback"] = true;
  if (!r.answered_by.empty()) o["answered_by"] = r.answered_by;
  if (r.calls > 0) o["calls"] = r.calls;
  o["latency_ms"] = std::round(r.seconds * 1e5) / 100;
  if (r.kind == "llm") o["cost_usd"] = core::format_usd(r.cost_pico_usd);
  if (!r.examples.empty()) {
    json::array examples;
    for (std::size_t i : r.examples) examples.push_back(i);
    o["examples"] = std::move(examples);
  }
  if (!r.note.empty()) o["note"] = r.note;
  if (r.error) o["error"] = r.error->message;
  return o;
}

// What every variant that ran spent, together: the response, the record, the header and the
// metric all show these.
struct RunTotals {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cost_pico_usd = 0;
};

RunTotals totals_of(const RunOutcome& run) {
  RunTotals t;
  for (const auto& s : run.steps) {
    t.prompt_tokens += s.result.usage.prompt_tokens;
    t.completion_tokens += s.result.usage.completion_tokens;
    t.cost_pico_usd += s.result.cost_pico_usd;
  }
  return t;
}

json::object usage_json(const RunTotals& t) {
  return json::object{{"prompt_tokens", t.prompt_tokens},
                      {"completion_tokens", t.completion_tokens},
                      {"total_tokens", t.prompt_tokens + t.completion_tokens}};
}

json::object route_json(const RunOutcome& run) {
  json::array steps;
  for (const auto& s : run.steps) steps.push_back(step_json(s));
  json::object route{{"policy", run.plan.policy}, {"reason", run.plan.reason}, {"steps", steps}};
  if (!run.router_detail.empty()) route["router"] = run.router_detail;
  if (run.below_threshold) {
    route["note"] =
        "no stage reached its threshold and the escalation failed: the best answer "
        "below its threshold stands";
  }
  return route;
}

// The answer of POST /v1/tasks/<name>. (Outside the coroutines: GCC 12 miscompiles braced
// initialiser lists holding string literals inside a coroutine.)
json::object result_body(const tasks::LoadedTask& task, const RunOutcome& run,
                         const RunTotals& totals, double seconds) {
  const config::TaskConfig& config = task.config();
  const VariantResult& answer = run.answer->result;
  json::object body{{"object", "task.result"},
                    {"task", config.name},
                    {"kind", config.kind},
                    {"output", answer.output}};
  if (answer.confidence) body["confidence"] = *answer.confidence;
  body["variant"] = answer.variant;
  if (answer.model) body["model"] = model_info(*answer.model);
  body["route"] = route_json(run);
  body["usage"] = usage_json(totals);
  body["cost_usd"] = core::format_usd(totals.cost_pico_usd);
  json::object timing{{"total_us", std::llround(seconds * 1e6)}};
  if (answer.kind == "tailored") {
    timing["queue_us"] = std::llround(answer.queue_seconds * 1e6);
    timing["inference_us"] = std::llround((answer.seconds - answer.queue_seconds) * 1e6);
  }
  body["timing"] = std::move(timing);
  return body;
}

// One JSON line of the task's record file.
std::string record_line(const tasks::LoadedTask& task, const tasks::TaskInput& input,
                        const core::RequestContext& context, const RunOutcome& run,
                        const RunTotals& totals, double seconds) {
  json::object record;
  auto now = std::chrono::system_clock::now();
  record["time"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  record["task"] = task.config().name;
  if (const auto* text = std::get_if<tasks::TextInput>(&input)) {
    record["input"] = text->fields;
  } else if (const auto* recsys = std::get_if<tasks::RecsysInput>(&input)) {
    json::object in;
    if (recsys->user) in["user"] = *recsys->user;
    if (recsys->item) in["item"] = *recsys->item;
    record["input"] = std::move(in);
  } else {
    record["input"] = json::object{{"image", "(not recorded)"}};
  }
  json::object ctx;
  if (!context.stakes.empty()) ctx["stakes"] = context.stakes;
  if (context.explain) ctx["explain"] = true;
  if (!context.resources.empty()) ctx["resources"] = context.resources;
  if (context.latency_budget_ms) ctx["latency_budget_ms"] = *context.latency_budget_ms;
  if (!context.language.empty()) ctx["language"] = context.language;
  if (!context.user.empty()) ctx["user"] = context.user;
  record["context"] = std::move(ctx);
  json::array variants;
  for (const auto& s : run.steps) {
    json::object v = step_json(s);
    if (s.result.ok) v["output"] = s.result.output;
    variants.push_back(std::move(v));
  }
  record["variants"] = std::move(variants);
  record["policy"] = run.plan.policy;
  if (run.answer != nullptr) {
    record["variant"] = run.answer->result.variant;
    record["output"] = run.answer->result.output;
    if (run.answer->result.confidence) record["confidence"] = *run.answer->result.confidence;
  } else if (run.error) {
    record["error"] = run.error->message;
  }
  record["usage"] = usage_json(totals);
  record["cost_usd"] = core::format_usd(totals.cost_pico_usd);
  record["latency_ms"] = std::round(seconds * 1e5) / 100;
  return json::serialize(record);
}

// Every variant failed: the error the client gets.
core::ApiError failure_of(const RunOutcome& run) {
  std::string why;
  const core::ApiError* last = nullptr;
  for (const auto& s : run.steps) {
    if (s.result.ok || !s.result.error) continue;
    last = &*s.result.error;
    why += (why.empty() ? "" : "; ") + s.result.variant + ": " + s.result.error->message;
  }
  if (last == nullptr) return core::internal_error("no variant ran");
  if (run.steps.size() == 1) return *last;
  core::ApiError e = *last;
  e.message = "every variant failed (" + why + ")";
  return e;
}

const char* outcome_label(const core::ApiError& e) {
  if (e.status == 503) return "rejected";
  if (e.status == 504) return "timeout";
  if (e.status >= 400 && e.status < 500) return "invalid_input";
  return "error";
}

// A request that does not say its language gets it detected, when a rule of the task tests the
// language and the server has a language model. Returns what the route should say about it.
std::string detect_language(const GatewayState& state, const config::TaskConfig& task,
                            const tasks::TaskInput& input, core::RequestContext& context) {
  if (!context.language.empty() || state.language_id == nullptr) return "";
  const auto* text = std::get_if<tasks::TextInput>(&input);
  if (!routing::rules_test_language(task.rules) || text == nullptr) return "";
  models::text::LanguageId::Guess guess = state.language_id->detect(text->text);
  if (guess.code.empty()) return "";
  context.language = guess.code;
  char note[96];
  std::snprintf(note, sizeof note, "language %s detected (p=%.2f)", guess.code.c_str(),
                guess.probability);
  return note;
}

// The task's own deadline: the client leaving or the deadline passing cancels every variant.
struct TaskCancel {
  TaskCancel(http::Executor executor, http::CancelSignal& outer, http::Clock::time_point deadline)
      : timer(executor), hook(&outer, [this] { signal.cancel(); }) {
    timer.expires_at(deadline);
    timer.async_wait([alive = std::weak_ptr<bool>(alive_), this](boost::system::error_code ec) {
      if (!ec && !alive.expired()) signal.cancel();
    });
  }
  ~TaskCancel() { timer.cancel(); }
  http::CancelSignal signal;
  http::Timer timer;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  http::CancelHook hook;
};

// confidence = "router_agreement": the stage's router prior combined with the labels the earlier
// stages of this request answered, each weighed by its own prior (routing::agreement_confidence),
// exactly as `tandem eval --task` computes it when it fits the cascade's thresholds. Stages that
// failed, fell back or are unknown to the router say nothing.
double agreement_with_earlier(const tasks::LoadedTask& task, const std::vector<double>& p_all,
                              const std::vector<Step>& earlier, const VariantResult& mine,
                              std::size_t column) {
  const std::vector<std::string>& labels = task.config().labels;  // >= 2: checked by the config
  auto label_of = [&labels](const VariantResult& r) -> std::optional<std::size_t> {
    const json::value* l = r.output.if_contains("label");
    if (l == nullptr || !l->is_string()) return std::nullopt;
    auto at = std::find(labels.begin(), labels.end(), std::string_view(l->get_string()));
    if (at == labels.end()) return std::nullopt;
    return static_cast<std::size_t>(at - labels.begin());
  };
  std::vector<std::optional<std::size_t>> said;
  std::vector<double> prior;
  for (const Step& s : earlier) {
    auto c = task.router_column(s.result.variant);
    if (!s.result.ok || s.fallback || !c) continue;
    said.push_back(label_of(s.result));
    prior.push_back(p_all.at(*c));
  }
  said.push_back(label_of(mine));
  prior.push_back(p_all.at(column));
  return routing::agreement_confidence(said, prior, labels.size());
}

// Runs the plan: the stages in order until one is accepted, then the fallbacks if none answered.
http::Task<void> run_plan(WorkerContext& worker, const tasks::LoadedTask& task,
                          std::shared_ptr<const tasks::TaskInput> input,
                          http::Clock::time_point deadline, http::CancelSignal* cancel,
                          RunOutcome& run) {
  const config::TaskConfig& config = task.config();
  auto run_one = [&](const std::string& name, std::optional<double> threshold,
                     bool fallback) -> http::Task<Step*> {
    Step step;
    step.threshold = threshold;
    step.fallback = fallback;
    const tasks::LoadedVariant* variant = task.find(name);
    step.result = co_await run_variant(worker, *variant, input, deadline, cancel);
    const std::string confidence = variant->config != nullptr ? variant->config->confidence : "";
    if (step.result.ok && (confidence == "router" || confidence == "router_agreement")) {
      // The router's P(correct) for this variant on this input, as offline evaluation fits it;
      // with router_agreement (as a cascade stage) combined with the earlier stages' answers.
      if (auto column = task.router_column(name)) {
        const std::vector<double>& p = router_predictions(task, *input, run);
        step.result.confidence =
            confidence == "router_agreement" && !fallback
                ? agreement_with_earlier(task, p, run.steps, step.result, *column)
                : p.at(*column);
      }
    }
    const VariantResult& r = step.result;
    step.accepted = r.ok && (!threshold || (r.confidence && *r.confidence >= *threshold));
    const char* outcome = !r.ok ? "failed" : step.accepted ? "accepted" : "escalated";
    worker.state.metrics.task_variant_runs.with({config.name, name, outcome}).inc();
    if (r.kind == "tailored" && r.ok) {
      worker.state.metrics.task_queue_wait.with({config.name}).observe(r.queue_seconds);
      worker.state.metrics.task_inference.with({config.name}).observe(r.seconds - r.queue_seconds);
    }
    run.steps.push_back(std::move(step));
    co_return &run.steps.back();
  };
  run.steps.reserve(run.plan.stages.size() + run.plan.fallback.size());
  const Step* best_unsure = nullptr;
  for (const auto& stage : run.plan.stages) {
    Step* step = co_await run_one(stage.variant, stage.threshold, false);
    if (step->result.client_error) {
      run.error = step->result.error;
      co_return;
    }
    if (step->accepted) {
      run.answer = step;
      co_return;
    }
    if (step->result.ok) best_unsure = step;
    if (http::is_cancelled(cancel)) break;
  }
  for (const auto& name : run.plan.fallback) {
    if (http::is_cancelled(cancel)) break;
    Step* step = co_await run_one(name, std::nullopt, true);
    if (step->accepted) {
      run.answer = step;
      co_return;
    }
    if (step->result.client_error) {
      run.error = step->result.error;
      co_return;
    }
  }
  if (best_unsure != nullptr) {
    // A cascade whose later stages failed: an unsure answer beats none, and the route says so.
    run.answer = best_unsure;
    run.below_threshold = true;
    co_return;
  }
  run.error = failure_of(run);
}

json::object variant_list(const tasks::LoadedTask& task) {
  json::array variants;
  for (const auto& v : task.variants()) {
    json::object o{{"name", v.name}, {"kind", v.kind}};
    if (v.model) o["model"] = model_info(*v.model);
    if (v.config != nullptr && v.kind == "llm") o["llm"] = v.config->model;
    variants.push_back(std::move(o));
  }
  const routing::EffectivePolicy& p = task.policy();
  json::object policy{{"kind", p.kind}};
  json::array names, thresholds;
  for (const auto& n : p.variants) names.push_back(json::string(n));
  for (double t : p.thresholds) thresholds.push_back(t);
  policy["variants"] = std::move(names);
  if (!p.thresholds.empty()) policy["thresholds"] = std::move(thresholds);
  json::object out{{"variants", std::move(variants)}, {"policy", std::move(policy)}};
  if (task.distilled()) {
    const tasks::DistillState& d = *task.distilled();
    out["distilled"] = json::object{{"teacher", d.teacher},
                                    {"threshold", d.threshold},
                                    {"agreement", d.agreement},
                                    {"coverage", d.coverage},
                                    {"records", d.records}};
  }
  return out;
}

json::object task_list_body(const tasks::TaskRegistry* registry) {
  json::array data;
  if (registry != nullptr) {
    for (const auto& entry : registry->entries()) {
      auto loaded = entry->loaded();
      const config::TaskConfig& c = entry->config();
      json::object o{
          {"id", c.name}, {"object", "task"}, {"kind", c.kind}, {"contract", c.contract}};
      if (const tasks::TailoredTask* model = loaded->primary_model(); model && !loaded->hybrid()) {
        o["model"] = model_info(*model);
        o["details"] = model->describe();
      }
      if (!c.labels.empty()) {
        json::array labels;
        for (const auto& l : c.labels) labels.push_back(json::string(l));
        o["labels"] = std::move(labels);
      }
      for (auto& [k, v] : variant_list(*loaded)) o[k] = std::move(v);
      o["reloads"] = entry->reloads();
      data.push_back(std::move(o));
    }
  }
  return json::object{{"object", "list"}, {"data", std::move(data)}};
}

json::object reload_body(const tasks::TaskEntry& entry, const tasks::LoadedTask& loaded) {
  json::object body{
      {"object", "task.reload"}, {"task", entry.config().name}, {"reloads", entry.reloads()}};
  if (const tasks::TailoredTask* model = loaded.primary_model()) body["model"] = model_info(*model);
  for (auto& [k, v] : variant_list(loaded)) body[k] = std::move(v);
  return body;
}

}  // namespace

http::Task<void> serve_task(WorkerContext& worker, const http::Request& request,
                            http::Responder& responder, std::string_view name) {
  GatewayState& state = worker.state;
  auto started = http::Clock::now();
  tasks::TaskEntry* entry = state.task_registry ? state.task_registry->find(name) : nullptr;
  if (entry == nullptr) {
    co_await responder.send(error_response(task_not_found(name)));
    co_return;
  }
  // This request keeps this snapshot even if a reload swaps it.
  std::shared_ptr<const tasks::LoadedTask> task = entry->loaded();
  const config::TaskConfig& config = entry->config();
  core::RequestContext context;
  auto parsed = tasks::parse_task_input(config, request.header("content-type"), request.body,
                                        state.config.server.max_json_depth, &context);
  if (auto* error = std::get_if<core::ApiError>(&parsed)) {
    state.metrics.task_requests.with({config.name, "invalid_input"}).inc();
    co_await responder.send(error_response(*error));
    co_return;
  }
  auto input =
      std::make_shared<const tasks::TaskInput>(std::move(std::get<tasks::TaskInput>(parsed)));
  auto timeout = state.config.server.task_timeout;
  if (context.latency_budget_ms) {
    timeout = std::min<std::chrono::milliseconds>(
        timeout, std::chrono::milliseconds(*context.latency_budget_ms));
  }
  auto deadline = started + timeout;
  TaskCancel task_cancel(co_await asio::this_coro::executor, responder.cancel_signal(), deadline);

  RunOutcome run;
  std::string language_note = detect_language(state, config, *input, context);
  routing::RouterPick pick;
  if (task->router() != nullptr && task->policy().kind == "router") {
    pick = [&] {
      return router_pick(*task, router_predictions(*task, *input, run), run.router_detail);
    };
  }
  run.plan =
      routing::plan_route(config.name, config.rules, task->policy(), context, unit_random(), pick);
  if (!language_note.empty()) run.plan.reason += "; " + language_note;
  co_await run_plan(worker, *task, input, deadline, &task_cancel.signal, run);
  if (responder.cancel_signal().cancelled() && !cut_by_shutdown(responder)) co_return;  // gone
  double seconds = Seconds(http::Clock::now() - started).count();
  RunTotals totals = totals_of(run);
  if (totals.cost_pico_usd > 0) {
    state.metrics.task_cost.with({config.name})
        .inc(static_cast<std::uint64_t>(totals.cost_pico_usd));
  }
  if (auto it = state.task_records.find(config.name); it != state.task_records.end()) {
    it->second->append(record_line(*task, *input, context, run, totals, seconds));
  }
  if (run.answer == nullptr) {
    core::ApiError error = run.error ? *run.error : core::internal_error("no variant answered");
    if (task_cancel.signal.cancelled() && !responder.cancel_signal().cancelled()) {
      error = core::gateway_timeout("the task did not finish within " +
                                    std::to_string(timeout.count()) + " ms");
    }
    state.metrics.task_requests.with({config.name, outcome_label(error)}).inc();
    if (error.status >= 500) {
      log::error("task_failed", {{"task", config.name}, {"error", error.message}});
    }
    http::Response r = error_response(error);
    r.headers.push_back({"x-tandem-route", route_header(run)});
    co_await responder.send(std::move(r));
    co_return;
  }
  state.metrics.task_requests.with({config.name, "ok"}).inc();
  json::object body = result_body(*task, run, totals, seconds);
  http::Response r = json_ok(body);
  r.headers.push_back({"x-tandem-route", route_header(run)});
  r.headers.push_back({"x-tandem-variant", run.answer->result.variant});
  r.headers.push_back({"x-tandem-cost-usd", core::format_usd(totals.cost_pico_usd)});
  co_await responder.send(std::move(r));
}

http::Task<void> serve_task_list(WorkerContext& worker, http::Responder& responder) {
  co_await responder.send(json_ok(task_list_body(worker.state.task_registry.get())));
}

http::Task<void> serve_task_reload(WorkerContext& worker, http::Responder& responder,
                                   std::string_view name) {
  GatewayState& state = worker.state;
  tasks::TaskEntry* entry = state.task_registry ? state.task_registry->find(name) : nullptr;
  if (entry == nullptr) {
    co_await responder.send(error_response(task_not_found(name)));
    co_return;
  }
  // Loading reads and checks files that may be large: on a worker, like inference. A reload may
  // take far longer than one inference: give it at least a minute.
  auto deadline =
      http::Clock::now() + std::max<std::chrono::milliseconds>(state.config.server.task_timeout,
                                                               std::chrono::minutes(1));
  // Shared with the job: a worker may finish the reload after this request stopped waiting.
  auto fresh = std::make_shared<std::shared_ptr<const tasks::LoadedTask>>();
  // Named, not temporaries: GCC 12 mishandles temporaries inside a co_await expression.
  std::function<tasks::TaskAnswer()> work = [entry, fresh] {
    *fresh = entry->reload();
    return tasks::TaskAnswer{};
  };
  std::string failure = "reload failed; the previous model keeps serving";
  PoolOutcome pool = co_await run_on_pool(worker, std::move(work), std::move(failure), deadline,
                                          &responder.cancel_signal());
  const config::TaskConfig& task = entry->config();
  if (pool.error) {
    if (pool.error->status == 503 || pool.error->status == 504) {
      co_await responder.send(error_response(*pool.error));
      co_return;
    }
    state.metrics.task_reloads.with({task.name, "failed"}).inc();
    log::error("task_reload_failed", {{"task", task.name}, {"error", pool.error->message}});
    pool.error->code = "model_load_failed";
    co_await responder.send(error_response(*pool.error));
    co_return;
  }
  state.metrics.task_reloads.with({task.name, "ok"}).inc();
  log::info("task_reloaded", {{"task", task.name}});
  co_await responder.send(json_ok(reload_body(*entry, **fresh)));
}

}  // namespace tandem::api
