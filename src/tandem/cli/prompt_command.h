#pragma once
// `tandem prompt render -c CONFIG --task T --variant V (--input JSON | --input-file F)`: the
// exact messages an LLM variant sends for an input (few-shot examples chosen and trimmed as the
// server does), the response_format, and the prompt's token count -- counted with the model's
// own tokenizer and chat template when the variant's model is served by a local provider first,
// else estimated (characters / 4) and labelled so.
#include <string>

namespace CLI {
class App;
}

namespace tandem::cli {

struct PromptRenderOptions {
  std::string config_path = "tandem.toml";
  std::string task;
  std::string variant;
  std::string input_json;  // a JSON object (or a JSON string: the "text" field)
  std::string input_file;  // the same, from a file
};

void add_prompt_command(CLI::App& app, PromptRenderOptions& options);
// Exit status: 0 printed, 2 bad arguments, config, input or template error.
int run_prompt_render(const PromptRenderOptions& options);

}  // namespace tandem::cli
