#include "tandem/cli/prompt_command.h"

#include <CLI/CLI.hpp>

#include <boost/json/serialize.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <variant>

#include "tandem/config/config_loader.h"
#include "tandem/core/json_util.h"
#include "tandem/core/money.h"
#include "tandem/llm/chat_vocabulary.h"
#include "tandem/prompts/prompt_builder.h"
#include "tandem/providers/model_embedder.h"

namespace tandem::cli {

namespace {

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int fail(const std::string& message) {
  std::fprintf(stderr, "tandem prompt render: %s\n", message.c_str());
  return 2;
}

// The GGUF file behind the variant's model when its first route is a local provider.
const config::LocalModelConfig* local_model(const config::Config& config,
                                            const config::VariantConfig& variant) {
  const config::ModelConfig* model = config.find_model(variant.model);
  if (model == nullptr || model->routes.empty()) return nullptr;
  const config::RouteConfig& route = model->routes.front();
  if (route.provider_index >= config.providers.size()) return nullptr;
  const config::ProviderConfig& provider = config.providers[route.provider_index];
  if (provider.kind != "local") return nullptr;
  return provider.find_local_model(route.model);
}

}  // namespace

void add_prompt_command(CLI::App& app, PromptRenderOptions& options) {
  auto* prompt = app.add_subcommand("prompt", "Prompts of LLM variants");
  prompt->require_subcommand(1);
  auto* render = prompt->add_subcommand(
      "render", "Print the exact messages, response_format and token count for an input");
  render->add_option("-c,--config", options.config_path, "Config file (TOML)")
      ->capture_default_str();
  render->add_option("--task", options.task, "Task name")->required();
  render->add_option("--variant", options.variant, "LLM variant of the task")->required();
  auto* input = render->add_option("--input", options.input_json,
                                   "The task input: a JSON object such as {\"text\": \"...\"}");
  auto* file = render->add_option("--input-file", options.input_file, "The input from a file");
  input->excludes(file);
  file->excludes(input);
}

int run_prompt_render(const PromptRenderOptions& options) {
  if (options.input_json.empty() == options.input_file.empty()) {
    return fail("give the input with --input or --input-file");
  }
  auto loaded = config::load_config_file(options.config_path, config::process_environment());
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
    return fail(std::to_string(loaded.errors.size()) + " problem(s) in " + options.config_path);
  }
  const config::Config& config = *loaded.config;
  const config::TaskConfig* task = config.find_task(options.task);
  if (task == nullptr) return fail("no task '" + options.task + "' in " + options.config_path);
  const config::VariantConfig* variant = task->find_variant(options.variant);
  if (variant == nullptr) {
    return fail("task " + task->name + " has no variant '" + options.variant + "'");
  }
  if (variant->kind != "llm") {
    return fail("variant " + variant->name + " is " + variant->kind + ", not an llm variant");
  }

  std::string text = options.input_json;
  if (!options.input_file.empty()) {
    auto read = read_text(options.input_file);
    if (!read) return fail(options.input_file + ": cannot read the input");
    text = std::move(*read);
  }
  auto parsed = core::parse_json(text);
  if (auto* err = std::get_if<core::JsonParseError>(&parsed)) {
    return fail("the input is not valid JSON: " + err->message);
  }
  boost::json::value value = std::move(std::get<boost::json::value>(parsed));
  if (value.is_string()) value = boost::json::object{{"text", value}};
  if (!value.is_object()) {
    return fail(std::string("the input must be a JSON object, got ") + core::json_kind_name(value));
  }

  try {
    prompts::BuilderOptions builder_options;
    if (variant->retrieve_examples > 0 && variant->embedder != "glove") {
      // A remote embeddings API is called from here as the server would (the examples, then the
      // input); a local embeddings model is loaded by `tandem serve` only.
      const config::ModelConfig* embedder = config.find_model(variant->embedder);
      std::vector<providers::EmbedderRoute> routes;
      if (embedder != nullptr) routes = providers::embedder_routes(config, *embedder);
      if (routes.empty()) {
        return fail("variant " + variant->name + " retrieves its examples with '" +
                    variant->embedder +
                    "', an embeddings model served in process: only `tandem serve` loads it "
                    "(prompt render embeds with GloVe or a remote embeddings API)");
      }
      builder_options.embedder =
          std::make_shared<providers::ModelEmbedder>(variant->embedder, std::move(routes));
    }
    prompts::PromptBuilder builder(*task, *variant, std::move(builder_options));
    std::unique_ptr<llm::ChatVocabulary> local;
    std::string counted_by = "estimated: characters / 4, plus 4 per message";
    if (const auto* lm = local_model(config, *variant)) {
      local = std::make_unique<llm::ChatVocabulary>(lm->path);
      counted_by = "the tokenizer and chat template of " + lm->path;
    }
    prompts::TokenCounter counter;
    if (local) {
      counter = [&](std::span<const prompts::ChatMessage> m) {
        llm::ChatInputs inputs;
        inputs.messages_json = boost::json::serialize(prompts::messages_json(m));
        return local->count(inputs);
      };
    }
    prompts::PromptRequest request = builder.build(value.get_object(), counter);

    std::printf("%s (model %s)\n", builder.what().c_str(), variant->model.c_str());
    for (const auto& m : request.messages) {
      std::printf("\n--- %s ---\n%s\n", m.role.c_str(), m.content.c_str());
    }
    std::printf("\n--- response_format ---\n%s\n",
                request.response_format.is_null()
                    ? "none (free text)"
                    : boost::json::serialize(request.response_format).c_str());
    std::printf("\nfew-shot examples: %zu of %zu", request.examples.size(),
                builder.example_count());
    if (request.examples_dropped > 0) {
      std::printf(" (%zu dropped to fit max_prompt_tokens %d)", request.examples_dropped,
                  variant->max_prompt_tokens);
    }
    std::size_t tokens = request.prompt_tokens ? *request.prompt_tokens
                         : counter             ? counter(request.messages)
                                               : prompts::estimate_tokens(request.messages);
    std::printf("\nprompt tokens: %s%zu (%s)\n", local ? "" : "~", tokens, counted_by.c_str());
    // What the embeddings API calls cost (nothing printed for GloVe or a free embedder).
    auto print_spend = [](const char* what, const prompts::EmbeddingSpend& spend) {
      if (spend.calls == 0) return;
      std::string tokens =
          spend.usage.known ? std::to_string(spend.usage.prompt_tokens) : "unreported";
      std::printf("embedded %s by %s: %d request(s), %s tokens, %s USD\n", what,
                  spend.route.c_str(), spend.calls, tokens.c_str(),
                  core::format_usd(spend.cost_pico_usd).c_str());
    };
    print_spend("the examples", builder.examples_embedding());
    print_spend("the input", request.embedding);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 0;
}

}  // namespace tandem::cli
