// tandem: the gateway and its command-line tools.
#include <CLI/CLI.hpp>

#include "tandem/cli/distill_command.h"
#include "tandem/cli/eval_command.h"
#include "tandem/cli/eval_task_command.h"
#include "tandem/cli/finetune_command.h"
#include "tandem/cli/models_command.h"
#include "tandem/cli/prompt_command.h"
#include "tandem/cli/serve_command.h"
#include "tandem/cli/test_model_command.h"
#include "tandem/cli/train_command.h"
#include "tandem/models/vision/blas_threads.h"

int main(int argc, char** argv) {
  // OpenBLAS (dlib's BLAS, for the image classifier) picks its kernels when it is loaded, before
  // main, and falls back to its slowest ones on CPUs it does not know: restart once with the
  // right OPENBLAS_CORETYPE (a no-op when its own choice stands). See blas_threads.h.
  tandem::models::vision::reexec_for_openblas_core(argv);
  // `tandem train router` and `tandem eval --task` (offline routing) have their own parsers.
  if (auto rc = tandem::cli::run_routing_command(argc, argv)) return *rc;
  CLI::App app{"Tandem: LLMs and tailored task models behind one OpenAI-compatible API"};
  app.require_subcommand(1);

  tandem::cli::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the gateway until SIGINT/SIGTERM");
  serve_cmd->add_option("-c,--config", serve.config_path, "Config file (TOML)")
      ->capture_default_str();
  serve_cmd->add_option("--host", serve.host, "Override server.host");
  serve_cmd->add_option("-p,--port", serve.port, "Override server.port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  serve_cmd->add_option("--threads", serve.threads, "Override server.threads")
      ->check(CLI::Range(1, 256));
  serve_cmd->add_option("--port-file", serve.port_file, "Write the bound port to this file");

  std::string check_path = "tandem.toml";
  auto* check_cmd = app.add_subcommand("check-config", "Validate a config file and exit");
  check_cmd->add_option("-c,--config", check_path, "Config file (TOML)")->capture_default_str();

  tandem::cli::TestModelOptions test_model;
  auto* test_model_cmd = app.add_subcommand(
      "make-test-model", "Write a random-weight GGUF model with a real vocabulary (for tests)");
  test_model_cmd->add_option("--vocab", test_model.vocab_path, "A ggml-vocab-*.gguf file")
      ->required()
      ->check(CLI::ExistingFile);
  test_model_cmd->add_option("-o,--out", test_model.out_path, "Output GGUF path")->required();
  test_model_cmd->add_option("--size", test_model.size, "tiny or 0.5b")
      ->check(CLI::IsMember({"tiny", "0.5b"}))
      ->capture_default_str();
  test_model_cmd->add_option("--type", test_model.type, "f32, f16, q8_0 or q4_k")
      ->check(CLI::IsMember({"f32", "f16", "q8_0", "q4_k"}))
      ->capture_default_str();
  test_model_cmd->add_option("--seed", test_model.seed, "Weight seed")->capture_default_str();
  test_model_cmd->add_flag("--embedding", test_model.embedding,
                           "Declare mean pooling (an embedding model)");
  test_model_cmd
      ->add_option("--chat-template", test_model.chat_template_path,
                   "A Jinja chat template file (default: Qwen2.5-Instruct's)")
      ->check(CLI::ExistingFile);
  test_model_cmd->add_option("--add-token", test_model.added_tokens,
                             "A token to add to the vocabulary, e.g. <think> (repeatable)");
  test_model_cmd->add_option("--add-control-token", test_model.control_tokens,
                             "A control token to add, e.g. [THINK] (repeatable)");

  tandem::llm::FinetuneOptions finetune;
  auto* finetune_cmd = app.add_subcommand(
      "finetune", "Fine-tune a local GGUF model (F32) on chat examples in OpenAI's JSONL format");
  finetune_cmd->add_option("-m,--model", finetune.model_path, "Base model (GGUF, F32 weights)")
      ->required();
  finetune_cmd->add_option("-d,--data", finetune.data_path, "Examples: {\"messages\": [...]} lines")
      ->required();
  finetune_cmd
      ->add_option("-o,--out", finetune.out_path, "Tuned model (GGUF); <out>.state.json too")
      ->required();
  finetune_cmd->add_option("--epochs", finetune.epochs, "Total epochs (a rerun resumes)")
      ->capture_default_str();
  finetune_cmd->add_option("--lr", finetune.learning_rate, "AdamW learning rate")
      ->capture_default_str();
  finetune_cmd->add_option("--lr-min", finetune.lr_min, "Decay the rate to this (0: constant)")
      ->capture_default_str();
  finetune_cmd
      ->add_option("--decay-epochs", finetune.decay_epochs,
                   "Epochs of decay to --lr-min (0: all of --epochs)")
      ->capture_default_str();
  finetune_cmd->add_option("--weight-decay", finetune.weight_decay, "AdamW weight decay")
      ->capture_default_str();
  finetune_cmd->add_option("--val-split", finetune.val_split, "Fraction held out for validation")
      ->capture_default_str();
  finetune_cmd->add_option("--ctx", finetune.context, "Tokens per training window")
      ->capture_default_str();
  finetune_cmd
      ->add_option("--batch", finetune.batch,
                   "Tokens per optimizer step, dividing --ctx (0: --ctx)")
      ->capture_default_str();
  finetune_cmd->add_flag("--pack", finetune.pack, "Pack several examples into each window");
  finetune_cmd->add_option("--threads", finetune.threads, "CPU threads (0: all cores)")
      ->capture_default_str();
  finetune_cmd->add_option("--seed", finetune.seed, "Validation split and example order")
      ->capture_default_str();
  finetune_cmd->add_flag("--restart", finetune.restart,
                         "Start from the base model even if --out can be resumed");

  std::vector<std::string> model_paths{"."};
  auto* models_cmd = app.add_subcommand("models", "Tailored-model artifacts");
  models_cmd->require_subcommand(1);
  auto* models_list_cmd =
      models_cmd->add_subcommand("list", "List model artifacts with their metadata and metrics");
  models_list_cmd->add_option("paths", model_paths, "Artifact files or folders")
      ->capture_default_str();

  tandem::cli::TrainCommandOptions train;
  tandem::cli::add_train_command(app, train);
  tandem::cli::EvalCommandOptions eval;
  tandem::cli::add_eval_command(app, eval);

  tandem::cli::PromptRenderOptions prompt_render;
  tandem::cli::add_prompt_command(app, prompt_render);
  tandem::cli::DistillCommandOptions distill;
  tandem::cli::add_distill_command(app, distill);

  app.add_subcommand("version", "Print the version")->callback([] { std::puts("tandem 0.1.0"); });

  CLI11_PARSE(app, argc, argv);
  if (serve_cmd->parsed()) return tandem::cli::run_serve(serve);
  if (check_cmd->parsed()) return tandem::cli::run_check_config(check_path);
  if (test_model_cmd->parsed()) return tandem::cli::run_make_test_model(test_model);
  if (finetune_cmd->parsed()) return tandem::cli::run_finetune(finetune);
  if (models_list_cmd->parsed()) return tandem::cli::run_models_list(model_paths);
  if (app.got_subcommand("train")) return tandem::cli::run_train(train);
  if (app.got_subcommand("eval")) return tandem::cli::run_eval(eval);
  if (app.got_subcommand("prompt")) return tandem::cli::run_prompt_render(prompt_render);
  if (app.got_subcommand("distill")) return tandem::cli::run_distill(distill);
  return 0;
}
