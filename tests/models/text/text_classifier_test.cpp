// The trained classifier on synthetic texts: it learns, its probabilities are calibrated and
// sum to 1, its explanations name the words that carry the label with the right sign, it refuses
// bad inputs clearly, and it answers the same from many threads at once.
#include "tandem/models/text/text_classifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>

#include "text_test_support.h"

namespace tandem::models::text {
namespace {

using testing::shared_binary_model;
using testing::synthetic_examples;

TEST(TextClassifier, LearnsTheSyntheticTaskWellAboveChance) {
  const auto& shared = shared_binary_model();
  ASSERT_EQ(shared.model->labels(), (std::vector<std::string>{"label0", "label1"}));
  // Texts it has never seen (another seed): chance is 0.5, a text carries its label's signal
  // word and in 10% of cases a misleading one too.
  const auto held_out = testing::as_dataset(synthetic_examples(300, 2, 1001), 2);
  const models::ClassificationReport report = evaluate_text_classifier(*shared.model, held_out);
  EXPECT_EQ(report.examples, 300u);
  EXPECT_GT(report.accuracy, 0.9);
  EXPECT_GT(report.macro_f1, 0.9);
  EXPECT_LT(report.ece, 0.1);
  EXPECT_GT(shared.artifact.meta.metrics.at("validation_accuracy"), 0.9);
}

TEST(TextClassifier, ProbabilitiesAreCalibratedAndSumToOne) {
  const auto& shared = shared_binary_model();
  const auto& metrics = shared.artifact.meta.metrics;
  // The temperature was fitted (not left at 1) and stored in the model.
  ASSERT_TRUE(metrics.contains("temperature"));
  EXPECT_GE(metrics.at("temperature"), 0.05);
  EXPECT_LE(metrics.at("temperature"), 20.0);
  EXPECT_NE(metrics.at("temperature"), 1.0);
  EXPECT_FLOAT_EQ(shared.model->temperature(), static_cast<float>(metrics.at("temperature")));
  EXPECT_GE(shared.model->fasttext_weight(), 0.0f);
  EXPECT_LE(shared.model->fasttext_weight(), 1.0f);
  for (const auto& e : synthetic_examples(50, 2, 77)) {
    const TextPrediction p = shared.model->predict(e.text);
    ASSERT_EQ(p.probabilities.size(), 2u);
    EXPECT_NEAR(std::accumulate(p.probabilities.begin(), p.probabilities.end(), 0.0), 1.0, 1e-5);
    EXPECT_EQ(p.confidence, p.probabilities[p.label]);
    EXPECT_EQ(p.confidence, *std::max_element(p.probabilities.begin(), p.probabilities.end()));
    EXPECT_GE(p.confidence, 0.5f);
    EXPECT_LE(p.confidence, 1.0f);
  }
  // Only filler words: no evidence either way, so the model must not be sure.
  const TextPrediction unsure = shared.model->predict("w1 w2 w3 w4 w5 w6");
  EXPECT_LT(unsure.confidence, 0.8f);
}

TEST(TextClassifier, ExplanationNamesTheSignalWordsWithTheRightSign) {
  const auto& model = *shared_binary_model().model;
  const TextPrediction positive = model.predict("w3 w17 delicious w40 w8 w61", 3);
  EXPECT_EQ(model.labels()[positive.label], "label0");
  ASSERT_EQ(positive.explanation.size(), 3u);
  EXPECT_EQ(positive.explanation[0].token, "delicious");
  EXPECT_GT(positive.explanation[0].weight, 0.0f);
  // Most influential first.
  for (std::size_t i = 1; i < positive.explanation.size(); ++i) {
    EXPECT_GE(std::abs(positive.explanation[i - 1].weight),
              std::abs(positive.explanation[i].weight));
  }

  const TextPrediction negative = model.predict("w5 awful w22 w9 w70 w33", 3);
  EXPECT_EQ(model.labels()[negative.label], "label1");
  EXPECT_EQ(negative.explanation.at(0).token, "awful");
  EXPECT_GT(negative.explanation.at(0).weight, 0.0f);

  // Two signals for the first label and one against it: the one against has a negative weight.
  const TextPrediction mixed = model.predict("w5 delicious w9 wonderful w22 refund w70", 10);
  EXPECT_EQ(model.labels()[mixed.label], "label0");
  const auto refund = std::find_if(mixed.explanation.begin(), mixed.explanation.end(),
                                   [](const TokenWeight& t) { return t.token == "refund"; });
  ASSERT_NE(refund, mixed.explanation.end());
  EXPECT_LT(refund->weight, 0.0f);
  for (const TokenWeight& t : mixed.explanation) {
    if (t.token == "delicious" || t.token == "wonderful") {
      EXPECT_GT(t.weight, 0.0f);
    }
  }

  // A word that appears twice is one entry; word pairs are named "a b".
  const TextPrediction repeated = model.predict("delicious w1 delicious", 20);
  std::size_t delicious = 0;
  bool pair = false;
  for (const TokenWeight& t : repeated.explanation) {
    delicious += t.token == "delicious" ? 1 : 0;
    pair = pair || t.token == "delicious w1" || t.token == "w1 delicious";
  }
  EXPECT_EQ(delicious, 1u);
  EXPECT_TRUE(pair);
  EXPECT_TRUE(model.predict("delicious w1", 0).explanation.empty());
}

TEST(TextClassifier, ThreeOrMoreLabelsWork) {
  for (const std::size_t labels : {3u, 4u}) {
    const auto csv = testing::write_csv("labels" + std::to_string(labels) + ".csv",
                                        synthetic_examples(200 * labels, labels, 3));
    const models::Artifact artifact = train_text_classifier(testing::small_options(csv), {});
    const auto model = TextClassifier::from_artifact(artifact, "multi-label model");
    ASSERT_EQ(model->labels().size(), labels);
    const auto held_out = testing::as_dataset(synthetic_examples(100 * labels, labels, 99), labels);
    const auto report = evaluate_text_classifier(*model, held_out);
    EXPECT_GT(report.accuracy, 0.85) << labels << " labels";
    ASSERT_EQ(report.confusion.size(), labels);
    for (std::size_t l = 0; l < labels; ++l) {
      const std::string& word = testing::signal_words()[l][0];
      const TextPrediction p = model->predict("w1 w2 " + word + " w3 w4", 2);
      EXPECT_EQ(p.label, l) << word;
      EXPECT_EQ(p.probabilities.size(), labels);
      EXPECT_NEAR(std::accumulate(p.probabilities.begin(), p.probabilities.end(), 0.0), 1.0, 1e-5);
      EXPECT_EQ(p.explanation.at(0).token, word);
      EXPECT_GT(p.explanation.at(0).weight, 0.0f);
    }
  }
}

TEST(TextClassifier, BadInputsGiveClearErrors) {
  const auto& model = *shared_binary_model().model;
  const auto message = [&](std::string_view text) {
    try {
      model.predict(text);
    } catch (const TextModelError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(""), "text is empty");
  EXPECT_EQ(message("  \n\t "), "text is only whitespace");
  EXPECT_EQ(message("delicious \xfe"), "text is not valid UTF-8 (byte 10)");
  EXPECT_EQ(message(std::string(kMaxTextBytes + 1, 'w')),
            "text is 100001 bytes long; the limit is 100000");
  EXPECT_EQ(message("... --- ;;"), "text has no words to classify (only punctuation or symbols)");
  // Unknown words are fine: the model answers from what it knows (here nothing but the bias).
  EXPECT_NO_THROW(model.predict("zzz qqq"));
  EXPECT_NO_THROW(model.predict(std::string(kMaxTextBytes, 'w')));
}

TEST(TextClassifier, ConcurrentPredictionsEqualSequentialOnes) {
  const auto& model = *shared_binary_model().model;
  const auto examples = synthetic_examples(200, 2, 5);
  std::vector<TextPrediction> expected;
  for (const auto& e : examples) expected.push_back(model.predict(e.text, 3));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (std::size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < examples.size(); ++i) {
          const TextPrediction p = model.predict(examples[i].text, 3);
          bool same = p.label == expected[i].label &&
                      p.probabilities == expected[i].probabilities &&
                      p.explanation.size() == expected[i].explanation.size();
          for (std::size_t j = 0; same && j < p.explanation.size(); ++j) {
            same = p.explanation[j].token == expected[i].explanation[j].token &&
                   p.explanation[j].weight == expected[i].explanation[j].weight;
          }
          mismatches[t] += same ? 0 : 1;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(TextClassifier, EvaluationRefusesLabelsTheModelDoesNotKnow) {
  const auto& model = *shared_binary_model().model;
  auto data = testing::as_dataset(synthetic_examples(10, 2, 1), 2);
  data.labels[1] = "elsewhere";
  try {
    evaluate_text_classifier(model, data);
    FAIL() << "no error";
  } catch (const TextModelError& e) {
    EXPECT_NE(std::string(e.what()).find("'elsewhere' is not one the model knows"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tandem::models::text
