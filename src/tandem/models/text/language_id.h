#pragma once
// The language of a text, by fastText's language identification model (lid.176.ftz, 176
// languages; prepared by scripts/setup_data.sh), for the task policy's language rules when a
// request does not declare its language. Loaded once, then used from any thread.
#include <memory>
#include <string>
#include <string_view>

namespace fasttext {
class FastText;
}

namespace tandem::models::text {

class LanguageId {
 public:
  // Throws std::runtime_error naming the file when it is missing or not a fastText model.
  explicit LanguageId(const std::string& path);
  ~LanguageId();
  LanguageId(const LanguageId&) = delete;
  LanguageId& operator=(const LanguageId&) = delete;

  struct Guess {
    std::string code;  // ISO 639-1 where the model has one ("en", "fr"), else its own label
    double probability = 0;
  };
  // The most likely language of the text's first line; an empty code when the model has no
  // guess (an empty text).
  Guess detect(std::string_view text) const;

 private:
  std::unique_ptr<fasttext::FastText> model_;
};

}  // namespace tandem::models::text
