#pragma once
// Helpers for the loader tests: files written into GoogleTest's temp folder, and checks that an
// error names the file and the line or byte.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>

#include "tandem/datasets/dataset_error.h"

namespace tandem::datasets::testing {

// A file named after the running test, so tests never share one.
inline std::filesystem::path write_file(const std::string& name, std::string_view content) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path path =
      std::filesystem::path(::testing::TempDir()) /
      (std::string(info->test_suite_name()) + "." + info->name() + "." + name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return path;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs `load` and returns the DatasetError it throws (a failure if it throws none).
inline DatasetError error_of(const std::function<void()>& load) {
  try {
    load();
  } catch (const DatasetError& e) {
    return e;
  }
  ADD_FAILURE() << "no DatasetError";
  return DatasetError("(none)", "(none)");
}

// The message starts "file:LINE: " and contains `reason`.
inline void expect_line_error(const std::function<void()>& load, const std::filesystem::path& file,
                              std::uint64_t line, std::string_view reason) {
  const DatasetError e = error_of(load);
  const std::string message = e.what();
  EXPECT_EQ(e.file(), file);
  EXPECT_EQ(e.line(), line) << message;
  EXPECT_TRUE(message.starts_with(file.string() + ":" + std::to_string(line) + ": ")) << message;
  EXPECT_NE(message.find(reason), std::string::npos) << message;
}

// The message starts "file: byte OFFSET: " and contains `reason`.
inline void expect_byte_error(const std::function<void()>& load, const std::filesystem::path& file,
                              std::uint64_t offset, std::string_view reason) {
  const DatasetError e = error_of(load);
  const std::string message = e.what();
  EXPECT_EQ(e.file(), file);
  EXPECT_EQ(e.byte_offset(), offset) << message;
  EXPECT_TRUE(message.starts_with(file.string() + ": byte " + std::to_string(offset) + ": "))
      << message;
  EXPECT_NE(message.find(reason), std::string::npos) << message;
}

// The message starts "file: " and contains `reason` (errors about the file as a whole).
inline void expect_file_error(const std::function<void()>& load, const std::filesystem::path& file,
                              std::string_view reason) {
  const DatasetError e = error_of(load);
  const std::string message = e.what();
  EXPECT_EQ(e.file(), file);
  EXPECT_TRUE(message.starts_with(file.string() + ": ")) << message;
  EXPECT_NE(message.find(reason), std::string::npos) << message;
}

}  // namespace tandem::datasets::testing
