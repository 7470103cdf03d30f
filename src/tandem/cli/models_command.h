#pragma once
// `tandem models list [PATH...]`: the tailored-model artifacts in the given files or folders,
// with their metadata; corrupt files are listed with the reason instead of stopping the list.
#include <string>
#include <vector>

namespace tandem::cli {

int run_models_list(const std::vector<std::string>& paths);

}  // namespace tandem::cli
