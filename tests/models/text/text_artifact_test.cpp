// The classifier as an artifact file: a round trip keeps every prediction, and corrupt,
// truncated or mismatched files and payloads are refused with an error naming the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>

#include "tandem/models/artifact.h"
#include "tandem/models/text/text_classifier.h"
#include "tandem/models/text/text_payload.h"
#include "text_test_support.h"

namespace tandem::models::text {
namespace {

using testing::shared_binary_model;

std::string path_for(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / ("tandem-text-artifact-" + name)).string();
}

template <typename Error>
std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error of the expected type";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(TextArtifact, RoundTripKeepsEveryPrediction) {
  const auto& shared = shared_binary_model();
  const std::string path = path_for("roundtrip.tdm");
  models::write_artifact(path, shared.artifact);
  const models::ArtifactMeta meta = models::read_artifact_meta(path);
  EXPECT_EQ(meta.kind, "text");
  ASSERT_EQ(meta.metrics.size(), shared.artifact.meta.metrics.size());
  for (const auto& [name, value] : shared.artifact.meta.metrics) {
    EXPECT_NEAR(meta.metrics.at(name), value, 1e-9 * std::max(1.0, std::abs(value))) << name;
  }
  const auto loaded = TextClassifier::load(path);
  EXPECT_EQ(loaded->labels(), shared.model->labels());
  for (const auto& e : testing::synthetic_examples(50, 2, 8)) {
    const TextPrediction a = shared.model->predict(e.text, 4);
    const TextPrediction b = loaded->predict(e.text, 4);
    EXPECT_EQ(a.label, b.label);
    EXPECT_EQ(a.probabilities, b.probabilities);
    ASSERT_EQ(a.explanation.size(), b.explanation.size());
    for (std::size_t i = 0; i < a.explanation.size(); ++i) {
      EXPECT_EQ(a.explanation[i].token, b.explanation[i].token);
      EXPECT_EQ(a.explanation[i].weight, b.explanation[i].weight);
    }
  }
  std::filesystem::remove(path);
}

TEST(TextArtifact, CorruptTruncatedOrOtherKindFilesAreRefusedNamingTheFile) {
  const auto& shared = shared_binary_model();
  const std::string path = path_for("corrupt.tdm");
  models::write_artifact(path, shared.artifact);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto write = [&](const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  };
  std::string flipped = bytes;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x40);
  write(flipped);
  std::string e = error_of<models::ArtifactError>([&] { TextClassifier::load(path); });
  EXPECT_TRUE(contains(e, path)) << e;

  write(bytes.substr(0, bytes.size() - 100));
  e = error_of<models::ArtifactError>([&] { TextClassifier::load(path); });
  EXPECT_TRUE(contains(e, path)) << e;

  models::Artifact other = shared.artifact;
  other.meta.kind = "recsys";
  models::write_artifact(path, other);
  e = error_of<models::ArtifactError>([&] { TextClassifier::load(path); });
  EXPECT_TRUE(contains(e, path) && contains(e, "recsys")) << e;

  other = shared.artifact;
  other.meta.version = 2;
  models::write_artifact(path, other);
  e = error_of<models::ArtifactError>([&] { TextClassifier::load(path); });
  EXPECT_TRUE(contains(e, path)) << e;

  EXPECT_TRUE(contains(error_of<models::ArtifactError>(
                           [&] { TextClassifier::load(path_for("does-not-exist.tdm")); }),
                       "does-not-exist.tdm"));
  std::filesystem::remove(path);
}

TEST(TextArtifact, MalformedPayloadsAreRefusedWithTheFieldAndOffset) {
  const models::Artifact& good = shared_binary_model().artifact;
  const auto refuse = [&](const std::string& payload) {
    models::Artifact a = good;
    a.payload = payload;
    return error_of<TextModelError>([&] { TextClassifier::from_artifact(a, "task sentiment"); });
  };
  const std::string& p = good.payload;
  // Every truncation is an error, never a crash (a sample of lengths, all the header ones).
  for (std::size_t n = 0; n < p.size(); n += (n < 64 ? 1 : p.size() / 97 + 1)) {
    const std::string e = refuse(p.substr(0, n));
    EXPECT_TRUE(contains(e, "task sentiment: ")) << n << ": " << e;
  }
  std::string bad = p;
  bad[0] = 'X';
  EXPECT_TRUE(contains(refuse(bad), "magic")) << refuse(bad);
  EXPECT_TRUE(contains(refuse(p + "extra"), "unexpected bytes")) << refuse(p + "extra");

  // Fields inside: the fastText weight and the temperature, then the parts.
  TextPayload parts = decode_payload(p);
  TextPayload changed = parts;
  changed.fasttext_weight = 1.5f;
  EXPECT_TRUE(contains(refuse(encode_payload(changed)), "fastText weight"));
  changed = parts;
  changed.temperature = 0;
  EXPECT_TRUE(contains(refuse(encode_payload(changed)), "temperature"));
  changed = parts;
  changed.labels[1] = changed.labels[0];
  EXPECT_TRUE(contains(refuse(encode_payload(changed)), "appears twice"));
  changed = parts;
  changed.labels.push_back("label2");  // three labels, models with two outputs
  EXPECT_TRUE(contains(refuse(encode_payload(changed)), "labels"))
      << refuse(encode_payload(changed));
  changed = parts;
  std::copy_n(changed.linear.begin() + 24, 8, changed.linear.begin() + 32);  // a repeated key
  EXPECT_TRUE(contains(refuse(encode_payload(changed)), "linear model: byte"))
      << refuse(encode_payload(changed));
  changed = parts;
  std::fill_n(changed.fasttext.begin() + 8, 4, '\0');  // fastText's dim: 0
  EXPECT_TRUE(contains(refuse(encode_payload(changed)), "fastText model: byte 8: dim"))
      << refuse(encode_payload(changed));
  changed = parts;
  changed.fasttext.resize(changed.fasttext.size() - 4);
  EXPECT_TRUE(contains(refuse(encode_payload(changed)), "fastText model: byte"))
      << refuse(encode_payload(changed));

  models::Artifact wrong_kind = good;
  wrong_kind.meta.kind = "vision";
  EXPECT_TRUE(
      contains(error_of<TextModelError>([&] { TextClassifier::from_artifact(wrong_kind, "x"); }),
               "kind 'vision'"));
}

}  // namespace
}  // namespace tandem::models::text
