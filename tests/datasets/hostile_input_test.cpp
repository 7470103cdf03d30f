// Every loader, fed every truncation and many random corruptions of a valid file, either loads it
// or throws DatasetError naming the file: never another exception, a crash or a huge allocation
// (run under AddressSanitizer by `make test-asan`).
#include <gtest/gtest.h>
#include <zlib.h>

#include <functional>
#include <random>

#include "tandem/datasets/idx.h"
#include "tandem/datasets/ratings.h"
#include "tandem/datasets/text_dataset.h"
#include "tandem/datasets/word_vectors.h"
#include "test_files.h"

using namespace tandem::datasets;
using namespace tandem::datasets::testing;

namespace {

// Loads `bytes` written to a file; true when it loaded, false when it threw DatasetError.
bool survives(const std::string& bytes,
              const std::function<void(const std::filesystem::path&)>& load) {
  const auto path = write_file("hostile", bytes);
  try {
    load(path);
    return true;
  } catch (const DatasetError& e) {
    EXPECT_EQ(e.file(), path);
    return false;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a DatasetError: " << e.what();
    return false;
  }
}

void batter(const std::string& valid,
            const std::function<void(const std::filesystem::path&)>& load) {
  ASSERT_TRUE(survives(valid, load));
  for (std::size_t n = 0; n < valid.size(); ++n) survives(valid.substr(0, n), load);
  std::mt19937 random(42);
  for (int round = 0; round < 300; ++round) {
    std::string bytes = valid;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int k = 0; k < flips; ++k) {
      bytes[random() % bytes.size()] = static_cast<char>(random() % 256);
    }
    survives(bytes, load);
  }
}

}  // namespace

TEST(HostileInput, TextCsv) {
  batter("product,text,label\nB1,\"a, \"\"b\"\"\nc\",great\nB2,plain,other\n",
         [](const auto& p) { load_text_csv(p); });
}

TEST(HostileInput, RatingsAndItemsCsv) {
  batter("user,item,rating,timestamp\n1,31,2.5,1260759144\n2,7,4,1\n",
         [](const auto& p) { load_ratings_csv(p, {.min_rating = 0.5f, .max_rating = 5}); });
  batter("item,title,year,genres\n1,\"Toy, Story\",1995,A|B\n2,,,C\n",
         [](const auto& p) { load_items_csv(p); });
}

TEST(HostileInput, Idx) {
  std::string images{'\0', '\0', '\x08', '\x03', 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3};
  for (int i = 0; i < 18; ++i) images += static_cast<char>(i * 13);
  batter(images, [](const auto& p) { load_idx(p); });

  // The same through gzip: corrupt compressed streams.
  const auto gz_path = write_file("plain", "");
  gzFile out = gzopen(gz_path.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  gzwrite(out, images.data(), static_cast<unsigned>(images.size()));
  gzclose(out);
  batter(read_file(gz_path), [](const auto& p) { load_idx(p); });
}

TEST(HostileInput, WordVectors) {
  const auto path = write_file("valid.bin", "");
  const std::vector<std::string> words = {"the", "caf\xC3\xA9", "x", "of"};
  std::vector<float> rows(4 * 3);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<float>(i) / 7;
  WordVectors::save(path, 3, words, rows);
  batter(read_file(path), [](const auto& p) { WordVectors::load(p); });
}
