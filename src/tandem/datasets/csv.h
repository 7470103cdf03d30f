#pragma once
// An RFC 4180 CSV reader over text in memory, shared by the text and ratings loaders.
//
// Fields are separated by commas and records by "\n" or "\r\n". A field may be enclosed in double
// quotes, and then holds commas, line breaks and quotes (written twice: "say ""hi"""); a quote
// anywhere else is an error rather than a guess, as is a record with the wrong number of fields,
// text after a closing quote, a quoted field that never closes, a lone carriage return, and bytes
// that are not UTF-8. Every error names the file and the line; a record that spans lines is named
// by the line it starts on, and a quote that never closes by the line it opens on.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::datasets {

struct CsvRecord {
  std::uint64_t line = 0;           // 1-based line where the record starts
  std::vector<std::string> fields;  // unquoted; reused from record to record
};

class CsvReader {
 public:
  // `text` must outlive the reader. Checks that it is UTF-8 (an initial byte-order mark is
  // skipped) and throws DatasetError naming the first bad line.
  CsvReader(std::filesystem::path file, std::string_view text);

  // Reads the next record; false once the text is consumed (a final line break ends the last
  // record, it does not start an empty one).
  bool next(CsvRecord& record);

  // Reads the header: the first record, which must exist and have distinct, non-empty names.
  std::vector<std::string> header();

  // Throws "file:LINE: expected N fields, found M" unless the record has `expected` fields.
  void expect_fields(const CsvRecord& record, std::size_t expected) const;

  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  std::filesystem::path file_;
  std::string_view text_;
  std::size_t pos_ = 0;
  std::uint64_t line_ = 1;
};

// The index of column `name` in `header`; throws DatasetError at line 1 listing the columns there
// are when it is missing.
std::size_t column_index(const std::filesystem::path& file, const std::vector<std::string>& header,
                         std::string_view name);

}  // namespace tandem::datasets
