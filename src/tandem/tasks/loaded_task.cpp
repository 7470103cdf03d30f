#include "tandem/tasks/loaded_task.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace tandem::tasks {

namespace {

// A tailored model of a labels task must answer with the task's labels, or its answers could
// not stand in for an LLM's.
void check_labels(const config::TaskConfig& task, const LoadedVariant& v) {
  if (task.contract != "labels" || task.labels.empty() || task.kind != "text") return;
  boost::json::object details = v.model->describe();
  const boost::json::value* labels = details.if_contains("labels");
  if (labels == nullptr || !labels->is_array()) return;
  for (const auto& l : labels->get_array()) {
    if (!l.is_string()) continue;
    std::string label(l.get_string());
    if (std::find(task.labels.begin(), task.labels.end(), label) == task.labels.end()) {
      throw std::runtime_error("variant '" + v.name + "': the model's label '" + label +
                               "' is not one of the task's labels");
    }
  }
}

// Which router model a candidate variant is: the variant's name, or for an LLM variant its
// model's name or the upstream model of that model's first route (as recorded answers name it).
std::optional<std::size_t> router_column_of(const routing::RouterModel& router,
                                            const config::TaskConfig& task,
                                            const std::string& variant,
                                            const TaskLoadOptions& options) {
  const auto& names = router.models();
  std::vector<std::string> candidates{variant};
  const config::VariantConfig* v = task.find_variant(variant);
  if (v != nullptr && !v->model.empty()) {
    candidates.push_back(v->model);
    if (auto it = options.first_route_models.find(v->model);
        it != options.first_route_models.end()) {
      candidates.push_back(it->second);
    }
  }
  for (const auto& name : candidates) {
    auto at = std::find(names.begin(), names.end(), name);
    if (at != names.end()) return static_cast<std::size_t>(at - names.begin());
  }
  return std::nullopt;
}

// The same for a variant that needs its column: a clear error when the router lacks it.
std::size_t find_router_column(const routing::RouterModel& router, const config::TaskConfig& task,
                               const std::string& variant, const TaskLoadOptions& options) {
  if (auto column = router_column_of(router, task, variant, options)) return *column;
  const auto& names = router.models();
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw std::runtime_error("the router has no model for variant '" + variant +
                           "' (it knows: " + list + ")");
}

}  // namespace

const LoadedVariant* LoadedTask::find(std::string_view variant) const {
  for (const auto& v : variants_) {
    if (v.name == variant) return &v;
  }
  return nullptr;
}

std::optional<std::size_t> LoadedTask::router_column(std::string_view variant) const {
  auto it = router_columns_.find(variant);
  if (it == router_columns_.end()) return std::nullopt;
  return it->second;
}

const TailoredTask* LoadedTask::primary_model() const {
  for (const auto& v : variants_) {
    if (v.model) return v.model.get();
  }
  return nullptr;
}

std::shared_ptr<const LoadedTask> LoadedTask::load(const config::TaskConfig& config,
                                                   const TaskLoadOptions& options) {
  auto task = std::make_shared<LoadedTask>();
  task->config_ = &config;
  // The short form (one tailored model, `model = ...`) keeps its first-release responses.
  // (the config validated every variant: names, kinds, models, confidences)
  task->hybrid_ = config.model.empty();
  for (const auto& vc : config.variants) {
    LoadedVariant v;
    v.name = vc.name;
    v.kind = vc.kind;
    v.config = &vc;
    if (vc.kind == "tailored") {
      v.model = load_tailored_task(config, vc.artifact);
      check_labels(config, v);
    } else {
      prompts::BuilderOptions builder_options;
      if (vc.embedder != "glove") {
        auto it = options.embedders.find(vc.embedder);
        if (it == options.embedders.end()) {
          throw std::runtime_error("variant '" + vc.name +
                                   "': no embedder for the embeddings model '" + vc.embedder + "'");
        }
        builder_options.embedder = it->second;
      }
      v.prompt =
          std::make_shared<const prompts::PromptBuilder>(config, vc, std::move(builder_options));
    }
    task->variants_.push_back(std::move(v));
  }

  routing::EffectivePolicy& p = task->policy_;
  p.kind = config.policy.kind;
  p.variants = config.policy.variants;
  p.thresholds = config.policy.thresholds;
  p.weights = config.policy.weights;
  p.fallback = config.policy.fallback;
  if (!config.policy.thresholds_file.empty()) {
    CascadeThresholds fitted = read_cascade_thresholds(config.policy.thresholds_file);
    if (fitted.variants != p.variants) {
      throw std::runtime_error("'" + config.policy.thresholds_file +
                               "' was fitted for other stages than policy.variants");
    }
    p.thresholds = fitted.thresholds;
  }
  if (config.distill && std::filesystem::exists(config.distill->artifact)) {
    std::optional<DistillState> state = read_distill_state(config.distill->artifact);
    if (state && state->accepted) {
      // The distilled model becomes the cheap first stage: it answers what it is sure of, the
      // policy as configured answers the rest.
      LoadedVariant v;
      v.name = std::string(kDistilledVariant);
      v.kind = "tailored";
      v.model = load_tailored_task(config, config.distill->artifact);
      check_labels(config, v);
      task->variants_.push_back(std::move(v));
      if (p.kind == "single") {
        p.kind = "cascade";
        p.thresholds.clear();
      }
      p.variants.insert(p.variants.begin(), std::string(kDistilledVariant));
      p.thresholds.insert(p.thresholds.begin(), state->threshold);
      task->distilled_ = state;
    }
  }
  if (p.kind == "cascade" && p.thresholds.size() + 1 != p.variants.size()) {
    throw std::runtime_error("the cascade has " + std::to_string(p.variants.size()) +
                             " stages but " + std::to_string(p.thresholds.size()) +
                             " thresholds (distillation adds its stage only once it has run)");
  }
  if (!config.policy.router.empty()) {
    task->router_ = std::make_shared<const routing::RouterModel>(
        routing::RouterModel::load(config.policy.router));
    bool agreement = false;
    for (const auto& v : config.variants) {
      agreement = agreement || (v.kind == "llm" && v.confidence == "router_agreement");
    }
    for (const auto& name : p.variants) {
      const config::VariantConfig* vc = config.find_variant(name);
      bool needs = p.kind == "router" ||
                   (vc != nullptr && vc->kind == "llm" &&
                    (vc->confidence == "router" || vc->confidence == "router_agreement"));
      if (needs) {
        task->router_columns_[name] = find_router_column(*task->router_, config, name, options);
      } else if (agreement) {
        // An earlier stage's answer counts in router_agreement when the router knows how often
        // its model is right; a stage it does not know (a distilled model, say) is left out.
        if (auto column = router_column_of(*task->router_, config, name, options)) {
          task->router_columns_[name] = *column;
        }
      }
    }
  }
  return task;
}

}  // namespace tandem::tasks
