#pragma once
// The text classifier in a model artifact (tandem/models/artifact.h): meta.kind "text",
// meta.version kPayloadVersion (1), and Artifact::payload in this layout (little-endian):
//
//   offset  size  field
//   0       8     magic "TDMTEXTC"
//   8       4     u32 payload layout version: 1
//   12      4     u32 K, the number of labels (2 to 65,536)
//   16      4     f32 fastText weight w, in [0, 1]
//   20      4     f32 temperature T, in [0.01, 100]
//   24            K labels, each a u32 length (1 to 1,024) and that many bytes of UTF-8;
//                 distinct, in the order of the models' outputs
//                 u64 length, then the linear model (linear_model.cpp has its layout)
//                 u64 length, then fastText's own model file, unchanged (fastText 0.9.2,
//                 supervised, softmax loss, labels "__label__0" .. "__label__{K-1}")
//   nothing may follow.
//
// decode_payload checks this frame; the models' own decoders check their parts. Every error is
// a TextModelError naming the byte offset and field.
#include <string>
#include <string_view>
#include <vector>

namespace tandem::models::text {

struct TextPayload {
  std::vector<std::string> labels;
  float fasttext_weight = 0;
  float temperature = 1;
  std::string linear;    // LinearModel::encode
  std::string fasttext;  // FastTextModel::train's bytes
};

std::string encode_payload(const TextPayload& payload);
TextPayload decode_payload(std::string_view bytes);

}  // namespace tandem::models::text
