// Inference records: appended in the background, in order, nothing lost on shutdown.
#include "tandem/store/record_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tandem::store {
namespace {

namespace fs = std::filesystem;

TEST(RecordWriter, AppendsInOrderAndWritesEverythingBeforeItStops) {
  fs::path dir = fs::temp_directory_path() / ("tandem-records-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::path file = dir / "nested" / "t.jsonl";
  {
    RecordWriter w(file.string());
    for (int i = 0; i < 1000; ++i) w.append("{\"i\":" + std::to_string(i) + "}");
    w.flush();
    EXPECT_EQ(w.written(), 1000u);
    w.append("{\"i\":1000}");
  }
  {
    RecordWriter again(file.string());  // appends, never truncates
    again.append("{\"i\":1001}");
  }
  std::ifstream in(file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(line, "{\"i\":" + std::to_string(n) + "}");
    ++n;
  }
  EXPECT_EQ(n, 1002);
  fs::remove_all(dir);
}

TEST(RecordWriter, DropsAndCountsBeyondItsQueueInsteadOfGrowing) {
  fs::path file = fs::temp_directory_path() / ("tandem-records-q-" + std::to_string(::getpid()));
  {
    RecordWriter w(file.string(), 4);
    for (int i = 0; i < 10000; ++i) w.append("{}");
    w.flush();
    EXPECT_EQ(w.written() + w.dropped(), 10000u);
  }
  fs::remove(file);
}

TEST(RecordWriter, AnUnwritablePathIsAClearError) {
  try {
    RecordWriter w("/proc/no/such/dir/records.jsonl");
    FAIL() << "opened an unwritable path";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/no/such/dir/records.jsonl"), std::string::npos);
  }
}

}  // namespace
}  // namespace tandem::store
