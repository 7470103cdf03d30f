// POST /v1/tasks/<name>, GET /v1/tasks and POST /v1/tasks/<name>/reload: tailored models behind
// the API. The network thread parses and checks the input, posts the job to the worker pool and
// waits for it without blocking its other connections; the worker runs the model.
#include <atomic>
#include <boost/json.hpp>
#include <chrono>

#include "tandem/api/endpoints.h"
#include "tandem/api/model_call.h"
#include "tandem/http/waiter.h"
#include "tandem/log/logger.h"

namespace tandem::api {

namespace json = boost::json;

namespace {

using Seconds = std::chrono::duration<double>;

// One request's work, shared by the waiting coroutine and the worker.
struct TaskJob {
  std::function<tasks::TaskAnswer()> work;  // runs the model (or reloads it)
  std::string failure;                      // what a failure of `work` is called in the error
  std::shared_ptr<const tasks::TailoredTask> model;
  std::function<void()> wake;
  http::Clock::time_point queued_at;
  // Written by the worker before `done`; read by the coroutine after it sees `done`.
  tasks::TaskAnswer answer;
  std::optional<core::ApiError> error;
  const char* outcome = "ok";
  double queue_seconds = 0;
  double run_seconds = 0;
  std::atomic<bool> done{false};
  // Set by the coroutine when it stopped waiting (timeout, client gone): the worker skips the
  // model if it has not started yet.
  std::atomic<bool> abandoned{false};
};

void run_job(TaskJob& job) {
  auto started = http::Clock::now();
  job.queue_seconds = Seconds(started - job.queued_at).count();
  if (!job.abandoned.load()) {
    try {
      job.answer = job.work();
    } catch (const tasks::TaskInputError& e) {
      job.error = core::invalid_request(e.what(), e.param(), e.code());
      job.outcome = "invalid_input";
    } catch (const std::exception& e) {
      job.error = core::internal_error(job.failure + ": " + e.what());
      job.outcome = "error";
    }
  }
  job.run_seconds = Seconds(http::Clock::now() - started).count();
  job.done.store(true);
  if (!job.abandoned.load()) job.wake();
}

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

core::ApiError service_unavailable(std::string message) {
  return core::ApiError{503, "server_error", "overloaded", std::move(message), ""};
}

// Runs `job` on the pool and waits for it until the deadline; nullopt when it finished, else the
// error to answer with.
http::Task<std::optional<core::ApiError>> run_on_pool(WorkerContext& worker,
                                                      std::shared_ptr<TaskJob> job,
                                                      http::Clock::time_point deadline,
                                                      http::CancelSignal* cancel) {
  auto waiter = std::make_shared<http::Waiter>(co_await asio::this_coro::executor);
  job->wake = waiter->waker();
  job->queued_at = http::Clock::now();
  if (!worker.state.task_pool->submit([job] { run_job(*job); })) {
    co_return service_unavailable("the task queue is full (" +
                                  std::to_string(worker.state.task_pool->queue_limit()) +
                                  " jobs waiting); retry later");
  }
  http::CancelHook hook(cancel, [waiter] { waiter->interrupt(); });
  while (!job->done.load()) {
    bool in_time = co_await waiter->wait(deadline);
    if (job->done.load()) break;
    if (!in_time || http::is_cancelled(cancel)) {
      job->abandoned.store(true);
      co_return core::gateway_timeout(
          "the task did not finish within " +
          std::to_string(worker.state.config.server.task_timeout.count()) + " ms");
    }
  }
  co_return std::nullopt;
}

// The answer of POST /v1/tasks/<name>. (Outside the coroutines: GCC 12 miscompiles braced
// initialiser lists holding string literals inside a coroutine.)
json::object result_body(const config::TaskConfig& task, TaskJob& job) {
  json::object body{{"object", "task.result"},
                    {"task", task.name},
                    {"kind", task.kind},
                    {"output", std::move(job.answer.output)}};
  if (job.answer.confidence) body["confidence"] = *job.answer.confidence;
  body["model"] = model_info(*job.model);
  body["timing"] = json::object{{"queue_us", std::llround(job.queue_seconds * 1e6)},
                                {"inference_us", std::llround(job.run_seconds * 1e6)}};
  return body;
}

json::object task_list_body(const tasks::TaskRegistry* registry) {
  json::array data;
  if (registry != nullptr) {
    for (const auto& entry : registry->entries()) {
      auto model = entry->model();
      data.push_back(json::object{{"id", entry->config().name},
                                  {"object", "task"},
                                  {"kind", entry->config().kind},
                                  {"model", model_info(*model)},
                                  {"details", model->describe()},
                                  {"reloads", entry->reloads()}});
    }
  }
  return json::object{{"object", "list"}, {"data", std::move(data)}};
}

json::object reload_body(const tasks::TaskEntry& entry, TaskJob& job) {
  return json::object{{"object", "task.reload"},
                      {"task", entry.config().name},
                      {"reloads", entry.reloads()},
                      {"model", std::move(job.answer.output)}};
}

}  // namespace

http::Task<void> serve_task(WorkerContext& worker, const http::Request& request,
                            http::Responder& responder, std::string_view name) {
  GatewayState& state = worker.state;
  tasks::TaskEntry* entry = state.task_registry ? state.task_registry->find(name) : nullptr;
  if (entry == nullptr) {
    co_await responder.send(error_response(task_not_found(name)));
    co_return;
  }
  const config::TaskConfig& task = entry->config();
  auto parsed = tasks::parse_task_input(task, request.header("content-type"), request.body,
                                        state.config.server.max_json_depth);
  if (auto* error = std::get_if<core::ApiError>(&parsed)) {
    state.metrics.task_requests.with({task.name, "invalid_input"}).inc();
    co_await responder.send(error_response(*error));
    co_return;
  }
  auto job = std::make_shared<TaskJob>();
  job->model = entry->model();  // this request keeps this model even if a reload swaps it
  job->failure = "the task's model failed";
  job->work = [model = job->model, input = std::move(std::get<tasks::TaskInput>(parsed))] {
    return model->run(input);
  };
  auto deadline = http::Clock::now() + state.config.server.task_timeout;
  auto failed = co_await run_on_pool(worker, job, deadline, &responder.cancel_signal());
  if (failed) {
    state.metrics.task_requests.with({task.name, failed->status == 503 ? "rejected" : "timeout"})
        .inc();
    co_await responder.send(error_response(*failed));
    co_return;
  }
  state.metrics.task_requests.with({task.name, job->outcome}).inc();
  state.metrics.task_queue_wait.with({task.name}).observe(job->queue_seconds);
  state.metrics.task_inference.with({task.name}).observe(job->run_seconds);
  if (job->error) {
    if (job->error->status >= 500) {
      log::error("task_failed", {{"task", task.name}, {"error", job->error->message}});
    }
    co_await responder.send(error_response(*job->error));
    co_return;
  }
  json::object body = result_body(task, *job);
  co_await responder.send(json_ok(body));
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
  // Loading reads and checks a file that may be large: on a worker, like inference.
  auto job = std::make_shared<TaskJob>();
  job->failure = "reload failed; the previous model keeps serving";
  job->work = [entry] { return tasks::TaskAnswer{model_info(*entry->reload()), std::nullopt}; };
  // A reload may take far longer than one inference: give it at least a minute.
  auto deadline =
      http::Clock::now() + std::max<std::chrono::milliseconds>(state.config.server.task_timeout,
                                                               std::chrono::minutes(1));
  auto failed = co_await run_on_pool(worker, job, deadline, &responder.cancel_signal());
  if (failed) {
    co_await responder.send(error_response(*failed));
    co_return;
  }
  const config::TaskConfig& task = entry->config();
  if (job->error) {
    state.metrics.task_reloads.with({task.name, "failed"}).inc();
    log::error("task_reload_failed", {{"task", task.name}, {"error", job->error->message}});
    job->error->code = "model_load_failed";
    co_await responder.send(error_response(*job->error));
    co_return;
  }
  state.metrics.task_reloads.with({task.name, "ok"}).inc();
  log::info("task_reloaded", {{"task", task.name}});
  co_await responder.send(json_ok(reload_body(*entry, *job)));
}

}  // namespace tandem::api
