#pragma once
// Explicit ratings and item titles from CSV files with a header (MovieLens ml-latest-small:
// movielens_ratings.csv and movielens_movies.csv; data/README.md). Columns are found by name;
// every record must have as many fields as the header. Numbers must be written plainly: no sign
// on ids, no spaces, no trailing text ("4.5" and "4" are ratings, "4.5 stars" and "" are errors).
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace tandem::datasets {

struct Rating {
  std::uint32_t user = 0;
  std::uint32_t item = 0;
  float rating = 0;
  std::int64_t timestamp = 0;  // seconds since 1970; 0 when the file has no timestamp column
};

struct RatingsCsvOptions {
  // Ratings outside [min_rating, max_rating] are errors (NaN and infinities always are).
  // MovieLens: 0.5 to 5 in steps of 0.5.
  float min_rating = std::numeric_limits<float>::lowest();
  float max_rating = std::numeric_limits<float>::max();
  std::uint64_t max_file_bytes = std::uint64_t{1} << 30;
};

// Columns user, item, rating and (optional) timestamp. Throws DatasetError ("file:LINE: reason").
std::vector<Rating> load_ratings_csv(const std::filesystem::path& file,
                                     const RatingsCsvOptions& options = {});

struct Item {
  std::uint32_t item = 0;
  std::string title;  // may be empty (five MovieLens movies have none)
  std::optional<std::int32_t> year;
  std::string genres;  // as in the file, e.g. "Adventure|Children|Fantasy"
};

// Columns item, title, year, genres; an item id may appear only once. Throws DatasetError.
std::vector<Item> load_items_csv(const std::filesystem::path& file,
                                 std::uint64_t max_file_bytes = std::uint64_t{1} << 30);

}  // namespace tandem::datasets
