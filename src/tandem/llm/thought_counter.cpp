#include "tandem/llm/thought_counter.h"

#include <algorithm>
#include <utility>

namespace tandem::llm {

namespace {

std::string_view trim_start(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  return s.substr(i);
}

// Where the first of `ends` begins in `text`, and its length; npos when none is there.
std::pair<std::size_t, std::size_t> find_end(const std::vector<std::string>& ends,
                                             std::string_view text) {
  std::pair<std::size_t, std::size_t> first{std::string_view::npos, 0};
  for (const auto& end : ends) {
    if (end.empty()) continue;
    std::size_t at = text.find(end);
    if (at < first.first) first = {at, end.size()};
  }
  return first;
}

bool thinks(const ThoughtTags& tags) {
  return !tags.start.empty() &&
         std::any_of(tags.ends.begin(), tags.ends.end(), [](const auto& e) { return !e.empty(); });
}

}  // namespace

bool prompt_opens_thought(const ThoughtTags& tags) {
  if (!thinks(tags)) return false;
  std::size_t open = tags.generation_prompt.rfind(tags.start);
  if (open == std::string::npos) return false;
  std::string_view after =
      std::string_view(tags.generation_prompt).substr(open + tags.start.size());
  return find_end(tags.ends, after).first == std::string_view::npos;
}

SplitReply split_thought(const ThoughtTags& tags, std::string_view reply) {
  if (!thinks(tags)) return {"", std::string(reply)};
  std::string_view body = reply;
  if (!prompt_opens_thought(tags)) {
    std::string_view text = trim_start(reply);
    if (!text.starts_with(tags.start)) return {"", std::string(reply)};
    body = text.substr(tags.start.size());
  }
  // The line breaks after the opening tag are the tag's, as the template's parser reads them.
  body = trim_start(body);
  auto [at, length] = find_end(tags.ends, body);
  if (at == std::string_view::npos) return {std::string(body), ""};
  return {std::string(body.substr(0, at)), std::string(trim_start(body.substr(at + length)))};
}

ThoughtCounter::ThoughtCounter(const ThoughtTags& tags) : start_(tags.start) {
  if (!thinks(tags)) return;  // a template that does not think: after
  for (const auto& end : tags.ends) {
    if (end.empty()) continue;
    ends_.push_back(end);
    longest_end_ = std::max(longest_end_, end.size());
  }
  state_ = prompt_opens_thought(tags) ? State::inside : State::before;
}

bool ThoughtCounter::closes(std::string_view text) const {
  return find_end(ends_, text).first != std::string_view::npos;
}

void ThoughtCounter::add(std::string_view piece) {
  switch (state_) {
    case State::after:
      return;
    case State::before: {
      head_ += piece;
      ++head_tokens_;
      std::string_view text = trim_start(head_);
      if (text.size() < start_.size()) {
        // Still whitespace or a beginning of the tag: undecided.
        if (!std::string_view(start_).starts_with(text)) state_ = State::after;
        return;
      }
      if (!text.starts_with(start_)) {
        state_ = State::after;  // the reply answers without thinking
        return;
      }
      state_ = State::inside;
      tokens_ = head_tokens_;  // the tag's tokens, and the whitespace before it
      tail_ = text.substr(start_.size());
      if (closes(tail_)) state_ = State::after;
      head_.clear();
      return;
    }
    case State::inside: {
      ++tokens_;
      const std::size_t piece_at = tail_.size();
      tail_ += piece;
      auto [at, length] = find_end(ends_, tail_);
      if (at != std::string_view::npos) {
        state_ = State::after;
        // A tag other than the thought's own closing one begins what follows (Qwen3.5's thought
        // may end where a "<tool_call>" starts): the token that opens it is not thought.
        if (std::string_view(tail_).substr(at, length) != ends_.front() && at >= piece_at) {
          --tokens_;
        }
        tail_.clear();
      } else if (tail_.size() > longest_end_) {
        // Only the bytes a closing tag could still end with are kept.
        tail_.erase(0, tail_.size() - longest_end_);
      }
      return;
    }
  }
}

}  // namespace tandem::llm
