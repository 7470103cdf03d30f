#include "tandem/datasets/read_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "tandem/datasets/dataset_error.h"

namespace tandem::datasets::detail {

std::string errno_text(int error) {
  return std::strerror(error);
}

std::string read_whole_file(const std::filesystem::path& file, std::uint64_t max_bytes) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!in) throw DatasetError(file, "cannot open: " + errno_text(errno));
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) throw DatasetError(file, "cannot read its size: " + ec.message());
  if (size > max_bytes) {
    throw DatasetError(file, "is " + std::to_string(size) + " bytes, more than the limit of " +
                                 std::to_string(max_bytes));
  }
  std::string text(size, '\0');
  const std::size_t got = std::fread(text.data(), 1, text.size(), in.get());
  if (got != text.size()) {
    throw DatasetError::at_byte(file, got,
                                std::feof(in.get())
                                    ? std::string("the file ended early (did it change "
                                                  "while being read?)")
                                    : "read failed: " + errno_text(errno));
  }
  return text;
}

}  // namespace tandem::datasets::detail
