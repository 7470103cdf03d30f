#pragma once
// Reads a whole (text) file into memory for the CSV loaders. The data sets are a few MB, and
// parsing from one buffer is simpler and faster than streaming.
#include <cstdint>
#include <filesystem>
#include <string>

namespace tandem::datasets::detail {

// Throws DatasetError naming the file when it cannot be opened or read, or is larger than
// max_bytes (checked before anything is allocated).
std::string read_whole_file(const std::filesystem::path& file, std::uint64_t max_bytes);

// "No such file or directory" and friends, for messages.
std::string errno_text(int error);

}  // namespace tandem::datasets::detail
