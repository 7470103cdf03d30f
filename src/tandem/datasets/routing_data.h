#pragma once
// Recorded LLM answers for routing research: for every query, what each of several models
// answered, whether it was right and what it cost. Two public formats are read:
//
//   - RouterBench (one CSV): `sample_id, prompt, eval_name`, one score column per model (0/1, or
//     any number), then `MODEL|model_response`, `MODEL|total_cost` (USD) and
//     `oracle_model_to_route_to`. Prompt and response cells are Python list reprs
//     (`['line one\nline two']`), unwrapped here to the real text (several elements are joined by
//     a blank line). A pandas index column with an empty name may come first; it is ignored.
//   - RouteLLM (a folder of CSVs, one per subject, or one such file): `prompt`, then one column
//     per model holding True/False; no responses, no costs. The group of a query is its file's
//     name without ".csv" and without a leading "mmlu_".
//
// Blank cells are missing (the model has no recorded answer), never wrong. Every malformed cell
// is a DatasetError naming the file and the line.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::datasets {

struct RecordedAnswer {
  std::optional<double> score;  // 1 = correct, 0 = wrong (RouterBench may hold partial scores)
  std::optional<double> cost_usd;
  std::optional<std::string> response;
};

struct RecordedQuery {
  std::string id;  // RouterBench: sample_id; RouteLLM: "group:line"
  std::string prompt;
  std::string group;                    // RouterBench: eval_name; RouteLLM: the subject (file name)
  std::vector<RecordedAnswer> answers;  // one per model, in RecordedSet::models order
};

struct RecordedSet {
  std::string format;  // "routerbench" or "routellm"
  std::vector<std::string> models;
  std::vector<RecordedQuery> queries;

  std::optional<std::size_t> find_model(std::string_view name) const;
};

// Reads a file, or every *.csv file of a folder (in name order, all of one format with the same
// models). `format` is "routerbench", "routellm" or "" (detected from the first header: a
// `sample_id` column or a `MODEL|...` column means RouterBench). Throws DatasetError.
RecordedSet load_recorded_set(const std::filesystem::path& file_or_folder,
                              std::string_view format = {});

// Python's repr of a list of strings -> the text; the elements are joined by "\n\n". Text that
// does not start with '[' is returned as it is. Throws std::invalid_argument describing the
// problem (the loader adds file and line).
std::string unwrap_python_strings(std::string_view cell);

// A deterministic split keyed by the prompt (a hash with `seed`): true for about `test_share` of
// prompts, always the same ones for the same seed, so equal prompts land on the same side.
bool in_test_split(std::string_view prompt, double test_share, std::uint64_t seed);

}  // namespace tandem::datasets
