#include "tandem/store/record_writer.h"

#include <filesystem>
#include <stdexcept>
#include <vector>

namespace tandem::store {

RecordWriter::RecordWriter(std::string path, std::size_t max_queued)
    : path_(std::move(path)), max_queued_(max_queued) {
  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) throw std::runtime_error("cannot open the record file '" + path_ + "' for appending");
  thread_ = std::thread([this] { run(); });
}

RecordWriter::~RecordWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void RecordWriter::append(std::string line) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queued_) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(line));
    ++queued_total_;
  }
  wake_.notify_one();
}

void RecordWriter::flush() {
  std::unique_lock lock(mutex_);
  std::uint64_t target = queued_total_;
  drained_.wait(lock, [&] { return written_ >= target || stopping_; });
}

std::uint64_t RecordWriter::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

std::uint64_t RecordWriter::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

void RecordWriter::run() {
  std::vector<std::string> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      // Everything queued goes in one write and one flush.
      while (!queue_.empty()) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (const auto& line : batch) out_ << line << '\n';
    out_.flush();
    {
      std::lock_guard lock(mutex_);
      written_ += batch.size();
    }
    batch.clear();
    drained_.notify_all();
  }
}

}  // namespace tandem::store
