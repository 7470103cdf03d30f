#include "tandem/cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace tandem::cli {

std::string clock_text(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%02ld:%02ld", s / 60, s % 60);
  return text;
}

ProgressBar::ProgressBar()
    : tty_(::isatty(STDERR_FILENO) == 1),
      started_(std::chrono::steady_clock::now()),
      phase_started_(started_),
      last_line_(started_) {}

void ProgressBar::update(const models::TrainProgress& p) {
  const auto now = std::chrono::steady_clock::now();
  bool new_phase = p.phase != phase_;
  if (new_phase) {
    if (open_) std::fputc('\n', stderr);
    open_ = false;
    phase_ = p.phase;
    phase_started_ = now;
  }
  bool last = p.total > 0 && p.done >= p.total;
  if (!tty_ && !new_phase && !last && now - last_line_ < std::chrono::seconds(10)) return;
  last_line_ = now;
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  std::string bar;
  if (p.total > 0) {
    const double fraction =
        std::min(1.0, static_cast<double>(p.done) / static_cast<double>(p.total));
    const double in_phase = std::chrono::duration<double>(now - phase_started_).count();
    const double eta = fraction > 0 ? in_phase / fraction - in_phase : 0.0;
    constexpr int kWidth = 30;
    bar = std::string(static_cast<std::size_t>(fraction * kWidth), '#');
    bar.resize(kWidth, '.');
    char head[160];
    std::snprintf(head, sizeof head, " [%s] %3d%% %zu/%zu <%s", bar.c_str(),
                  static_cast<int>(fraction * 100), p.done, p.total, clock_text(eta).c_str());
    bar = head;
  }
  std::fprintf(stderr, "%s%s%s %s %s%s", tty_ ? "\r" : "", p.phase.c_str(), bar.c_str(),
               p.detail.c_str(), clock_text(elapsed).c_str(), tty_ ? "\033[K" : "\n");
  std::fflush(stderr);
  open_ = tty_;
}

void ProgressBar::finish() {
  if (open_) std::fputc('\n', stderr);
  open_ = false;
}

}  // namespace tandem::cli
