// Fitted cascade thresholds and distilled-model state: what the gateway reads back at start.
#include "tandem/tasks/cascade_state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tandem::tasks {
namespace {

namespace fs = std::filesystem;

fs::path temp(const std::string& name) {
  return fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
}

TEST(CascadeState, ThresholdsRoundTripAndBadFilesNameThemselves) {
  fs::path file = temp("thresholds.json");
  write_cascade_thresholds(file.string(), {{"a", "b", "c"}, {0.8, 0.55}}, R"({"accuracy":0.9})");
  CascadeThresholds t = read_cascade_thresholds(file.string());
  EXPECT_EQ(t.variants, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t.thresholds, (std::vector<double>{0.8, 0.55}));
  auto error_of = [&](const std::string& text) {
    std::ofstream(file) << text;
    try {
      read_cascade_thresholds(file.string());
      return std::string("accepted");
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
  };
  std::string name = "'" + file.string() + "'";
  EXPECT_EQ(error_of("[1]"), name + " is not a JSON object");
  EXPECT_EQ(error_of(R"({"variants": ["a"]})"),
            name + " needs \"variants\" and \"thresholds\" arrays");
  EXPECT_EQ(error_of(R"({"variants": ["a", "b"], "thresholds": [1.5]})"),
            name + ": thresholds must be numbers in [0, 1]");
  EXPECT_EQ(error_of(R"({"variants": ["a", "b", "c"], "thresholds": [0.5]})"),
            name + ": a cascade of 3 stages needs 2 thresholds");
  fs::remove(file);
  EXPECT_NE(error_of("").find("is not a JSON object"), std::string::npos);
  fs::remove(file);
  try {
    read_cascade_thresholds(file.string());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read " + name);
  }
}

TEST(CascadeState, DistillStateRoundTripsAndIsAbsentUntilWritten) {
  fs::path artifact = temp("distilled.tmd");
  EXPECT_FALSE(read_distill_state(artifact.string()).has_value());
  DistillState s;
  s.teacher = "llm";
  s.threshold = 0.83;
  s.agreement = 0.96;
  s.coverage = 0.71;
  s.records = 900;
  s.held_out = 225;
  s.accepted = true;
  s.created_utc = "2026-11-28T00:00:00Z";
  write_distill_state(artifact.string(), s);
  auto back = read_distill_state(artifact.string());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->teacher, "llm");
  EXPECT_DOUBLE_EQ(back->threshold, 0.83);
  EXPECT_DOUBLE_EQ(back->agreement, 0.96);
  EXPECT_DOUBLE_EQ(back->coverage, 0.71);
  EXPECT_EQ(back->records, 900u);
  EXPECT_EQ(back->held_out, 225u);
  EXPECT_TRUE(back->accepted);
  std::ofstream(distill_state_path(artifact.string())) << R"({"threshold": 2})";
  EXPECT_THROW(read_distill_state(artifact.string()), std::runtime_error);
  fs::remove(distill_state_path(artifact.string()));
}

}  // namespace
}  // namespace tandem::tasks
