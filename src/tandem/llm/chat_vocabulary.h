#pragma once
// A GGUF model's vocabulary and chat templates without its weights: what counting a chat
// prompt's tokens needs outside the gateway (`tandem prompt render`), quick to load even for a
// large model.
#include <cstddef>
#include <string>

#include "tandem/llm/chat_prompt.h"

struct llama_model;

namespace tandem::llm {

class ChatVocabulary {
 public:
  explicit ChatVocabulary(const std::string& path);  // throws std::runtime_error naming the file
  ~ChatVocabulary();
  ChatVocabulary(const ChatVocabulary&) = delete;
  ChatVocabulary& operator=(const ChatVocabulary&) = delete;

  // count_chat_tokens on this model: the same count the gateway's local provider makes.
  std::size_t count(const ChatInputs& inputs) const;

 private:
  llama_model* model_ = nullptr;
  common_chat_templates* templates_ = nullptr;
};

}  // namespace tandem::llm
