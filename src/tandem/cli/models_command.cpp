#include "tandem/cli/models_command.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "tandem/models/artifact.h"

namespace tandem::cli {

namespace {

// Artifacts carry a magic number, not a fixed extension: every regular file in a folder is read,
// and those that are not artifacts are skipped silently (a folder may hold data files too).
void collect(const std::string& path, std::vector<std::string>& files, bool explicit_file) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.is_regular_file(ec)) found.push_back(entry.path().string());
    }
    std::sort(found.begin(), found.end());
    for (const auto& f : found) collect(f, files, false);
    return;
  }
  if (explicit_file) {
    files.push_back(path);
    return;
  }
  try {
    models::read_artifact_meta(path);
    files.push_back(path);
  } catch (const models::ArtifactError&) {
  }
}

}  // namespace

int run_models_list(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) {
      std::fprintf(stderr, "tandem models list: %s: no such file or folder\n", p.c_str());
      return 2;
    }
    collect(p, files, true);
  }
  int bad = 0;
  for (const auto& f : files) {
    try {
      models::Artifact a = models::read_artifact(f);  // checks the whole file, not just the head
      std::string metrics;
      for (const auto& [name, value] : a.meta.metrics) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%s=%.4g", metrics.empty() ? "" : " ", name.c_str(),
                      value);
        metrics += buf;
      }
      std::printf("%s\n  kind %s v%d, created %s, data sha256 %.12s, %zu bytes\n  %s\n", f.c_str(),
                  a.meta.kind.c_str(), a.meta.version, a.meta.created_utc.c_str(),
                  a.meta.data_sha256.c_str(), a.payload.size(),
                  metrics.empty() ? "(no metrics)" : metrics.c_str());
    } catch (const models::ArtifactError& e) {
      std::printf("%s\n  unusable: %s\n", f.c_str(), e.what());
      ++bad;
    }
  }
  if (files.empty()) std::printf("no model artifacts found\n");
  return bad == 0 ? 0 : 1;
}

}  // namespace tandem::cli
