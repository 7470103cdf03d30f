#include "tandem/models/text/language_id.h"

#include <fasttext/fasttext.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace tandem::models::text {

LanguageId::LanguageId(const std::string& path) : model_(std::make_unique<fasttext::FastText>()) {
  if (!std::filesystem::is_regular_file(path)) {
    throw std::runtime_error("language model '" + path + "' does not exist");
  }
  try {
    model_->loadModel(path);
  } catch (const std::exception& e) {
    throw std::runtime_error("language model '" + path + "' is not a fastText model: " + e.what());
  }
}

LanguageId::~LanguageId() = default;

LanguageId::Guess LanguageId::detect(std::string_view text) const {
  // fastText reads one line; the model was trained on single lines, so newlines become spaces.
  std::string line(text.substr(0, 4096));
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  line += '\n';
  std::istringstream in(line);
  std::vector<std::pair<fasttext::real, std::string>> predictions;
  // predictLine keeps its state per call (const): safe from many threads at once.
  model_->predictLine(in, predictions, 1, 0.0);
  Guess guess;
  if (predictions.empty()) return guess;
  std::string label = predictions.front().second;
  constexpr std::string_view kPrefix = "__label__";
  if (label.rfind(kPrefix, 0) == 0) label.erase(0, kPrefix.size());
  guess.code = label;
  guess.probability = std::min(1.0, static_cast<double>(predictions.front().first));
  return guess;
}

}  // namespace tandem::models::text
