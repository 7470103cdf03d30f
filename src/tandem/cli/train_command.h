#pragma once
// `tandem train text|recsys|vision`: trains a tailored model with a progress bar, writes its
// artifact and prints a report. Same options and data, same model (seeded).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace tandem::cli {

struct TrainCommandOptions {
  std::string kind;     // text | recsys | vision
  std::string data;     // text: CSV (text,label); recsys: ratings CSV; vision: IDX images
  std::string labels;   // vision: IDX labels
  std::string out;      // the artifact to write
  std::string vectors;  // text: optional GloVe binary (data/README.md)
  std::uint64_t seed = 42;
  int threads = 0;         // 0: the kind's default
  double validation = -1;  // text/vision: held out for calibration (-1: the kind's default)
  // recsys
  std::string feedback = "explicit";
  std::string solver = "gibbs";
  int factors = 0;     // 0: the defaults'
  int iterations = 0;  // 0: the defaults'
  double holdout = 0;  // > 0: train on the rest, report the held-out metrics
  // vision
  int epochs = 0;                        // 0: the default schedule
  std::vector<std::string> label_names;  // empty: Fashion-MNIST's ten
  std::size_t max_examples = 0;          // 0: all
};

void add_train_command(CLI::App& app, TrainCommandOptions& options);
int run_train(const TrainCommandOptions& options);

}  // namespace tandem::cli
