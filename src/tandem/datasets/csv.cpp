#include "tandem/datasets/csv.h"

#include <algorithm>
#include <cstdio>

#include "tandem/datasets/dataset_error.h"
#include "tandem/datasets/utf8.h"

namespace tandem::datasets {
namespace {

void check_utf8(const std::filesystem::path& file, std::string_view text) {
  const std::size_t bad = detail::first_invalid_utf8(text);
  if (bad == std::string_view::npos) return;
  const std::string_view before = text.substr(0, bad);
  const auto line = 1 + static_cast<std::uint64_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t last_break = before.rfind('\n');
  const std::size_t line_start = last_break == std::string_view::npos ? 0 : last_break + 1;
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
  throw DatasetError::at_line(file, line,
                              std::string("not UTF-8: byte ") + hex + " at byte " +
                                  std::to_string(bad - line_start + 1) + " of the line");
}

}  // namespace

CsvReader::CsvReader(std::filesystem::path file, std::string_view text)
    : file_(std::move(file)), text_(text) {
  if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
  check_utf8(file_, text_);
}

bool CsvReader::next(CsvRecord& record) {
  const std::size_t size = text_.size();
  if (pos_ >= size) return false;
  record.line = line_;
  std::size_t count = 0;
  for (;;) {
    if (count == record.fields.size()) record.fields.emplace_back();
    std::string& field = record.fields[count++];
    field.clear();
    if (pos_ < size && text_[pos_] == '"') {
      const std::uint64_t opened = line_;
      ++pos_;
      for (;;) {
        const std::size_t quote = text_.find('"', pos_);
        if (quote == std::string_view::npos) {
          // The last line is the one holding the final byte (a final line break ends it).
          const std::string_view rest = text_.substr(pos_, size - pos_ - (text_.back() == '\n'));
          const std::uint64_t last =
              line_ + static_cast<std::uint64_t>(std::count(rest.begin(), rest.end(), '\n'));
          throw DatasetError::at_line(file_, opened,
                                      "a quoted field opens here and is never closed (unbalanced "
                                      "quotes; the file ends at line " +
                                          std::to_string(last) + ")");
        }
        line_ += static_cast<std::uint64_t>(
            std::count(text_.begin() + pos_, text_.begin() + quote, '\n'));
        field.append(text_.substr(pos_, quote - pos_));
        pos_ = quote + 1;
        if (pos_ < size && text_[pos_] == '"') {  // "" is one quote
          field.push_back('"');
          ++pos_;
          continue;
        }
        break;
      }
      if (pos_ < size && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r') {
        throw DatasetError::at_line(file_, line_,
                                    "text after a closing quote (a quote inside a quoted field "
                                    "must be written twice)");
      }
    } else {
      std::size_t end = text_.find_first_of(",\r\n\"", pos_);
      if (end == std::string_view::npos) end = size;
      if (end < size && text_[end] == '"') {
        throw DatasetError::at_line(file_, line_,
                                    "a quote inside an unquoted field (quote the whole field and "
                                    "write the quote twice)");
      }
      field.assign(text_.substr(pos_, end - pos_));
      pos_ = end;
    }
    if (pos_ >= size) break;
    const char c = text_[pos_];
    if (c == ',') {
      ++pos_;
      continue;
    }
    if (c == '\r') {
      if (pos_ + 1 >= size || text_[pos_ + 1] != '\n') {
        throw DatasetError::at_line(file_, line_, "a carriage return not followed by a line feed");
      }
      ++pos_;
    }
    ++pos_;  // the line feed
    ++line_;
    break;
  }
  record.fields.resize(count);
  return true;
}

std::vector<std::string> CsvReader::header() {
  CsvRecord record;
  if (!next(record)) throw DatasetError(file_, "is empty: expected a header line");
  for (std::size_t i = 0; i < record.fields.size(); ++i) {
    if (record.fields[i].empty()) {
      throw DatasetError::at_line(file_, record.line,
                                  "header column " + std::to_string(i + 1) + " has no name");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (record.fields[j] == record.fields[i]) {
        throw DatasetError::at_line(file_, record.line,
                                    "header names column \"" + record.fields[i] + "\" twice");
      }
    }
  }
  return std::move(record.fields);
}

void CsvReader::expect_fields(const CsvRecord& record, std::size_t expected) const {
  if (record.fields.size() == expected) return;
  std::string reason = "expected " + std::to_string(expected) + " fields, found " +
                       std::to_string(record.fields.size());
  if (record.fields.size() == 1 && record.fields[0].empty()) reason += " (an empty line)";
  throw DatasetError::at_line(file_, record.line, reason);
}

std::size_t column_index(const std::filesystem::path& file, const std::vector<std::string>& header,
                         std::string_view name) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  std::string columns;
  for (const auto& h : header) columns += (columns.empty() ? "" : ", ") + h;
  throw DatasetError::at_line(
      file, 1, "no column \"" + std::string(name) + "\" in the header (it has: " + columns + ")");
}

}  // namespace tandem::datasets
