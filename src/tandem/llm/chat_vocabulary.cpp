#include "tandem/llm/chat_vocabulary.h"

#include <chat.h>
#include <llama.h>

#include <stdexcept>

#include "tandem/llm/backend.h"

namespace tandem::llm {

ChatVocabulary::ChatVocabulary(const std::string& path) {
  ensure_backend();
  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  model_ = llama_model_load_from_file(path.c_str(), params);
  if (model_ == nullptr) {
    throw std::runtime_error(path + ": llama.cpp could not load the model's vocabulary");
  }
  templates_ = common_chat_templates_init(model_, "").release();
}

ChatVocabulary::~ChatVocabulary() {
  if (templates_ != nullptr) common_chat_templates_free(templates_);
  llama_model_free(model_);
}

std::size_t ChatVocabulary::count(const ChatInputs& inputs) const {
  return count_chat_tokens(llama_model_get_vocab(model_), templates_, inputs);
}

}  // namespace tandem::llm
