#include "tandem/cli/finetune_command.h"

#include <cstdio>
#include <exception>
#include <string>

#include "tandem/cli/progress_bar.h"

namespace tandem::cli {

namespace {

// The shared bar (progress_bar.h): one phase per pass, "epoch 2/3 train" then "epoch 2/3 val".
models::TrainProgress as_train_progress(const llm::StepProgress& p) {
  char detail[32];
  std::snprintf(detail, sizeof detail, "loss %.4f", p.loss);
  return models::TrainProgress{"epoch " + std::to_string(p.epoch) + "/" + std::to_string(p.epochs) +
                                   (p.training ? " train" : " val"),
                               static_cast<std::size_t>(p.step), static_cast<std::size_t>(p.steps),
                               detail};
}

void print_epoch(const llm::EpochStats& e, int epochs) {
  std::printf("epoch %d/%d: train loss %.4f (accuracy %.1f%%)", e.epoch, epochs, e.train_loss,
              e.train_accuracy * 100);
  if (e.val_loss) {
    std::printf(", validation loss %.4f (accuracy %.1f%%)", *e.val_loss, *e.val_accuracy * 100);
  }
  std::printf(", %.1f s\n", e.seconds);
  std::fflush(stdout);
}

void print_report(const llm::FinetuneResult& r) {
  if (r.history.empty()) return;
  const auto& first = r.history.front();
  const auto& last = r.history.back();
  std::printf("%s: %zu epoch(s), train loss %.4f -> %.4f", r.out_path.c_str(), r.history.size(),
              first.train_loss, last.train_loss);
  if (first.val_loss && last.val_loss) {
    std::printf(", validation loss %.4f -> %.4f", *first.val_loss, *last.val_loss);
  }
  std::printf("\n");
}

}  // namespace

int run_finetune(const llm::FinetuneOptions& options) {
  ProgressBar bar;
  llm::FinetuneListener listener;
  listener.info = [&](const std::string& text) {
    bar.finish();
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  };
  listener.warning = [&](const std::string& text) {
    bar.finish();
    std::fprintf(stderr, "warning: %s\n", text.c_str());
  };
  listener.step = [&](const llm::StepProgress& p) { bar.update(as_train_progress(p)); };
  listener.epoch = [&](const llm::EpochStats& e) {
    bar.finish();
    print_epoch(e, options.epochs);
  };
  try {
    const llm::FinetuneResult result = llm::finetune(options, listener);
    bar.finish();
    print_report(result);
    return 0;
  } catch (const std::exception& e) {
    bar.finish();
    std::fprintf(stderr, "tandem finetune: %s\n", e.what());
    return 1;
  }
}

}  // namespace tandem::cli
