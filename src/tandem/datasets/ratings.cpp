#include "tandem/datasets/ratings.h"

#include <charconv>
#include <cmath>
#include <unordered_map>

#include "tandem/datasets/csv.h"
#include "tandem/datasets/dataset_error.h"
#include "tandem/datasets/read_file.h"

namespace tandem::datasets {
namespace {

// The whole field as a number of type T, or an error naming the column and the value. from_chars
// accepts no spaces and no leading '+', and unsigned types take no '-'.
template <typename T>
T parse_number(const CsvReader& reader, const CsvRecord& record, std::size_t column,
               const char* name, const char* expected) {
  const std::string& field = record.fields[column];
  T value{};
  const char* begin = field.data();
  const char* end = begin + field.size();
  const auto [stop, error] = std::from_chars(begin, end, value);
  if (field.empty() || error != std::errc() || stop != end) {
    const std::string shown = field.size() > 40 ? field.substr(0, 40) + "..." : field;
    throw DatasetError::at_line(reader.file(), record.line,
                                std::string(name) + " \"" + shown + "\" is not " + expected);
  }
  return value;
}

std::optional<std::size_t> find_column(const std::vector<std::string>& header,
                                       std::string_view name) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  return std::nullopt;
}

}  // namespace

std::vector<Rating> load_ratings_csv(const std::filesystem::path& file,
                                     const RatingsCsvOptions& options) {
  const std::string text = detail::read_whole_file(file, options.max_file_bytes);
  CsvReader reader(file, text);
  const std::vector<std::string> header = reader.header();
  const std::size_t user_col = column_index(file, header, "user");
  const std::size_t item_col = column_index(file, header, "item");
  const std::size_t rating_col = column_index(file, header, "rating");
  const std::optional<std::size_t> time_col = find_column(header, "timestamp");

  std::vector<Rating> ratings;
  // A rating line is about 22 bytes: one allocation instead of a dozen regrowths.
  ratings.reserve(text.size() / 20);
  CsvRecord record;
  while (reader.next(record)) {
    reader.expect_fields(record, header.size());
    Rating r;
    r.user = parse_number<std::uint32_t>(reader, record, user_col, "user", "a whole number");
    r.item = parse_number<std::uint32_t>(reader, record, item_col, "item", "a whole number");
    r.rating = parse_number<float>(reader, record, rating_col, "rating", "a number");
    if (!std::isfinite(r.rating) || r.rating < options.min_rating ||
        r.rating > options.max_rating) {
      throw DatasetError::at_line(file, record.line,
                                  "rating " + record.fields[rating_col] + " is outside [" +
                                      std::to_string(options.min_rating) + ", " +
                                      std::to_string(options.max_rating) + "]");
    }
    if (time_col) {
      r.timestamp = parse_number<std::int64_t>(reader, record, *time_col, "timestamp",
                                               "a whole number of seconds");
    }
    ratings.push_back(r);
  }
  if (ratings.empty()) throw DatasetError(file, "has a header but no ratings");
  ratings.shrink_to_fit();
  return ratings;
}

std::vector<Item> load_items_csv(const std::filesystem::path& file, std::uint64_t max_file_bytes) {
  const std::string text = detail::read_whole_file(file, max_file_bytes);
  CsvReader reader(file, text);
  const std::vector<std::string> header = reader.header();
  const std::size_t item_col = column_index(file, header, "item");
  const std::size_t title_col = column_index(file, header, "title");
  const std::size_t year_col = column_index(file, header, "year");
  const std::size_t genres_col = column_index(file, header, "genres");

  std::vector<Item> items;
  std::unordered_map<std::uint32_t, std::uint64_t> first_line;
  CsvRecord record;
  while (reader.next(record)) {
    reader.expect_fields(record, header.size());
    Item it;
    it.item = parse_number<std::uint32_t>(reader, record, item_col, "item", "a whole number");
    if (auto [seen, added] = first_line.try_emplace(it.item, record.line); !added) {
      throw DatasetError::at_line(file, record.line,
                                  "item " + std::to_string(it.item) +
                                      " appears again (first on line " +
                                      std::to_string(seen->second) + ")");
    }
    if (!record.fields[year_col].empty()) {
      it.year = parse_number<std::int32_t>(reader, record, year_col, "year", "a whole number");
    }
    it.title = std::move(record.fields[title_col]);
    it.genres = std::move(record.fields[genres_col]);
    items.push_back(std::move(it));
  }
  if (items.empty()) throw DatasetError(file, "has a header but no items");
  return items;
}

}  // namespace tandem::datasets
