#include "tandem/datasets/routing_data.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

#include "tandem/datasets/csv.h"
#include "tandem/datasets/dataset_error.h"
#include "tandem/datasets/read_file.h"

namespace tandem::datasets {
namespace {

// RouterBench's full release is a few hundred MB; anything far beyond is not a recorded set.
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{2} << 30;

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One Python string literal starting at s[i] (a quote); appends its value, returns the offset
// after the closing quote. Python's repr writes \\, \', \n, \r, \t, \xhh, \uhhhh, \Uhhhhhhhh;
// the other escapes of the language are read too, and an unknown one keeps its backslash, as
// Python does.
std::size_t parse_literal(std::string_view s, std::size_t i, std::string& out) {
  const char quote = s[i++];
  for (;;) {
    if (i >= s.size()) {
      throw std::invalid_argument("a string literal is never closed (missing " +
                                  std::string(1, quote) + ")");
    }
    const char c = s[i++];
    if (c == quote) return i;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i >= s.size()) throw std::invalid_argument("a backslash ends the text");
    const char e = s[i++];
    int hex_digits = 0;
    switch (e) {
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case '\\':
      case '\'':
      case '"':
        out.push_back(e);
        break;
      case '\n':
        break;  // a line continuation
      case 'x':
        hex_digits = 2;
        break;
      case 'u':
        hex_digits = 4;
        break;
      case 'U':
        hex_digits = 8;
        break;
      default:
        if (e >= '0' && e <= '7') {  // octal: up to three digits
          std::uint32_t v = static_cast<std::uint32_t>(e - '0');
          for (int k = 0; k < 2 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k) {
            v = v * 8 + static_cast<std::uint32_t>(s[i++] - '0');
          }
          append_utf8(out, v);
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
    }
    if (hex_digits == 0) continue;
    std::uint32_t cp = 0;
    for (int k = 0; k < hex_digits; ++k) {
      const int h = i < s.size() ? hex_value(s[i]) : -1;
      if (h < 0) {
        throw std::invalid_argument(std::string("escape \\") + e + " needs " +
                                    std::to_string(hex_digits) + " hex digits");
      }
      cp = cp * 16 + static_cast<std::uint32_t>(h);
      ++i;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      throw std::invalid_argument(std::string("escape \\") + e + " names code point " +
                                  std::to_string(cp) + ", which is not a Unicode scalar value");
    }
    append_utf8(out, cp);
  }
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t skip_spaces(std::string_view s, std::size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

std::optional<double> parse_number(const CsvReader& reader, const CsvRecord& record,
                                   std::size_t column, const std::string& name, bool cost) {
  const std::string& cell = record.fields[column];
  if (cell.empty()) return std::nullopt;
  double v = 0;
  const char* end = cell.data() + cell.size();
  const auto [ptr, ec] = std::from_chars(cell.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v) || (cost && v < 0)) {
    throw DatasetError::at_line(reader.file(), record.line,
                                "column \"" + name + "\" holds \"" + cell.substr(0, 40) +
                                    "\", not " + (cost ? "a cost (a number >= 0)" : "a number"));
  }
  return v;
}

std::optional<double> parse_bool(const CsvReader& reader, const CsvRecord& record,
                                 std::size_t column, const std::string& name) {
  const std::string& cell = record.fields[column];
  if (cell.empty()) return std::nullopt;
  if (cell == "True" || cell == "true" || cell == "1" || cell == "1.0") return 1.0;
  if (cell == "False" || cell == "false" || cell == "0" || cell == "0.0") return 0.0;
  throw DatasetError::at_line(
      reader.file(), record.line,
      "column \"" + name + "\" holds \"" + cell.substr(0, 40) + "\", not True or False");
}

std::string unwrap_cell(const CsvReader& reader, const CsvRecord& record, std::size_t column,
                        const std::string& name) {
  try {
    return unwrap_python_strings(record.fields[column]);
  } catch (const std::invalid_argument& e) {
    throw DatasetError::at_line(
        reader.file(), record.line,
        "column \"" + name + "\" is not a Python list of strings: " + e.what());
  }
}

// The header record, with its names checked (an empty name is allowed: pandas' index column).
std::vector<std::string> read_header(CsvReader& reader) {
  CsvRecord record;
  if (!reader.next(record)) throw DatasetError(reader.file(), "is empty: expected a header line");
  for (std::size_t i = 0; i < record.fields.size(); ++i) {
    if (record.fields[i].empty()) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (record.fields[j] == record.fields[i]) {
        throw DatasetError::at_line(reader.file(), record.line,
                                    "header names column \"" + record.fields[i] + "\" twice");
      }
    }
  }
  return std::move(record.fields);
}

bool looks_like_routerbench(const std::vector<std::string>& header) {
  return std::any_of(header.begin(), header.end(), [](const std::string& h) {
    return h == "sample_id" || h == "eval_name" || h.find('|') != std::string::npos;
  });
}

void check_models(const std::filesystem::path& file, RecordedSet& set,
                  const std::vector<std::string>& models) {
  if (models.empty()) throw DatasetError::at_line(file, 1, "the header names no model column");
  if (set.models.empty()) {
    set.models = models;
  } else if (set.models != models) {
    throw DatasetError::at_line(file, 1,
                                "its model columns differ from those of the files before it");
  }
}

void load_routerbench(const std::filesystem::path& file, RecordedSet& set) {
  const std::string text = detail::read_whole_file(file, kMaxFileBytes);
  CsvReader reader(file, text);
  const std::vector<std::string> header = read_header(reader);
  const std::size_t prompt_col = column_index(file, header, "prompt");
  std::optional<std::size_t> id_col, group_col;
  std::vector<std::string> models;
  std::vector<std::size_t> score_cols;
  for (std::size_t c = 0; c < header.size(); ++c) {
    const std::string& h = header[c];
    if (h == "sample_id") id_col = c;
    if (h == "eval_name") group_col = c;
    if (h.empty() || h == "sample_id" || h == "prompt" || h == "eval_name" ||
        h == "oracle_model_to_route_to" || h.find('|') != std::string::npos) {
      continue;
    }
    models.push_back(h);
    score_cols.push_back(c);
  }
  check_models(file, set, models);
  const std::size_t n = models.size();
  std::vector<std::optional<std::size_t>> response_cols(n), cost_cols(n);
  for (std::size_t c = 0; c < header.size(); ++c) {
    const std::string& h = header[c];
    const std::size_t bar = h.rfind('|');
    if (bar == std::string::npos) continue;
    const std::string model = h.substr(0, bar), what = h.substr(bar + 1);
    if (what != "model_response" && what != "total_cost") continue;
    const auto it = std::find(models.begin(), models.end(), model);
    if (it == models.end()) {
      throw DatasetError::at_line(
          file, 1, "column \"" + h + "\" names model \"" + model + "\", which has no score column");
    }
    const auto m = static_cast<std::size_t>(it - models.begin());
    (what == "total_cost" ? cost_cols : response_cols)[m] = c;
  }

  CsvRecord record;
  while (reader.next(record)) {
    reader.expect_fields(record, header.size());
    RecordedQuery q;
    q.id = id_col ? record.fields[*id_col] : "line " + std::to_string(record.line);
    q.prompt = unwrap_cell(reader, record, prompt_col, "prompt");
    if (group_col) q.group = record.fields[*group_col];
    q.answers.resize(n);
    for (std::size_t m = 0; m < n; ++m) {
      RecordedAnswer& a = q.answers[m];
      a.score = parse_number(reader, record, score_cols[m], models[m], false);
      if (cost_cols[m]) {
        a.cost_usd = parse_number(reader, record, *cost_cols[m], header[*cost_cols[m]], true);
      }
      if (response_cols[m] && !record.fields[*response_cols[m]].empty()) {
        a.response = unwrap_cell(reader, record, *response_cols[m], header[*response_cols[m]]);
      }
    }
    set.queries.push_back(std::move(q));
  }
}

void load_routellm(const std::filesystem::path& file, RecordedSet& set) {
  const std::string text = detail::read_whole_file(file, kMaxFileBytes);
  CsvReader reader(file, text);
  const std::vector<std::string> header = read_header(reader);
  const std::size_t prompt_col = column_index(file, header, "prompt");
  std::vector<std::string> models;
  std::vector<std::size_t> cols;
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (c == prompt_col || header[c].empty()) continue;
    models.push_back(header[c]);
    cols.push_back(c);
  }
  check_models(file, set, models);
  std::string group = file.stem().string();
  if (group.starts_with("mmlu_")) group.erase(0, 5);
  CsvRecord record;
  while (reader.next(record)) {
    reader.expect_fields(record, header.size());
    RecordedQuery q;
    q.id = group + ":" + std::to_string(record.line);
    q.prompt = record.fields[prompt_col];
    q.group = group;
    q.answers.resize(models.size());
    for (std::size_t m = 0; m < models.size(); ++m) {
      q.answers[m].score = parse_bool(reader, record, cols[m], models[m]);
    }
    set.queries.push_back(std::move(q));
  }
}

std::string detect_format(const std::filesystem::path& file) {
  const std::string text = detail::read_whole_file(file, kMaxFileBytes);
  CsvReader reader(file, text);
  return looks_like_routerbench(read_header(reader)) ? "routerbench" : "routellm";
}

}  // namespace

