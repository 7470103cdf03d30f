#pragma once
// `tandem eval --model M --data D`: a trained model on a test set. Classifiers: accuracy,
// macro-F1, ECE and the confusion matrix; the recommender: RMSE, MAE, precision@10, recall@10
// and NDCG@10 beside the popularity baseline. The kind comes from the artifact.
#include <CLI/CLI.hpp>
#include <string>

#include "tandem/models/recsys/recsys_metrics.h"

namespace tandem::cli {

struct EvalCommandOptions {
  std::string model;
  std::string data;    // text: CSV; recsys: ratings CSV; vision: IDX images
  std::string labels;  // vision: IDX labels
  int k = 10;          // recsys: the cut-off of the ranking metrics
};

void add_eval_command(CLI::App& app, EvalCommandOptions& options);
// The recommender's figures beside the popularity baseline's (also `tandem train --holdout`).
void print_recsys_report(const models::recsys::RecsysReport& report, std::size_t k);
int run_eval(const EvalCommandOptions& options);

}  // namespace tandem::cli
