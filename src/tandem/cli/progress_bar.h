#pragma once
// The progress bar of `tandem train`: one line on stderr, redrawn in place on a terminal; in a
// log (not a TTY) a line when the phase changes and at most every 10 s within one, so a log shows
// a long run moving without filling up.
#include <chrono>
#include <string>

#include "tandem/models/progress.h"

namespace tandem::cli {

class ProgressBar {
 public:
  ProgressBar();
  void update(const models::TrainProgress& p);
  // Ends the redrawn line so that other output starts on a fresh one.
  void finish();

 private:
  bool tty_;
  bool open_ = false;
  std::string phase_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point phase_started_;
  std::chrono::steady_clock::time_point last_line_;
};

// "mm:ss".
std::string clock_text(double seconds);

}  // namespace tandem::cli
