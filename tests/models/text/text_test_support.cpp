#include "text_test_support.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

namespace tandem::models::text::testing {
namespace {

class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t below(std::uint64_t bound) {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) % bound;
  }

 private:
  std::uint64_t state_;
};

}  // namespace

const std::vector<std::vector<std::string>>& signal_words() {
  static const std::vector<std::vector<std::string>> words = {
      {"delicious", "wonderful", "perfect"},
      {"stale", "awful", "refund"},
      {"okay", "average", "mediocre"},
      {"shipping", "package", "delivery"},
  };
  return words;
}

std::vector<Example> synthetic_examples(std::size_t count, std::size_t labels, std::uint64_t seed) {
  Random random(seed);
  std::vector<Example> out;
  for (std::size_t i = 0; i < count; ++i) {
    Example e;
    e.label = static_cast<std::uint32_t>(i % labels);
    std::vector<std::string> words;
    const std::size_t length = 6 + random.below(7);
    for (std::size_t w = 0; w < length; ++w)
      words.push_back("w" + std::to_string(random.below(80)));
    const auto& own = signal_words()[e.label];
    words.insert(words.begin() + static_cast<std::ptrdiff_t>(random.below(words.size() + 1)),
                 own[random.below(own.size())]);
    if (random.below(10) == 0) {
      const auto other = (e.label + 1 + random.below(labels - 1)) % labels;
      const auto& theirs = signal_words()[other];
      words.insert(words.begin() + static_cast<std::ptrdiff_t>(random.below(words.size() + 1)),
                   theirs[random.below(theirs.size())]);
    }
    for (std::size_t w = 0; w < words.size(); ++w) {
      if (w > 0) e.text.push_back(' ');
      e.text += words[w];
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::filesystem::path write_file(const std::string& name, const std::string& content) {
  const std::filesystem::path path = std::filesystem::path(::testing::TempDir()) /
                                     ("tandem-text-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return path;
}

std::filesystem::path write_csv(const std::string& name, const std::vector<Example>& examples) {
  std::string csv = "text,label\n";
  for (const Example& e : examples) {
    csv += "\"" + e.text + "\",label" + std::to_string(e.label) + "\n";
  }
  return write_file(name, csv);
}

datasets::TextDataset as_dataset(const std::vector<Example>& examples, std::size_t labels) {
  datasets::TextDataset data;
  for (std::size_t l = 0; l < labels; ++l) data.labels.push_back("label" + std::to_string(l));
  for (const Example& e : examples) data.examples.push_back({e.text, e.label});
  return data;
}

TextTrainOptions small_options(const std::filesystem::path& csv) {
  TextTrainOptions o;
  o.train_csv = csv;
  o.validation_fraction = 0.2;
  o.refit = false;
  o.fasttext.dim = 16;
  o.fasttext.bucket = 5000;
  o.fasttext.epochs = 10;
  o.fasttext.lr = 0.5;
  o.linear.max_iterations = 100;
  return o;
}

const SharedModel& shared_binary_model() {
  static const SharedModel shared = [] {
    SharedModel s;
    s.csv = write_csv("shared-binary.csv", synthetic_examples(600, 2, 7));
    TextTrainOptions options = small_options(s.csv);
    options.seed = 7;
    s.artifact = train_text_classifier(options, {});
    s.model = TextClassifier::from_artifact(s.artifact, "shared model");
    return s;
  }();
  return shared;
}

}  // namespace tandem::models::text::testing
