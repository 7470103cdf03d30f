#include "tandem/models/artifact.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace tandem::models {

namespace {

namespace json = boost::json;

constexpr char kMagic[8] = {'T', 'A', 'N', 'D', 'E', 'M', 'M', 'D'};
constexpr std::uint32_t kLayoutVersion = 1;
constexpr std::uint32_t kMaxMetaBytes = 1 << 20;

template <typename T>
void put(std::string& out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * i)) & 0xFF));
  }
}

template <typename T>
T get(const std::string& in, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  }
  return static_cast<T>(v);
}

std::string meta_json(const ArtifactMeta& m) {
  json::object o{{"kind", m.kind},
                 {"version", m.version},
                 {"data_sha256", m.data_sha256},
                 {"created_utc", m.created_utc}};
  json::object metrics;
  for (const auto& [k, v] : m.metrics) metrics[k] = v;
  json::object params;
  for (const auto& [k, v] : m.params) params[k] = v;
  o["metrics"] = std::move(metrics);
  o["params"] = std::move(params);
  return json::serialize(o);
}

ArtifactMeta parse_meta(const std::string& path, std::string_view text) {
  ArtifactMeta m;
  try {
    json::object o = json::parse(text).as_object();
    m.kind = std::string(o.at("kind").as_string());
    m.version = static_cast<int>(o.at("version").to_number<std::int64_t>());
    m.data_sha256 = std::string(o.at("data_sha256").as_string());
    m.created_utc = std::string(o.at("created_utc").as_string());
    for (const auto& [k, v] : o.at("metrics").as_object()) m.metrics[k] = v.to_number<double>();
    for (const auto& [k, v] : o.at("params").as_object()) m.params[k] = v.as_string().c_str();
  } catch (const std::exception& e) {
    throw ArtifactError(path + ": the model's metadata is malformed (" + e.what() + ")");
  }
  return m;
}

std::string read_prefix(const std::string& path, std::size_t max_bytes, std::uint64_t& size) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw ArtifactError(path + ": no such file");
  size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(std::min<std::uint64_t>(size, max_bytes)), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw ArtifactError(path + ": cannot read");
  return bytes;
}

// Checks the header and returns the metadata's length.
std::uint32_t check_header(const std::string& path, const std::string& bytes) {
  if (bytes.size() < 16 || std::string_view(bytes.data(), 8) != std::string_view(kMagic, 8)) {
    throw ArtifactError(path + ": not a Tandem model artifact (bad magic)");
  }
  if (std::uint32_t v = get<std::uint32_t>(bytes, 8); v != kLayoutVersion) {
    throw ArtifactError(path + ": artifact layout version " + std::to_string(v) +
                        " is not supported (this build reads version 1)");
  }
  std::uint32_t meta_len = get<std::uint32_t>(bytes, 12);
  if (meta_len > kMaxMetaBytes || 16 + std::uint64_t{meta_len} + 8 > bytes.size()) {
    throw ArtifactError(path + ": truncated or corrupt artifact header");
  }
  return meta_len;
}

}  // namespace

std::string utc_now_iso8601() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void write_artifact(const std::string& path, const Artifact& artifact) {
  ArtifactMeta meta = artifact.meta;
  if (meta.created_utc.empty()) meta.created_utc = utc_now_iso8601();
  std::string meta_text = meta_json(meta);
  std::string head(kMagic, 8);
  put<std::uint32_t>(head, kLayoutVersion);
  put<std::uint32_t>(head, static_cast<std::uint32_t>(meta_text.size()));
  std::string payload_len;
  put<std::uint64_t>(payload_len, artifact.payload.size());
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(meta_text.data()), meta_text.size());
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(artifact.payload.data()),
                artifact.payload.size());
  std::string tail;
  put<std::uint32_t>(tail, static_cast<std::uint32_t>(crc));

  std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << head << meta_text << payload_len << artifact.payload << tail;
    out.flush();
    if (!out) throw ArtifactError(tmp + ": cannot write");
  }
  std::filesystem::rename(tmp, path);
}

ArtifactMeta read_artifact_meta(const std::string& path) {
  std::uint64_t size = 0;
  std::string bytes = read_prefix(path, 16 + kMaxMetaBytes + 8, size);
  std::uint32_t meta_len = check_header(path, bytes);
  return parse_meta(path, std::string_view(bytes).substr(16, meta_len));
}

Artifact read_artifact(const std::string& path, const std::string& expected_kind, int max_version) {
  std::uint64_t size = 0;
  std::string bytes = read_prefix(path, SIZE_MAX, size);
  std::uint32_t meta_len = check_header(path, bytes);
  std::uint64_t payload_len = get<std::uint64_t>(bytes, 16 + meta_len);
  if (16 + std::uint64_t{meta_len} + 8 + payload_len + 4 != bytes.size()) {
    throw ArtifactError(path + ": truncated or corrupt artifact (sizes do not add up to " +
                        std::to_string(bytes.size()) + " bytes)");
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data() + 16), meta_len);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data() + 16 + meta_len + 8), payload_len);
  if (static_cast<std::uint32_t>(crc) != get<std::uint32_t>(bytes, bytes.size() - 4)) {
    throw ArtifactError(path + ": corrupt artifact (checksum mismatch)");
  }
  Artifact a;
  a.meta = parse_meta(path, std::string_view(bytes).substr(16, meta_len));
  if (!expected_kind.empty() && a.meta.kind != expected_kind) {
    throw ArtifactError(path + ": is a '" + a.meta.kind + "' model, expected '" + expected_kind +
                        "'");
  }
  if (max_version > 0 && a.meta.version > max_version) {
    throw ArtifactError(path + ": '" + a.meta.kind + "' format version " +
                        std::to_string(a.meta.version) + " is newer than this build reads (" +
                        std::to_string(max_version) + ")");
  }
  a.payload = bytes.substr(16 + meta_len + 8, payload_len);
  return a;
}

namespace {

// Hashes whatever `feed` passes to `update`, as lower-case hex.
template <typename Feed>
std::string sha256_hex(Feed feed) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  feed([ctx](const void* data, std::size_t n) { EVP_DigestUpdate(ctx, data, n); });
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

}  // namespace

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ArtifactError(path + ": cannot read to hash");
  return sha256_hex([&](auto update) {
    std::vector<char> buf(1 << 16);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      update(buf.data(), static_cast<std::size_t>(in.gcount()));
    }
  });
}

std::string sha256_files(const std::vector<std::string>& paths) {
  if (paths.size() == 1) return sha256_file(paths[0]);
  std::string joined;  // the hash of the files' hashes, in order
  for (const auto& p : paths) joined += sha256_file(p);
  return sha256_hex([&](auto update) { update(joined.data(), joined.size()); });
}

}  // namespace tandem::models
