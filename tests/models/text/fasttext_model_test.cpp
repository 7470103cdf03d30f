// The fastText half served from its weights: the logits must be libfasttext's own (its
// predictLine on the same tokens), unknown and non-ASCII words included, and damaged model bytes
// must be refused.
#include "tandem/models/text/fasttext_model.h"

#include <fasttext/fasttext.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "tandem/models/calibration.h"
#include "tandem/models/text/text_model_error.h"
#include "text_test_support.h"

namespace tandem::models::text {
namespace {

struct Trained {
  std::string bytes;
  std::size_t classes = 0;
};

// Three labels; some accented words (hashed by fastText as signed chars) in the vocabulary.
const Trained& trained() {
  static const Trained t = [] {
    std::vector<Tokens> texts;
    std::vector<std::uint32_t> labels;
    for (const auto& e : testing::synthetic_examples(240, 3, 21)) {
      texts.push_back(tokenize(e.text + (e.label == 0 ? " café crème" : " naïve")));
      labels.push_back(e.label);
    }
    FastTextOptions options;
    options.dim = 12;
    options.bucket = 3000;
    options.epochs = 5;
    options.lr = 0.5;
    return Trained{FastTextModel::train(texts, labels, 3, options, 5), 3};
  }();
  return t;
}

TEST(FastTextModel, LogitsAreLibfasttextsOwnPredictions) {
  const Trained& t = trained();
  const FastTextModel model = FastTextModel::decode(t.bytes, t.classes);
  EXPECT_EQ(model.dim(), 12);
  EXPECT_GT(model.words(), 80u);

  const auto path = std::filesystem::path(::testing::TempDir()) / "tandem-text-fasttext.bin";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << t.bytes;
  }
  fasttext::FastText reference;
  reference.loadModel(path.string());
  std::filesystem::remove(path);

  const std::vector<std::string> texts = {
      "w1 delicious w2 w3",      "stale w4 w5 awful refund", "average w9 café crème",
      "naïve w77 okay",          "unknownword w1 otherword", "completelyunknown",
      "w5 w5 w5 w5 w5 mediocre", "crème brûlée naïve ! ?",
  };
  for (const std::string& text : texts) {
    const Tokens tokens = tokenize(text);
    std::vector<float> logits(3), ours(3);
    model.logits(tokens, logits);
    models::softmax(logits, 1.0, ours);

    std::string line;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      line += (i > 0 ? " " : "") + std::string(tokens[i]);
    }
    std::istringstream in(line + "\n");
    std::vector<std::pair<fasttext::real, std::string>> predictions;
    reference.predictLine(in, predictions, 3, 0.0);
    ASSERT_EQ(predictions.size(), 3u) << text;
    for (const auto& [probability, label] : predictions) {
      // predictLine gives exp(log(p + 1e-5)).
      const float theirs = probability - 1e-5f;
      const auto index = static_cast<std::size_t>(std::stoul(label.substr(9)));
      EXPECT_NEAR(ours[index], theirs, 2e-5) << text << " / " << label;
    }
  }
}

TEST(FastTextModel, TrainingIsReproducible) {
  std::vector<Tokens> texts;
  std::vector<std::uint32_t> labels;
  for (const auto& e : testing::synthetic_examples(100, 2, 4)) {
    texts.push_back(tokenize(e.text));
    labels.push_back(e.label);
  }
  FastTextOptions options;
  options.dim = 8;
  options.bucket = 1000;
  EXPECT_EQ(FastTextModel::train(texts, labels, 2, options, 9),
            FastTextModel::train(texts, labels, 2, options, 9));
  EXPECT_NE(FastTextModel::train(texts, labels, 2, options, 9),
            FastTextModel::train(texts, labels, 2, options, 10));
}

TEST(FastTextModel, DamagedBytesAreRefused) {
  const Trained& t = trained();
  const auto error = [&](const std::string& bytes, std::size_t classes) {
    try {
      FastTextModel::decode(bytes, classes);
    } catch (const TextModelError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error(t.bytes, 3), "no error");
  EXPECT_NE(error(t.bytes, 2).find("expected 2 labels"), std::string::npos) << error(t.bytes, 2);
  for (std::size_t n : {std::size_t{0}, std::size_t{3}, std::size_t{40}, std::size_t{200},
                        t.bytes.size() / 2, t.bytes.size() - 1}) {
    EXPECT_NE(error(t.bytes.substr(0, n), 3).find("fastText model: byte"), std::string::npos)
        << n << ": " << error(t.bytes.substr(0, n), 3);
  }
  std::string bad = t.bytes;
  bad[0] = 'x';
  EXPECT_NE(error(bad, 3).find("not a fastText model"), std::string::npos);
  bad = t.bytes;
  bad[4] = 11;  // an older format version
  EXPECT_NE(error(bad, 3).find("version 11"), std::string::npos);
  bad = t.bytes;
  bad[8 + 6 * 4] = 1;  // loss: hierarchical softmax
  EXPECT_NE(error(bad, 3).find("not softmax"), std::string::npos) << error(bad, 3);
  bad = t.bytes;
  bad[8 + 9 * 4] = 3;  // minn: character n-grams
  EXPECT_NE(error(bad, 3).find("character n-grams"), std::string::npos) << error(bad, 3);
  EXPECT_NE(error(t.bytes + "x", 3).find("unexpected bytes"), std::string::npos);
}

TEST(FastTextModel, BadOptionsAreRefused) {
  std::vector<Tokens> texts = {tokenize("a b"), tokenize("c d")};
  std::vector<std::uint32_t> labels = {0, 1};
  FastTextOptions options;
  options.word_ngrams = 3;
  EXPECT_THROW(FastTextModel::train(texts, labels, 2, options, 1), TextModelError);
  options = {};
  options.dim = 0;
  EXPECT_THROW(FastTextModel::train(texts, labels, 2, options, 1), TextModelError);
  options = {};
  EXPECT_THROW(FastTextModel::train(texts, labels, 3, options, 1), TextModelError);  // no label 2
  EXPECT_EQ(fasttext_hash(""), 2166136261u);
}

}  // namespace
}  // namespace tandem::models::text
