#include "tandem/datasets/dataset_error.h"

namespace tandem::datasets {

DatasetError::DatasetError(const std::filesystem::path& file, const std::string& reason)
    : DatasetError(file, std::nullopt, std::nullopt, reason, file.string() + ": " + reason) {}

DatasetError::DatasetError(const std::filesystem::path& file, std::optional<std::uint64_t> line,
                           std::optional<std::uint64_t> byte_offset, const std::string& reason,
                           const std::string& message)
    : std::runtime_error(message),
      file_(file),
      line_(line),
      byte_offset_(byte_offset),
      reason_(reason) {}

DatasetError DatasetError::at_line(const std::filesystem::path& file, std::uint64_t line,
                                   const std::string& reason) {
  return DatasetError(file, line, std::nullopt, reason,
                      file.string() + ":" + std::to_string(line) + ": " + reason);
}

DatasetError DatasetError::at_byte(const std::filesystem::path& file, std::uint64_t offset,
                                   const std::string& reason) {
  return DatasetError(file, std::nullopt, offset, reason,
                      file.string() + ": byte " + std::to_string(offset) + ": " + reason);
}

}  // namespace tandem::datasets
