#pragma once
// The one error every data-set loader throws. Its message always starts with the file's path and
// says where in the file the problem is: "path:LINE: reason" for text files (the 1-based line,
// as editors and grep count them) and "path: byte N: reason" for binary files (the 0-based offset,
// as xxd and `cmp` show it), so a malformed file can be found and fixed without a debugger.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace tandem::datasets {

class DatasetError : public std::runtime_error {
 public:
  // A problem with the file as a whole (cannot open it, empty, ...): "path: reason".
  DatasetError(const std::filesystem::path& file, const std::string& reason);

  // "path:LINE: reason".
  static DatasetError at_line(const std::filesystem::path& file, std::uint64_t line,
                              const std::string& reason);
  // "path: byte OFFSET: reason".
  static DatasetError at_byte(const std::filesystem::path& file, std::uint64_t offset,
                              const std::string& reason);

  const std::filesystem::path& file() const noexcept { return file_; }
  std::optional<std::uint64_t> line() const noexcept { return line_; }
  std::optional<std::uint64_t> byte_offset() const noexcept { return byte_offset_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  DatasetError(const std::filesystem::path& file, std::optional<std::uint64_t> line,
               std::optional<std::uint64_t> byte_offset, const std::string& reason,
               const std::string& message);

  std::filesystem::path file_;
  std::optional<std::uint64_t> line_;
  std::optional<std::uint64_t> byte_offset_;
  std::string reason_;
};

}  // namespace tandem::datasets
