#pragma once
// A trained tailored model on disk: metadata (kind, format version, hash of the training data,
// metrics, creation time, training parameters) and the model's own bytes, in one file that is
// checked when read. `tandem models list` reads the metadata alone; a server or `tandem eval`
// reads the whole artifact and refuses one that is corrupt or of another kind.
//
// Layout (little-endian):
//   "TANDEMMD"            8 bytes magic
//   u32 layout version    (1)
//   u32 metadata length   then that many bytes of JSON (ArtifactMeta)
//   u64 payload length    then the payload: the model's serialised bytes
//   u32 CRC-32 of metadata and payload together
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tandem::models {

class ArtifactError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ArtifactMeta {
  std::string kind;                           // "text", "recsys", "vision"
  int version = 1;                            // of the kind's payload format
  std::string data_sha256;                    // of the training data file(s)
  std::string created_utc;                    // ISO 8601, set by write_artifact when empty
  std::map<std::string, double> metrics;      // e.g. accuracy, rmse (from the training report)
  std::map<std::string, std::string> params;  // training settings, for the record
};

struct Artifact {
  ArtifactMeta meta;
  std::string payload;
};

// Writes atomically (a temporary file renamed into place).
void write_artifact(const std::string& path, const Artifact& artifact);

// Throws ArtifactError naming the file: missing, not an artifact, truncated, CRC mismatch, or
// (when `expected_kind` is set) of another kind or a newer payload version than `max_version`.
Artifact read_artifact(const std::string& path, const std::string& expected_kind = {},
                       int max_version = 0);
// The metadata alone (the payload is skipped, not checked).
ArtifactMeta read_artifact_meta(const std::string& path);

// SHA-256 of a file's bytes, as lower-case hex; of several files, of their hashes in order.
std::string sha256_file(const std::string& path);
std::string sha256_files(const std::vector<std::string>& paths);

std::string utc_now_iso8601();

}  // namespace tandem::models
