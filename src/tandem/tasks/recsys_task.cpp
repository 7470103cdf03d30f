// The recommender as a task: recommendations for a user (with the reasons), or the items most
// like an item.
#include "tandem/models/recsys/mf_artifact.h"
#include "tandem/tasks/tailored_task.h"

namespace tandem::tasks {

namespace json = boost::json;
using models::recsys::MfModel;

namespace {

class RecsysTask final : public TailoredTask {
 public:
  RecsysTask(models::ArtifactMeta meta, MfModel model, bool fallback)
      : TailoredTask(std::move(meta)), model_(std::move(model)), fallback_(fallback) {}

  TaskAnswer run(const TaskInput& input) const override {
    const auto& in = std::get<RecsysInput>(input);
    TaskAnswer answer;
    if (in.item) {
      if (!model_.has_item(*in.item)) {
        throw TaskInputError("input.item: item " + std::to_string(*in.item) +
                                 " is not in the model (" + std::to_string(model_.num_items()) +
                                 " items known)",
                             "input.item", "unknown_item");
      }
      json::array similar;
      for (const auto& s : model_.similar_items(*in.item, static_cast<std::size_t>(in.n))) {
        similar.push_back(json::object{{"item", s.item}, {"similarity", s.score}});
      }
      answer.output = json::object{{"item", *in.item}, {"similar", std::move(similar)}};
      return answer;
    }
    std::uint32_t user = *in.user;
    bool known = model_.has_user(user);
    if (!known && !fallback_) {
      throw TaskInputError("input.user: user " + std::to_string(user) +
                               " is not in the model and this task has no popularity fallback",
                           "input.user", "unknown_user");
    }
    auto rec = model_.recommend(user, static_cast<std::size_t>(in.n));
    json::array items;
    for (const auto& s : rec.items) {
      json::object item{{"item", s.item}, {"score", s.score}};
      if (known && in.explain > 0) {
        json::array because;
        for (const auto& e : model_.explain(user, s.item, static_cast<std::size_t>(in.explain))) {
          because.push_back(json::object{{"item", e.item},
                                         {"rating", e.rating},
                                         {"similarity", e.similarity},
                                         {"weight", e.weight}});
        }
        item["because"] = std::move(because);
      }
      items.push_back(std::move(item));
    }
    answer.output = json::object{
        {"user", user},
        {"items", std::move(items)},
        {"popularity_fallback", rec.popularity_fallback},
        // Explicit models score a predicted rating, implicit ones a
        // preference; the fallback's scores are interaction counts.
        {"score", rec.popularity_fallback                                    ? "interactions"
                  : model_.feedback() == models::recsys::Feedback::kExplicit ? "predicted_rating"
                                                                             : "preference"}};
    return answer;
  }

  json::object describe() const override {
    return json::object{{"feedback", models::recsys::to_string(model_.feedback())},
                        {"users", model_.num_users()},
                        {"items", model_.num_items()},
                        {"factors", model_.factors()},
                        {"fallback", fallback_ ? "popularity" : "none"}};
  }

 private:
  MfModel model_;
  bool fallback_;
};

}  // namespace

std::shared_ptr<const TailoredTask> load_recsys_task(const config::TaskConfig& config,
                                                     models::Artifact artifact) {
  try {
    MfModel model = models::recsys::from_artifact(artifact);
    return std::make_shared<RecsysTask>(std::move(artifact.meta), std::move(model),
                                        config.fallback);
  } catch (const models::recsys::RecsysError& e) {
    throw std::runtime_error(config.model + ": " + e.what());
  }
}

}  // namespace tandem::tasks
