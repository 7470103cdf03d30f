// Training: seeded and reproducible, the artifact's metadata, and clear errors for bad options
// and data.
#include "tandem/models/text/text_training.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "tandem/models/text/text_classifier.h"
#include "text_test_support.h"

namespace tandem::models::text {
namespace {

using testing::small_options;
using testing::synthetic_examples;
using testing::write_csv;

std::string training_error(const TextTrainOptions& options) {
  try {
    train_text_classifier(options, {});
  } catch (const TextModelError& e) {
    return e.what();
  }
  return "no error";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(TextTraining, SameSeedGivesAnIdenticalPayloadWhateverTheThreads) {
  const auto csv = write_csv("determinism.csv", synthetic_examples(300, 2, 11));
  TextTrainOptions options = small_options(csv);
  options.refit = true;  // the refit models must be reproducible too
  const models::Artifact first = train_text_classifier(options, {});
  const models::Artifact again = train_text_classifier(options, {});
  EXPECT_EQ(first.payload, again.payload);
  EXPECT_EQ(first.meta.metrics, again.meta.metrics);
  options.threads = 2;  // both models at once: the same models
  const models::Artifact threaded = train_text_classifier(options, {});
  EXPECT_EQ(first.payload, threaded.payload);
  options.threads = 1;
  options.seed = 43;  // another validation split and fastText seed: another model
  const models::Artifact other = train_text_classifier(options, {});
  EXPECT_NE(first.payload, other.payload);
}

TEST(TextTraining, ArtifactCarriesKindVersionDataHashMetricsAndParams) {
  const auto& shared = testing::shared_binary_model();
  const models::ArtifactMeta& meta = shared.artifact.meta;
  EXPECT_EQ(meta.kind, "text");
  EXPECT_EQ(meta.version, 1);
  EXPECT_EQ(meta.data_sha256, models::sha256_file(shared.csv.string()));
  for (const char* metric :
       {"validation_accuracy", "validation_macro_f1", "validation_ece", "validation_nll",
        "validation_accuracy_linear", "validation_accuracy_fasttext", "temperature",
        "fasttext_weight", "train_examples", "validation_examples", "labels"}) {
    EXPECT_TRUE(meta.metrics.contains(metric)) << metric;
  }
  // 20% of each label held out: 60 + 60 of 600.
  EXPECT_EQ(meta.metrics.at("validation_examples"), 120);
  EXPECT_EQ(meta.metrics.at("train_examples"), 480);
  EXPECT_EQ(meta.params.at("seed"), "7");
  EXPECT_EQ(meta.params.at("fasttext.dim"), "16");
  EXPECT_EQ(meta.params.at("validation_fraction"), "0.2");
}

TEST(TextTraining, ReportsProgressInPhases) {
  const auto csv = write_csv("progress.csv", synthetic_examples(100, 2, 5));
  for (const int threads : {1, 2}) {
    // With two threads fastText trains on another one, but progress comes from this one only.
    const auto caller = std::this_thread::get_id();
    std::vector<std::string> phases;
    TextTrainOptions options = small_options(csv);
    options.threads = threads;
    train_text_classifier(options, [&](const TrainProgress& p) {
      EXPECT_TRUE(p.total == 0 || p.done <= p.total) << p.phase;
      EXPECT_EQ(std::this_thread::get_id(), caller);
      if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
    });
    const auto has = [&](const std::string& prefix) {
      return std::any_of(phases.begin(), phases.end(),
                         [&](const std::string& p) { return p.rfind(prefix, 0) == 0; });
    };
    EXPECT_TRUE(has("tokenising")) << threads;
    EXPECT_TRUE(has("linear model")) << threads;
    EXPECT_TRUE(has("fastText")) << threads;
    EXPECT_TRUE(has("fitting ensemble weight and temperature")) << threads;
  }
}

TEST(TextTraining, BadOptionsAreRefusedByName) {
  const auto csv = write_csv("options.csv", synthetic_examples(40, 2, 1));
  TextTrainOptions o = small_options(csv);
  o.validation_fraction = 0;
  EXPECT_TRUE(contains(training_error(o), "validation_fraction")) << training_error(o);
  o = small_options(csv);
  o.fasttext.word_ngrams = 3;
  EXPECT_TRUE(contains(training_error(o), "fasttext.word_ngrams")) << training_error(o);
  o = small_options(csv);
  o.linear.l2 = -1;
  EXPECT_TRUE(contains(training_error(o), "linear.l2")) << training_error(o);
  o = small_options(csv);
  o.threads = 0;
  EXPECT_TRUE(contains(training_error(o), "threads")) << training_error(o);
  o = small_options({});
  EXPECT_TRUE(contains(training_error(o), "no training file")) << training_error(o);
}

TEST(TextTraining, BadDataIsRefusedClearly) {
  TextTrainOptions o = small_options({});
  o.train_csv = std::filesystem::path(::testing::TempDir()) / "tandem-text-no-such-file.csv";
  EXPECT_TRUE(contains(training_error(o), "tandem-text-no-such-file.csv")) << training_error(o);

  std::string one_label = "text,label\n";
  for (int i = 0; i < 20; ++i) one_label += "good food " + std::to_string(i) + ",great\n";
  o.train_csv = testing::write_file("one-label.csv", one_label);
  EXPECT_TRUE(contains(training_error(o), "only one label ('great')")) << training_error(o);

  o.train_csv = testing::write_file("few.csv", "text,label\ngood,a\nbad,b\nfine,a\nawful,b\n");
  EXPECT_TRUE(contains(training_error(o), "4 examples; at least 10")) << training_error(o);

  std::string lonely = "text,label\n";
  for (int i = 0; i < 20; ++i) lonely += "text " + std::to_string(i) + ",common\n";
  lonely += "odd one,rare\n";
  o.train_csv = testing::write_file("lonely.csv", lonely);
  EXPECT_TRUE(contains(training_error(o), "the label 'rare' has one example")) << training_error(o);

  o.train_csv = testing::write_file("malformed.csv", "text,label\n\"unclosed,a\n");
  EXPECT_TRUE(contains(training_error(o), "malformed.csv")) << training_error(o);
}

}  // namespace
}  // namespace tandem::models::text
