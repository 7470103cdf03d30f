#pragma once
// The recommender in a model artifact (tandem/models/artifact.h): meta.kind "recsys", meta.version
// kPayloadVersion, and the model in Artifact::payload in this layout (little-endian; U users,
// I items, K factors, N training interactions):
//
//   offset        size  field
//   0             8     magic "TDMRECMF"
//   8             4     u32 payload layout version: 1
//   12            1     u8 feedback: 0 explicit, 1 implicit
//   13            3     zero
//   16            4     u32 K (1 to 1024)
//   20            4     u32 U (>= 1)
//   24            4     u32 I (>= 1)
//   28            4     zero
//   32            8     u64 N
//   40            4     f32 global mean
//   44            4     f32 min rating
//   48            4     f32 max rating
//   52            4     zero
//   56            4U    u32 user ids, strictly increasing (user index -> id)
//                 4I    u32 item ids, strictly increasing
//                 4U    f32 user biases
//                 4I    f32 item biases
//                 4KU   f32 user factors, user by user (K values each)
//                 4KI   f32 item factors, item by item
//                 8U+8  u64 user offsets into the interactions (0 first, N last, not decreasing)
//                 4N    u32 item index of each interaction (increasing within a user)
//                 4N    f32 value of each interaction
//   total: 64 + 16U + 8I + 4K(U + I) + 8N bytes exactly; nothing may follow.
//
// Floats are IEEE-754 binary32, all finite. A payload that breaks any of these rules is refused
// with a RecsysError naming the field (and byte offset); a file is refused by read_artifact when
// its CRC, kind or version do not match.
#include <map>
#include <string>
#include <string_view>

#include "tandem/models/artifact.h"
#include "tandem/models/recsys/mf_model.h"
#include "tandem/models/recsys/mf_training.h"

namespace tandem::models::recsys {

inline constexpr const char* kArtifactKind = "recsys";
inline constexpr int kPayloadVersion = 1;

std::string encode_payload(const MfModel& model);
MfModel decode_payload(std::string_view payload);

// An artifact ready for write_artifact: kind, version, the training options as params (plus
// feedback, users, items, interactions), the given metrics and data hash.
Artifact to_artifact(const MfModel& model, const TrainOptions& options,
                     const std::map<std::string, double>& metrics = {},
                     const std::string& data_sha256 = {});
// Throws RecsysError if the artifact is not a recsys one of a version this code reads, or its
// payload is malformed.
MfModel from_artifact(const Artifact& artifact);

// write_artifact(to_artifact(...)) / from_artifact(read_artifact(path, "recsys", version)).
// Errors name the file.
void save_model(const std::string& path, const MfModel& model, const TrainOptions& options,
                const std::map<std::string, double>& metrics = {},
                const std::string& data_sha256 = {});
MfModel load_model(const std::string& path);

}  // namespace tandem::models::recsys
