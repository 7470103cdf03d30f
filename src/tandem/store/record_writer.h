#pragma once
// Appends inference records (one JSON object per line) to a task's JSONL file, from a background
// thread, so a request never waits for the disk. Records are the raw material for evaluation and
// distillation (`tandem distill` reads them back). The queue is bounded: when the disk cannot
// keep up, records are dropped and counted rather than growing memory without limit.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

namespace tandem::store {

class RecordWriter {
 public:
  // Opens `path` for appending (creating its folder); throws std::runtime_error naming it.
  explicit RecordWriter(std::string path, std::size_t max_queued = 65536);
  ~RecordWriter();  // writes what is queued, then stops
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Queues one record (a serialised JSON object without a newline). Never blocks on the disk.
  void append(std::string line);
  // Waits until every record queued so far is written and flushed (tests, shutdown).
  void flush();

  const std::string& path() const { return path_; }
  std::uint64_t written() const;
  std::uint64_t dropped() const;

 private:
  void run();

  std::string path_;
  std::size_t max_queued_;
  std::ofstream out_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<std::string> queue_;
  std::uint64_t queued_total_ = 0;
  std::uint64_t written_ = 0;
  std::uint64_t dropped_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tandem::store
