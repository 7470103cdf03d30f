#include "tandem/models/recsys/mf_artifact.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "tandem/models/byte_io.h"

namespace tandem::models::recsys {
namespace {

constexpr char kMagic[8] = {'T', 'D', 'M', 'R', 'E', 'C', 'M', 'F'};
constexpr std::uint32_t kLayoutVersion = 1;
constexpr std::size_t kHeaderBytes = 56;
constexpr std::uint32_t kMaxFactors = 1024;

using Reader = ByteReader<RecsysError>;

std::uint64_t payload_size(std::uint64_t k, std::uint64_t users, std::uint64_t items,
                           std::uint64_t n) {
  return 64 + 16 * users + 8 * items + 4 * k * (users + items) + 8 * n;
}

}  // namespace

std::string encode_payload(const MfModel& model) {
  const MfParameters& p = model.parameters();
  const auto k = static_cast<std::uint32_t>(model.factors());
  const auto users = static_cast<std::uint32_t>(model.num_users());
  const auto items = static_cast<std::uint32_t>(model.num_items());
  const std::uint64_t n = model.num_ratings();
  ByteWriter w;
  w.reserve(static_cast<std::size_t>(payload_size(k, users, items, n)));
  w.bytes(std::string_view(kMagic, sizeof kMagic));
  w.integer<std::uint32_t>(kLayoutVersion);
  w.integer<std::uint8_t>(static_cast<std::uint8_t>(p.feedback));
  w.integer<std::uint8_t>(0);
  w.integer<std::uint16_t>(0);
  w.integer<std::uint32_t>(k);
  w.integer<std::uint32_t>(users);
  w.integer<std::uint32_t>(items);
  w.integer<std::uint32_t>(0);
  w.integer<std::uint64_t>(n);
  w.f32(p.global_mean);
  w.f32(p.min_rating);
  w.f32(p.max_rating);
  w.integer<std::uint32_t>(0);
  for (std::uint32_t id : p.user_ids) w.integer(id);
  for (std::uint32_t id : p.item_ids) w.integer(id);
  for (Eigen::Index u = 0; u < p.user_bias.size(); ++u) w.f32(p.user_bias[u]);
  for (Eigen::Index i = 0; i < p.item_bias.size(); ++i) w.f32(p.item_bias[i]);
  // Column-major factors x entities: column by column is entity by entity.
  for (Eigen::Index x = 0; x < p.user_factors.size(); ++x) w.f32(p.user_factors.data()[x]);
  for (Eigen::Index x = 0; x < p.item_factors.size(); ++x) w.f32(p.item_factors.data()[x]);
  for (std::uint64_t off : p.user_offsets) w.integer(off);
  for (std::uint32_t i : p.rated_items) w.integer(i);
  for (float v : p.rated_values) w.f32(v);
  return w.take();
}

MfModel decode_payload(std::string_view payload) {
  Reader r(payload, "recsys payload");
  if (payload.size() < kHeaderBytes) {
    r.fail(payload.size(), "truncated: " + std::to_string(payload.size()) +
                               " bytes, the header alone is " + std::to_string(kHeaderBytes));
  }
  if (std::memcmp(r.take(sizeof kMagic, "magic").data(), kMagic, sizeof kMagic) != 0) {
    r.fail(0, "not a recsys payload (the magic is not TDMRECMF)");
  }
  const std::uint32_t layout = r.integer<std::uint32_t>("layout version");
  if (layout != kLayoutVersion) {
    r.fail(8, "layout version " + std::to_string(layout) + " (this code reads " +
                  std::to_string(kLayoutVersion) + ")");
  }
  const auto feedback = r.integer<std::uint8_t>("feedback");
  if (feedback > 1) r.fail(12, "feedback " + std::to_string(feedback) + " is neither 0 nor 1");
  if (r.integer<std::uint8_t>("reserved") != 0 || r.integer<std::uint16_t>("reserved") != 0) {
    r.fail(13, "reserved bytes are not zero");
  }
  const std::uint32_t k = r.integer<std::uint32_t>("factors");
  const std::uint32_t users = r.integer<std::uint32_t>("users");
  const std::uint32_t items = r.integer<std::uint32_t>("items");
  if (k < 1 || k > kMaxFactors) r.fail(16, "factors " + std::to_string(k) + " not in 1..1024");
  if (users < 1) r.fail(20, "no users");
  if (items < 1) r.fail(24, "no items");
  if (r.integer<std::uint32_t>("reserved") != 0) r.fail(28, "reserved bytes are not zero");
  const std::uint64_t n = r.integer<std::uint64_t>("interactions");
  // Checked against the actual size before anything is allocated; n is bounded first so that
  // the sum cannot overflow (the other terms are below 2^48).
  if (n > payload.size() / 8 ||
      payload_size(k, users, items, n) != static_cast<std::uint64_t>(payload.size())) {
    r.fail(32, "the header (" + std::to_string(k) + " factors, " + std::to_string(users) +
                   " users, " + std::to_string(items) + " items, " + std::to_string(n) +
                   " interactions) does not match the payload's " + std::to_string(payload.size()) +
                   " bytes");
  }
  MfParameters p;
  p.feedback = static_cast<Feedback>(feedback);
  p.global_mean = r.f32("global mean");
  p.min_rating = r.f32("min rating");
  p.max_rating = r.f32("max rating");
  if (r.integer<std::uint32_t>("reserved") != 0) r.fail(52, "reserved bytes are not zero");
  const auto read_ids = [&](std::vector<std::uint32_t>& ids, std::size_t count, const char* what) {
    ids.resize(count);
    for (std::size_t x = 0; x < count; ++x) {
      const std::size_t at = r.offset();
      ids[x] = r.integer<std::uint32_t>(what);
      if (x > 0 && ids[x] <= ids[x - 1])
        r.fail(at, std::string(what) + " are not strictly increasing");
    }
  };
  read_ids(p.user_ids, users, "user ids");
  read_ids(p.item_ids, items, "item ids");
  p.user_bias.resize(users);
  for (std::uint32_t u = 0; u < users; ++u) p.user_bias[u] = r.f32("a user bias");
  p.item_bias.resize(items);
  for (std::uint32_t i = 0; i < items; ++i) p.item_bias[i] = r.f32("an item bias");
  p.user_factors.resize(k, users);
  for (Eigen::Index x = 0; x < p.user_factors.size(); ++x) {
    p.user_factors.data()[x] = r.f32("a user factor");
  }
  p.item_factors.resize(k, items);
  for (Eigen::Index x = 0; x < p.item_factors.size(); ++x) {
    p.item_factors.data()[x] = r.f32("an item factor");
  }
  p.user_offsets.resize(std::size_t{users} + 1);
  for (std::size_t u = 0; u <= users; ++u) {
    const std::size_t at = r.offset();
    p.user_offsets[u] = r.integer<std::uint64_t>("user offsets");
    if ((u == 0 && p.user_offsets[u] != 0) ||
        (u > 0 && p.user_offsets[u] < p.user_offsets[u - 1]) || p.user_offsets[u] > n ||
        (u == users && p.user_offsets[u] != n)) {
      r.fail(at, "user offset " + std::to_string(u) + " (" + std::to_string(p.user_offsets[u]) +
                     ") is out of order or range");
    }
  }
  p.rated_items.resize(n);
  for (std::uint64_t x = 0; x < n; ++x) {
    const std::size_t at = r.offset();
    p.rated_items[x] = r.integer<std::uint32_t>("interaction items");
    if (p.rated_items[x] >= items) {
      r.fail(at, "interaction item index " + std::to_string(p.rated_items[x]) + " is not below " +
                     std::to_string(items));
    }
  }
  p.rated_values.resize(n);
  for (std::uint64_t x = 0; x < n; ++x) p.rated_values[x] = r.f32("an interaction value");
  try {
    return MfModel(std::move(p));
  } catch (const RecsysError& e) {
    throw RecsysError(std::string("recsys payload: ") + e.what());
  }
}

Artifact to_artifact(const MfModel& model, const TrainOptions& options,
                     const std::map<std::string, double>& metrics, const std::string& data_sha256) {
  if (options.feedback != model.feedback()) {
    throw RecsysError("recsys artifact: the options are " +
                      std::string(to_string(options.feedback)) + " but the model is " +
                      std::string(to_string(model.feedback())));
  }
  Artifact a;
  a.meta.kind = kArtifactKind;
  a.meta.version = kPayloadVersion;
  a.meta.data_sha256 = data_sha256;
  a.meta.metrics = metrics;
  a.meta.params = options.to_params();
  a.meta.params["users"] = std::to_string(model.num_users());
  a.meta.params["items"] = std::to_string(model.num_items());
  a.meta.params["interactions"] = std::to_string(model.num_ratings());
  a.payload = encode_payload(model);
  return a;
}

MfModel from_artifact(const Artifact& artifact) {
  if (artifact.meta.kind != kArtifactKind) {
    throw RecsysError("recsys artifact: the model is of kind '" + artifact.meta.kind +
                      "', expected 'recsys'");
  }
  if (artifact.meta.version != kPayloadVersion) {
    throw RecsysError("recsys artifact: payload version " + std::to_string(artifact.meta.version) +
                      " (this code reads " + std::to_string(kPayloadVersion) + ")");
  }
  MfModel model = decode_payload(artifact.payload);
  const auto it = artifact.meta.params.find("feedback");
  if (it != artifact.meta.params.end() && it->second != to_string(model.feedback())) {
    throw RecsysError("recsys artifact: metadata says feedback '" + it->second +
                      "' but the payload holds a " + std::string(to_string(model.feedback())) +
                      " model");
  }
  return model;
}

void save_model(const std::string& path, const MfModel& model, const TrainOptions& options,
                const std::map<std::string, double>& metrics, const std::string& data_sha256) {
  write_artifact(path, to_artifact(model, options, metrics, data_sha256));
}

MfModel load_model(const std::string& path) {
  const Artifact a = read_artifact(path, kArtifactKind, kPayloadVersion);
  try {
    return from_artifact(a);
  } catch (const RecsysError& e) {
    throw RecsysError(path + ": " + e.what());
  }
}

}  // namespace tandem::models::recsys
