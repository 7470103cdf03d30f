#include "tandem/llm/chat_vocabulary.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tandem/llm/engine.h"
#include "test_models.h"

namespace tandem::llm {
namespace {

ChatInputs messages(const char* json) {
  ChatInputs in;
  in.messages_json = json;
  return in;
}

TEST(ChatVocabulary, CountsWhatTheRunningEngineCounts) {
  // `tandem prompt render` counts with the vocabulary alone; the gateway with the loaded engine.
  // A prompt budget must come out the same in both.
  ChatVocabulary vocabulary(testing::tiny_model_path());
  Engine engine(testing::tiny_engine_config(1));
  ChatInputs in =
      messages(R"([{"role":"system","content":"Label the review."},)"
               R"({"role":"user","content":"The soup was cold and the waiter rude."}])");
  std::size_t counted = vocabulary.count(in);
  EXPECT_EQ(counted, count_chat_tokens(engine.vocab(), engine.chat_templates(), in));
  EXPECT_EQ(counted, engine.tokenize(render_chat(engine, in).text, true, true).size())
      << "the tokens the local provider decodes for this request";
  ChatInputs longer =
      messages(R"([{"role":"system","content":"Label the review."},)"
               R"({"role":"user","content":"The soup was cold and the waiter rude, twice."}])");
  EXPECT_GT(vocabulary.count(longer), counted);
}

TEST(ChatVocabulary, MissingFileAndBadMessagesAreErrors) {
  EXPECT_THROW(ChatVocabulary("/nonexistent/model.gguf"), std::runtime_error);
  ChatVocabulary vocabulary(testing::tiny_model_path());
  EXPECT_THROW(vocabulary.count(messages("[]")), ChatInputError);
  EXPECT_THROW(vocabulary.count(messages("not json")), ChatInputError);
}

}  // namespace
}  // namespace tandem::llm
