#pragma once
// The gateway's metric families, by name. Created once, shared by all threads.
#include "tandem/metrics/registry.h"

namespace tandem::metrics {

struct GatewayMetrics {
  explicit GatewayMetrics(Registry& registry);

  CounterFamily& http_requests;        // {endpoint, status}
  HistogramFamily& http_duration;      // {endpoint}
  HistogramFamily& model_duration;     // {model, route}: client-visible latency of a model call
  CounterFamily& upstream_attempts;    // {model, route, outcome}
  HistogramFamily& upstream_duration;  // {model, route}: one attempt, to its response head
  CounterFamily& tokens;               // {model, route, type}: prompt | completion
  CounterFamily& cost;                 // {model, route}: USD
  CounterFamily& fallbacks;            // {model}: requests answered by a route other than the first
  CounterFamily& route_failures;       // {model}: requests where every route failed
  CounterFamily& stream_errors;        // {model, route}: streams ended by an error event
  CounterFamily& usage_missing;        // {model, route}: answers without usage
  GaugeFamily& circuit_state;          // {model, route}: 0 closed, 1 open, 2 half-open
  GaugeFamily& inflight;               // {}
  // Local models (llama.cpp in process), refreshed from each engine when /metrics is read.
  GaugeFamily& local_active;     // {model}: sequences being decoded
  GaugeFamily& local_queued;     // {model}: requests waiting for a sequence slot
  CounterFamily& local_tokens;   // {model, kind}: prompt (decoded) | cached (reused) | generated
  CounterFamily& local_decodes;  // {model}: llama_decode calls (batches)
  // Tailored-model tasks on the worker pool.
  CounterFamily& task_requests;  // {task, outcome}: ok | invalid_input | rejected | timeout | error
  HistogramFamily& task_inference;   // {task}: time a worker spent running the model
  HistogramFamily& task_queue_wait;  // {task}: time a job waited for a worker
  GaugeFamily& task_queue_depth;     // {}: jobs waiting (refreshed when /metrics is read)
  CounterFamily& task_reloads;       // {task, outcome}: ok | failed
  // {task, variant, outcome}: accepted | escalated (below its threshold) | failed
  CounterFamily& task_variant_runs;
  CounterFamily& task_cost;  // {task}: pico-USD spent by the task's variants
};

}  // namespace tandem::metrics
