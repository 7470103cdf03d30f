#include "tandem/datasets/data_files.h"

#include <cstdlib>

namespace tandem::datasets {

std::filesystem::path data_dir() {
  if (const char* dir = std::getenv("TANDEM_DATA"); dir != nullptr && *dir != '\0') return dir;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".cache" / "tandem" / "data";
  }
  return {};
}

}  // namespace tandem::datasets
