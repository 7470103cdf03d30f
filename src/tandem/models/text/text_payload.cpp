#include "tandem/models/text/text_payload.h"

#include <cmath>
#include <cstring>
#include <set>

#include "tandem/datasets/utf8.h"
#include "tandem/models/byte_io.h"
#include "tandem/models/text/text_model_error.h"

namespace tandem::models::text {
namespace {

constexpr char kMagic[8] = {'T', 'D', 'M', 'T', 'E', 'X', 'T', 'C'};
constexpr std::uint32_t kLayoutVersion = 1;
constexpr std::uint32_t kMaxLabels = 65'536;
constexpr std::uint32_t kMaxLabelBytes = 1024;

}  // namespace

std::string encode_payload(const TextPayload& payload) {
  ByteWriter w;
  w.reserve(64 + payload.linear.size() + payload.fasttext.size());
  w.bytes(std::string_view(kMagic, sizeof kMagic));
  w.integer<std::uint32_t>(kLayoutVersion);
  w.integer<std::uint32_t>(static_cast<std::uint32_t>(payload.labels.size()));
  w.f32(payload.fasttext_weight);
  w.f32(payload.temperature);
  for (const std::string& label : payload.labels) {
    w.integer<std::uint32_t>(static_cast<std::uint32_t>(label.size()));
    w.bytes(label);
  }
  w.blob(payload.linear);
  w.blob(payload.fasttext);
  return w.take();
}

TextPayload decode_payload(std::string_view bytes) {
  ByteReader<TextModelError> r(bytes, "text payload");
  if (std::memcmp(r.take(sizeof kMagic, "magic").data(), kMagic, sizeof kMagic) != 0) {
    r.fail(0, "not a text classifier payload (the magic is not TDMTEXTC)");
  }
  const auto layout = r.integer<std::uint32_t>("layout version");
  if (layout != kLayoutVersion) {
    r.fail(8, "layout version " + std::to_string(layout) + " (this code reads " +
                  std::to_string(kLayoutVersion) + ")");
  }
  const auto count = r.integer<std::uint32_t>("label count");
  if (count < 2 || count > kMaxLabels) {
    r.fail(12, std::to_string(count) + " labels (2 to 65,536 are possible)");
  }
  TextPayload p;
  p.fasttext_weight = r.f32("fastText weight");
  if (p.fasttext_weight < 0 || p.fasttext_weight > 1) {
    r.fail(16, "the fastText weight " + std::to_string(p.fasttext_weight) + " is not in [0, 1]");
  }
  p.temperature = r.f32("temperature");
  if (p.temperature < 0.01f || p.temperature > 100.0f) {
    r.fail(20, "the temperature " + std::to_string(p.temperature) + " is not in [0.01, 100]");
  }
  std::set<std::string_view> seen;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t at = r.offset();
    const auto length = r.integer<std::uint32_t>("a label length");
    if (length < 1 || length > kMaxLabelBytes) {
      r.fail(at, "label " + std::to_string(i) + " is " + std::to_string(length) +
                     " bytes long (1 to 1,024)");
    }
    const std::string_view label = r.take(length, "a label");
    if (datasets::detail::first_invalid_utf8(label) != std::string_view::npos) {
      r.fail(at + 4, "label " + std::to_string(i) + " is not valid UTF-8");
    }
    if (!seen.insert(label).second) {
      r.fail(at + 4, "label '" + std::string(label) + "' appears twice");
    }
    p.labels.emplace_back(label);
  }
  p.linear = std::string(r.blob("the linear model"));
  p.fasttext = std::string(r.blob("the fastText model"));
  r.expect_end();
  return p;
}

}  // namespace tandem::models::text
