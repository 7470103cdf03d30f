#pragma once
// The recorded answers behind a provider of kind "replay": given a model (a column of the
// recorded set) and the prompt of a chat request, the answer that model gave, whether it was
// right and what it cost. Read once at start and shared read-only by every thread.
//
// A prompt is looked up exactly, after trimming leading and trailing whitespace (the recorded
// sets' prompts and a client's copy of them differ in a final newline at most), through one hash
// table: O(1) per request whatever the set's size. When a prompt was recorded twice (RouteLLM's
// MMLU repeats about a hundred questions across subjects), the first recording answers.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tandem/datasets/routing_data.h"

namespace tandem::providers {

class ReplayStore {
 public:
  // Throws datasets::DatasetError naming the file and line of malformed data.
  static std::shared_ptr<const ReplayStore> load(const std::filesystem::path& file_or_folder,
                                                 std::string_view format = {});
  // For tests and tools that already hold the set.
  explicit ReplayStore(datasets::RecordedSet set);
  // The index holds views into the set: not copied, not moved.
  ReplayStore(const ReplayStore&) = delete;
  ReplayStore& operator=(const ReplayStore&) = delete;

  // The answer `model` recorded for `prompt`, or nullptr when the model is unknown or the prompt
  // was not recorded. Its score, cost and response may each be missing.
  const datasets::RecordedAnswer* find(std::string_view model, std::string_view prompt) const;
  // The recorded query with this prompt (all models' answers), or nullptr.
  const datasets::RecordedQuery* find_query(std::string_view prompt) const;

  const std::vector<std::string>& models() const { return set_.models; }
  const datasets::RecordedSet& set() const { return set_; }
  std::size_t size() const { return set_.queries.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  datasets::RecordedSet set_;
  // Trimmed prompt -> index of its first query; views into set_'s prompts.
  std::unordered_map<std::string_view, std::size_t, Hash, std::equal_to<>> by_prompt_;
};

// Leading and trailing ASCII whitespace removed.
std::string_view trim_prompt(std::string_view prompt);

}  // namespace tandem::providers
