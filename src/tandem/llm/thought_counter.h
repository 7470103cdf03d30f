#pragma once
// Counts a reasoning model's thought in generated tokens: usage's
// completion_tokens_details.reasoning_tokens, as OpenAI reports it. The thought is what the chat
// template's parser reads as reasoning: it opens at the start of the reply (or the generation
// prompt opened it) and ends at the first closing tag; the tags count as part of it. Text, not
// token ids, is matched, so a tag that the model spells in several tokens counts as one the
// vocabulary holds whole does.
#include <string>
#include <string_view>
#include <vector>

namespace tandem::llm {

// The template's thinking tags, as llama.cpp's chat parameters name them. Empty `start` or `ends`:
// the template does not think, and nothing is counted. The first of `ends` is the thought's own
// closing tag, which counts as thought; the others begin what follows it.
struct ThoughtTags {
  std::string start;              // "<think>"
  std::vector<std::string> ends;  // "</think>", ...
  // What the template put after the last message: when it opens a thought ("...<think>\n"), the
  // reply begins inside it.
  std::string generation_prompt;
};

// The generation prompt opens a thought and does not close it, so the reply starts inside it
// (Qwen3.5's "<|im_start|>assistant\n<think>\n"; one that turns thinking off closes what it opens).
bool prompt_opens_thought(const ThoughtTags& tags);

// The reply's leading thought (without its tags and the blanks after the opening one) and what
// follows it, by the tags alone: for a reply the template's parser cannot read. {"", reply} when
// there is none.
struct SplitReply {
  std::string thought;
  std::string rest;
};
SplitReply split_thought(const ThoughtTags& tags, std::string_view reply);

class ThoughtCounter {
 public:
  ThoughtCounter() = default;
  explicit ThoughtCounter(const ThoughtTags& tags);
  // One generated token's text (may be empty, as a control token's is).
  void add(std::string_view piece);
  // Generated tokens that belong to the thought so far.
  int tokens() const { return tokens_; }

 private:
  enum class State { before, inside, after };
  bool closes(std::string_view text) const;
  State state_ = State::after;
  std::string start_;
  std::vector<std::string> ends_;
  std::size_t longest_end_ = 0;
  std::string head_;     // before: the reply's text so far, which may yet open a thought
  int head_tokens_ = 0;  // before: the tokens that made `head_`
  std::string tail_;     // inside: the thought's last bytes, where a closing tag may be forming
  int tokens_ = 0;
};

}  // namespace tandem::llm
