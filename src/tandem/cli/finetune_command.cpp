#include "tandem/cli/finetune_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

namespace tandem::cli {

namespace {

std::string clock_text(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%02ld:%02ld", s / 60, s % 60);
  return text;
}

// One line on stderr: redrawn in place on a terminal; in a log (not a TTY), a line at most every
// 10 s, so a log shows a long epoch moving without filling up (each epoch ends with its summary).
class ProgressBar {
 public:
  ProgressBar() : tty_(::isatty(STDERR_FILENO) == 1) {}

  void update(const llm::StepProgress& p) {
    if (!tty_) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_line_ < std::chrono::seconds(10)) return;
      last_line_ = now;
    }
    const double fraction = p.steps > 0 ? static_cast<double>(p.step) / p.steps : 1.0;
    const double eta = fraction > 0 ? p.elapsed_seconds / fraction - p.elapsed_seconds : 0.0;
    constexpr int kWidth = 30;
    std::string bar(static_cast<std::size_t>(fraction * kWidth), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "%sepoch %d/%d %-5s [%s] %3d%% %lld/%lld loss %.4f %s<%s%s",
                 tty_ ? "\r" : "", p.epoch, p.epochs, p.training ? "train" : "val", bar.c_str(),
                 static_cast<int>(fraction * 100), static_cast<long long>(p.step),
                 static_cast<long long>(p.steps), p.loss, clock_text(p.elapsed_seconds).c_str(),
                 clock_text(eta).c_str(), tty_ ? "\033[K" : "\n");
    std::fflush(stderr);
    open_ = tty_;
  }

  // Ends the redrawn line so that other output starts on a fresh one.
  void finish() {
    if (open_) std::fputc('\n', stderr);
    open_ = false;
  }

 private:
  bool tty_;
  bool open_ = false;
  std::chrono::steady_clock::time_point last_line_ = std::chrono::steady_clock::now();
};

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
  listener.step = [&](const llm::StepProgress& p) { bar.update(p); };
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
