#include "tandem/datasets/text_dataset.h"

#include <algorithm>
#include <unordered_map>

#include "tandem/datasets/csv.h"
#include "tandem/datasets/dataset_error.h"
#include "tandem/datasets/read_file.h"

namespace tandem::datasets {

std::size_t TextDataset::count(std::string_view label) const {
  const auto it = std::lower_bound(labels.begin(), labels.end(), label);
  if (it == labels.end() || *it != label) return 0;
  const auto index = static_cast<std::uint32_t>(it - labels.begin());
  return static_cast<std::size_t>(std::count_if(
      examples.begin(), examples.end(), [&](const TextExample& e) { return e.label == index; }));
}

TextDataset load_text_csv(const std::filesystem::path& file, const TextCsvOptions& options) {
  const std::string text = detail::read_whole_file(file, options.max_file_bytes);
  CsvReader reader(file, text);
  const std::vector<std::string> header = reader.header();
  const std::size_t text_col = column_index(file, header, options.text_column);
  const std::size_t label_col = column_index(file, header, options.label_column);

  TextDataset data;
  // Labels get provisional indexes in order of appearance, renumbered in sorted order at the end.
  std::unordered_map<std::string, std::uint32_t> label_ids;
  CsvRecord record;
  while (reader.next(record)) {
    reader.expect_fields(record, header.size());
    std::string& label = record.fields[label_col];
    if (label.empty()) throw DatasetError::at_line(file, record.line, "empty label");
    if (record.fields[text_col].empty()) {
      throw DatasetError::at_line(file, record.line, "empty text");
    }
    auto [it, added] = label_ids.try_emplace(label, static_cast<std::uint32_t>(data.labels.size()));
    if (added) data.labels.push_back(label);
    data.examples.push_back({std::move(record.fields[text_col]), it->second});
  }
  if (data.examples.empty()) throw DatasetError(file, "has a header but no examples");

  std::vector<std::uint32_t> order(data.labels.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return data.labels[a] < data.labels[b]; });
  std::vector<std::uint32_t> renumber(order.size());
  std::vector<std::string> sorted(order.size());
  for (std::uint32_t rank = 0; rank < order.size(); ++rank) {
    renumber[order[rank]] = rank;
    sorted[rank] = std::move(data.labels[order[rank]]);
  }
  data.labels = std::move(sorted);
  for (auto& e : data.examples) e.label = renumber[e.label];
  return data;
}

}  // namespace tandem::datasets