std::optional<std::size_t> RecordedSet::find_model(std::string_view name) const {
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (models[i] == name) return i;
  }
  return std::nullopt;
}

std::string unwrap_python_strings(std::string_view cell) {
  std::size_t i = skip_spaces(cell, 0);
  if (i >= cell.size() || cell[i] != '[') return std::string(cell);
  std::string out;
  bool first = true;
  i = skip_spaces(cell, i + 1);
  if (i < cell.size() && cell[i] == ']') {
    ++i;
  } else {
    for (;;) {
      if (i >= cell.size()) throw std::invalid_argument("the list is never closed (missing ])");
      if (cell[i] != '\'' && cell[i] != '"') {
        throw std::invalid_argument("expected a quoted string at character " +
                                    std::to_string(i + 1));
      }
      if (!first) out += "\n\n";
      first = false;
      i = skip_spaces(cell, parse_literal(cell, i, out));
      if (i < cell.size() && cell[i] == ',') {
        i = skip_spaces(cell, i + 1);
        if (i < cell.size() && cell[i] == ']') {  // a trailing comma
          ++i;
          break;
        }
        continue;
      }
      if (i < cell.size() && cell[i] == ']') {
        ++i;
        break;
      }
      throw std::invalid_argument("expected , or ] at character " + std::to_string(i + 1));
    }
  }
  if (skip_spaces(cell, i) != cell.size()) {
    throw std::invalid_argument("text after the closing ] at character " + std::to_string(i + 1));
  }
  return out;
}

