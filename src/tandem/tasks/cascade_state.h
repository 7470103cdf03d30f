#pragma once
// Fitted cascade settings stored next to a task, read at start and on reload:
//  - a thresholds file (policy.thresholds_file), written by `tandem eval --task ... --fit`:
//    {"variants": ["a", "b", "c"], "thresholds": [0.8, 0.6], ...what the fit measured}
//  - a distilled model's state, `<artifact>.json` next to the artifact `tandem distill` writes:
//    {"teacher": "llm", "threshold": 0.83, "agreement": 0.96, "coverage": 0.71, ...}
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace tandem::tasks {

struct CascadeThresholds {
  std::vector<std::string> variants;  // the stages the thresholds were fitted for, in order
  std::vector<double> thresholds;     // one per stage but the last
};

// Throws std::runtime_error naming the file when it cannot be read or is malformed.
CascadeThresholds read_cascade_thresholds(const std::string& path);
void write_cascade_thresholds(const std::string& path, const CascadeThresholds& thresholds,
                              const std::string& details_json);

struct DistillState {
  std::string teacher;
  double threshold = 1.0;    // the distilled model answers when its confidence reaches this
  double agreement = 0;      // with the teacher, on held-out records it answered
  double coverage = 0;       // share of held-out records it answered
  std::size_t records = 0;   // records it learned from
  std::size_t held_out = 0;  // records it was checked on
  bool accepted = false;     // agreement reached the configured target
  std::string created_utc;
};

std::string distill_state_path(const std::string& artifact_path);
// nullopt when the file does not exist; throws std::runtime_error when it is malformed.
std::optional<DistillState> read_distill_state(const std::string& artifact_path);
void write_distill_state(const std::string& artifact_path, const DistillState& state);

}  // namespace tandem::tasks
