// The text classifier on the real Fine Foods reviews (when scripts/setup_data.sh has prepared
// them; skipped with a message otherwise), in a fast configuration: well above the majority
// class. The 0.82 accuracy target belongs to the benchmark (bench/text/README.md).
#include <gtest/gtest.h>

#include <filesystem>

#include "tandem/datasets/data_files.h"
#include "tandem/datasets/text_dataset.h"
#include "tandem/models/text/text_classifier.h"
#include "tandem/models/text/text_training.h"

namespace tandem::models::text {
namespace {

TEST(TextRealData, FastConfigurationIsClearlyAboveTheMajorityClass) {
  const std::filesystem::path dir = datasets::data_dir();
  const auto train_file = dir / datasets::files::kFineFoodsTrain;
  const auto test_file = dir / datasets::files::kFineFoodsTest;
  if (dir.empty() || !std::filesystem::exists(train_file) || !std::filesystem::exists(test_file)) {
    GTEST_SKIP() << "Fine Foods data (" << train_file.string()
                 << ") is absent: run scripts/setup_data.sh (or set TANDEM_DATA to its cache)";
  }
  TextTrainOptions options;
  options.train_csv = train_file;
  options.refit = false;
  options.fasttext.dim = 16;
  options.fasttext.bucket = 20'000;
  options.fasttext.epochs = 5;
  options.linear.max_iterations = 60;
  const auto model =
      TextClassifier::from_artifact(train_text_classifier(options, {}), "fine foods");
  const datasets::TextDataset test = datasets::load_text_csv(test_file);
  const models::ClassificationReport report = evaluate_text_classifier(*model, test);
  RecordProperty("accuracy", std::to_string(report.accuracy));
  RecordProperty("ece", std::to_string(report.ece));
  // Majority class ("great"): 0.658. Measured here: see the property above.
  EXPECT_GT(report.accuracy, 0.75);
  EXPECT_GT(report.macro_f1, 0.65);
  EXPECT_LT(report.ece, 0.1);
  const TextPrediction p =
      model->predict("Absolutely delicious, the best coffee I have ever had!", 3);
  EXPECT_EQ(model->labels()[p.label], "great");
  ASSERT_FALSE(p.explanation.empty());
  EXPECT_GT(p.explanation[0].weight, 0.0f);
}

}  // namespace
}  // namespace tandem::models::text