RecordedSet load_recorded_set(const std::filesystem::path& path, std::string_view format) {
  if (!format.empty() && format != "routerbench" && format != "routellm") {
    throw DatasetError(path, "unknown recorded-answer format \"" + std::string(format) +
                                 "\" (expected routerbench or routellm)");
  }
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".csv") {
        files.push_back(entry.path());
      }
    }
    if (ec) throw DatasetError(path, "cannot list the folder: " + ec.message());
    if (files.empty()) throw DatasetError(path, "is a folder with no .csv file");
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  RecordedSet set;
  set.format = format.empty() ? detect_format(files.front()) : std::string(format);
  for (const auto& file : files) {
    if (set.format == "routerbench") {
      load_routerbench(file, set);
    } else {
      load_routellm(file, set);
    }
  }
  if (set.queries.empty()) throw DatasetError(path, "holds no query (only a header)");
  return set;
}

bool in_test_split(std::string_view prompt, double test_share, std::uint64_t seed) {
  // FNV-1a over the seed's bytes and the prompt, then SplitMix64's finaliser; the top 53 bits
  // as a uniform number in [0, 1).
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < 8; ++i) {
    h ^= (seed >> (8 * i)) & 0xFF;
    h *= 0x100000001b3ull;
  }
  for (char c : prompt) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  const double u = static_cast<double>(h >> 11) * 0x1.0p-53;
  return u < test_share;
}

}  // namespace tandem::datasets
