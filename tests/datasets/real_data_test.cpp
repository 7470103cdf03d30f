// The real data sets, as scripts/setup_data.sh prepares them into $TANDEM_DATA (default
// ~/.cache/tandem/data). Each test skips with a message when its files are absent, so the suite
// passes on a machine that has not prepared the data, and says how to get it.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <set>

#include "tandem/datasets/data_files.h"
#include "tandem/datasets/idx.h"
#include "tandem/datasets/ratings.h"
#include "tandem/datasets/text_dataset.h"
#include "tandem/datasets/word_vectors.h"

using namespace tandem::datasets;

namespace {

// The path of a prepared file, or empty (after GTEST_SKIP) when it is not there.
std::filesystem::path prepared(const char* name) {
  const std::filesystem::path dir = data_dir();
  if (dir.empty()) return {};
  const std::filesystem::path path = dir / name;
  return std::filesystem::exists(path) ? path : std::filesystem::path();
}

#define REQUIRE_DATA(var, name)                                                                \
  const std::filesystem::path var = prepared(name);                                            \
  if (var.empty()) {                                                                           \
    GTEST_SKIP() << (data_dir() / (name)).string()                                             \
                 << " is absent: run scripts/setup_data.sh (or set TANDEM_DATA to its cache)"; \
  }

}  // namespace

TEST(RealData, FineFoodsReviews) {
  REQUIRE_DATA(train_file, files::kFineFoodsTrain);
  REQUIRE_DATA(test_file, files::kFineFoodsTest);
  const TextDataset train = load_text_csv(train_file);
  const TextDataset test = load_text_csv(test_file);
  EXPECT_EQ(train.examples.size(), 4000u);
  EXPECT_EQ(test.examples.size(), 1000u);
  const std::vector<std::string> labels = {"great", "other"};
  EXPECT_EQ(train.labels, labels);
  EXPECT_EQ(test.labels, labels);
  EXPECT_EQ(train.count("great"), 2600u);
  EXPECT_EQ(train.count("other"), 1400u);
  EXPECT_EQ(test.count("great"), 658u);
  EXPECT_EQ(test.count("other"), 342u);
  // The review text holds the CSV's hard cases: commas, quotes and HTML line breaks.
  std::size_t quotes = 0;
  for (const auto& e : train.examples) quotes += e.text.find('"') != std::string::npos;
  EXPECT_EQ(quotes, 522u);
}

TEST(RealData, MovieLensRatingsAndTitles) {
  REQUIRE_DATA(ratings_file, files::kMovieLensRatings);
  REQUIRE_DATA(items_file, files::kMovieLensMovies);
  const auto ratings = load_ratings_csv(ratings_file, {.min_rating = 0.5f, .max_rating = 5.0f});
  EXPECT_EQ(ratings.size(), 100004u);
  std::set<std::uint32_t> users;
  std::set<std::uint32_t> rated;
  for (const auto& r : ratings) {
    users.insert(r.user);
    rated.insert(r.item);
    ASSERT_EQ(r.rating * 2, std::round(r.rating * 2)) << "ratings go in half stars";
  }
  EXPECT_EQ(users.size(), 671u);
  EXPECT_EQ(rated.size(), 9066u);
  const auto items = load_items_csv(items_file);
  EXPECT_EQ(items.size(), 9066u);
  std::set<std::uint32_t> titled;
  for (const auto& it : items) titled.insert(it.item);
  EXPECT_EQ(titled, rated);
  EXPECT_EQ(items.front().title, "Toy Story");
}

TEST(RealData, FashionMnist) {
  REQUIRE_DATA(train_images, files::kFashionTrainImages);
  REQUIRE_DATA(train_labels, files::kFashionTrainLabels);
  REQUIRE_DATA(test_images, files::kFashionTestImages);
  REQUIRE_DATA(test_labels, files::kFashionTestLabels);
  const ImageSet train = load_idx_images(train_images, train_labels);
  const ImageSet test = load_idx_images(test_images, test_labels);
  EXPECT_EQ(train.size(), 60000u);
  EXPECT_EQ(test.size(), 10000u);
  for (const ImageSet* set : {&train, &test}) {
    EXPECT_EQ(set->rows, 28u);
    EXPECT_EQ(set->cols, 28u);
    EXPECT_EQ(set->pixels.size(), set->size() * 28 * 28);
    std::array<std::size_t, 10> per_class{};
    for (const auto label : set->labels) ++per_class[label];
    for (const auto n : per_class) EXPECT_EQ(n, set->size() / 10);  // balanced classes
  }
}

TEST(RealData, MnistDigits) {
  REQUIRE_DATA(images, files::kMnistDigitsImages);
  REQUIRE_DATA(labels, files::kMnistDigitsLabels);
  const ImageSet digits = load_idx_images(images, labels);
  EXPECT_EQ(digits.size(), 10000u);
  EXPECT_EQ(digits.rows, 28u);
  EXPECT_EQ(digits.cols, 28u);
  std::array<std::size_t, 10> per_digit{};
  for (const auto label : digits.labels) ++per_digit[label];
  EXPECT_EQ(per_digit,
            (std::array<std::size_t, 10>{1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978}));
}

TEST(RealData, GloveWordVectors) {
  REQUIRE_DATA(file, files::kGlove100d);
  const auto start = std::chrono::steady_clock::now();
  const WordVectors glove = WordVectors::load(file, 100);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::printf("loaded %zu words x %u in %lld ms\n", glove.size(), glove.dim(),
              static_cast<long long>(ms));
  EXPECT_EQ(glove.size(), 341479u);
  EXPECT_EQ(glove.dim(), 100u);
  ASSERT_EQ(glove.find("the"), 0u);
  EXPECT_FLOAT_EQ(glove.vector(0)[0], -0.038194f);
  double norm = 0;
  for (const float v : glove.vector(0)) norm += double{v} * v;
  EXPECT_NEAR(std::sqrt(norm), 5.821154, 1e-5);  // the package's stored L2 norm of "the"
  const auto king = glove.find("king");
  const auto queen = glove.find("queen");
  const auto carrot = glove.find("carrot");
  ASSERT_TRUE(king && queen && carrot);
  const auto cosine = [&](std::uint32_t a, std::uint32_t b) {
    double dot = 0, na = 0, nb = 0;
    for (std::uint32_t k = 0; k < 100; ++k) {
      dot += double{glove.vector(a)[k]} * glove.vector(b)[k];
      na += double{glove.vector(a)[k]} * glove.vector(a)[k];
      nb += double{glove.vector(b)[k]} * glove.vector(b)[k];
    }
    return dot / std::sqrt(na * nb);
  };
  EXPECT_GT(cosine(*king, *queen), cosine(*king, *carrot));
}
