#pragma once
// Labelled texts from a CSV file with a header (the Fine Foods sentiment data: product,text,label;
// data/README.md). Columns are found by name, so extra columns are allowed and ignored; every
// record must have as many fields as the header, and neither the text nor the label may be empty.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::datasets {

struct TextExample {
  std::string text;
  std::uint32_t label = 0;  // index into TextDataset::labels
};

struct TextDataset {
  std::vector<TextExample> examples;  // in file order
  std::vector<std::string> labels;    // the distinct labels, sorted (so "great" is 0, "other" 1)

  // How many examples carry `label` (0 for a label that does not occur).
  std::size_t count(std::string_view label) const;
};

struct TextCsvOptions {
  std::string text_column = "text";
  std::string label_column = "label";
  std::uint64_t max_file_bytes = std::uint64_t{1} << 30;
};

// Throws DatasetError ("file:LINE: reason") on anything malformed.
TextDataset load_text_csv(const std::filesystem::path& file, const TextCsvOptions& options = {});

}  // namespace tandem::datasets
