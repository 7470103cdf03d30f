#include "tandem/providers/replay_store.h"

namespace tandem::providers {

std::string_view trim_prompt(std::string_view s) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

ReplayStore::ReplayStore(datasets::RecordedSet set) : set_(std::move(set)) {
  by_prompt_.reserve(set_.queries.size());
  for (std::size_t i = 0; i < set_.queries.size(); ++i) {
    by_prompt_.try_emplace(trim_prompt(set_.queries[i].prompt), i);
  }
}

std::shared_ptr<const ReplayStore> ReplayStore::load(const std::filesystem::path& file_or_folder,
                                                     std::string_view format) {
  return std::make_shared<const ReplayStore>(datasets::load_recorded_set(file_or_folder, format));
}

const datasets::RecordedQuery* ReplayStore::find_query(std::string_view prompt) const {
  const auto it = by_prompt_.find(trim_prompt(prompt));
  return it == by_prompt_.end() ? nullptr : &set_.queries[it->second];
}

const datasets::RecordedAnswer* ReplayStore::find(std::string_view model,
                                                  std::string_view prompt) const {
  const auto m = set_.find_model(model);
  if (!m) return nullptr;
  const datasets::RecordedQuery* q = find_query(prompt);
  return q ? &q->answers[*m] : nullptr;
}

}  // namespace tandem::providers
