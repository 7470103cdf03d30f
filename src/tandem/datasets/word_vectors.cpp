#include "tandem/datasets/word_vectors.h"

#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <unordered_set>

#include "tandem/datasets/dataset_error.h"
#include "tandem/datasets/read_file.h"
#include "tandem/datasets/utf8.h"

// The file is little-endian and read straight into integers and floats.
static_assert(std::endian::native == std::endian::little,
              "word_vectors.cpp reads little-endian data directly; add byte swapping");

namespace tandem::datasets {
namespace {

constexpr char kMagic[8] = {'T', 'A', 'N', 'D', 'E', 'M', 'W', 'V'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint64_t kHeaderBytes = 40;
constexpr std::uint32_t kMaxDim = 1u << 16;

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t dim;
  std::uint64_t count;
  std::uint64_t vocabulary_bytes;
  std::uint32_t crc;
  std::uint32_t reserved;
};
static_assert(sizeof(Header) == kHeaderBytes);

std::uint64_t align4(std::uint64_t n) {
  return (n + 3) & ~std::uint64_t{3};
}

// FNV-1a: short keys, good enough spread for an open-addressing table at load factor <= 0.5.
std::uint64_t hash(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

// Reads exactly n bytes at the current offset or throws naming where the file ended.
void read_exact(std::FILE* in, const std::filesystem::path& file, std::uint64_t offset, void* out,
                std::size_t n, const char* what) {
  const std::size_t got = std::fread(out, 1, n, in);
  if (got != n) {
    throw DatasetError::at_byte(file, offset + got,
                                std::feof(in)
                                    ? std::string("truncated: the file ends inside ") + what
                                    : "read failed: " + detail::errno_text(errno));
  }
}

std::string quoted(std::string_view word) {
  return "\"" + std::string(word.substr(0, 60)) + (word.size() > 60 ? "...\"" : "\"");
}

}  // namespace

std::string_view WordVectors::word(std::size_t i) const {
  const std::uint32_t begin = i == 0 ? 0 : ends_[i - 1];
  return std::string_view(vocabulary_).substr(begin, ends_[i] - begin);
}

std::optional<std::uint32_t> WordVectors::find(std::string_view w) const {
  if (slots_.empty()) return std::nullopt;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t s = hash(w) & mask;; s = (s + 1) & mask) {
    const std::uint32_t slot = slots_[s];
    if (slot == 0) return std::nullopt;
    if (word(slot - 1) == w) return slot - 1;
  }
}

WordVectors WordVectors::load(const std::filesystem::path& file, std::uint32_t expected_dim) {
  File in(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!in) throw DatasetError(file, "cannot open: " + detail::errno_text(errno));
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(file, ec);
  if (ec) throw DatasetError(file, "cannot read its size: " + ec.message());

  Header h;
  read_exact(in.get(), file, 0, &h, sizeof h, "the 40-byte header");
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    throw DatasetError::at_byte(file, 0,
                                "not a Tandem word-vector file (magic is not \"TANDEMWV\"; "
                                "scripts/setup_data.sh converts GloVe)");
  }
  if (h.version != kVersion) {
    throw DatasetError::at_byte(
        file, 8, "format version " + std::to_string(h.version) + ", this build reads version 1");
  }
  if (h.dim == 0 || h.dim > kMaxDim) {
    throw DatasetError::at_byte(
        file, 12,
        "dimension " + std::to_string(h.dim) + ": expected 1 to " + std::to_string(kMaxDim));
  }
  if (expected_dim != 0 && h.dim != expected_dim) {
    throw DatasetError::at_byte(
        file, 12,
        "dimension " + std::to_string(h.dim) + ", expected " + std::to_string(expected_dim));
  }
  if (h.count == 0 || h.count >= 0xFFFFFFFFull) {
    throw DatasetError::at_byte(
        file, 16, "word count " + std::to_string(h.count) + ": expected 1 to 4294967294");
  }
  if (h.vocabulary_bytes < h.count || h.vocabulary_bytes > 0xFFFFFFFFull) {
    throw DatasetError::at_byte(file, 24,
                                "vocabulary of " + std::to_string(h.vocabulary_bytes) +
                                    " bytes for " + std::to_string(h.count) +
                                    " words (each word takes at least a byte; at most 4 GiB)");
  }
  if (h.reserved != 0) throw DatasetError::at_byte(file, 36, "reserved field is not 0");

  // No overflow: count < 2^32, dim <= 2^16, vocabulary < 2^32.
  const std::uint64_t ends_at = kHeaderBytes;
  const std::uint64_t vocab_at = ends_at + 4 * h.count;
  const std::uint64_t rows_at = align4(vocab_at + h.vocabulary_bytes);
  const std::uint64_t row_bytes = std::uint64_t{4} * h.dim;
  const std::uint64_t expected = rows_at + h.count * row_bytes;
  const std::string claim = "the header says " + std::to_string(h.count) + " words of " +
                            std::to_string(h.dim) + " floats, " + std::to_string(expected) +
                            " bytes in all; the file has " + std::to_string(file_size);
  if (file_size < rows_at) {
    throw DatasetError::at_byte(
        file, file_size, "truncated: the file ends before the vectors start (" + claim + ")");
  }
  if (file_size > expected) {
    throw DatasetError::at_byte(file, expected,
                                "unexpected bytes after the last vector (" + claim + ")");
  }

  WordVectors wv;
  wv.dim_ = h.dim;
  const auto count = static_cast<std::size_t>(h.count);
  wv.ends_.resize(count);
  read_exact(in.get(), file, ends_at, wv.ends_.data(), 4 * count, "the word offsets");
  std::uint32_t previous = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (wv.ends_[i] <= previous || wv.ends_[i] > h.vocabulary_bytes) {
      throw DatasetError::at_byte(
          file, ends_at + 4 * i,
          "word " + std::to_string(i) + " ends at " + std::to_string(wv.ends_[i]) + ", not after " +
              std::to_string(previous) + " and within the " + std::to_string(h.vocabulary_bytes) +
              "-byte vocabulary (empty or out-of-order word)");
    }
    previous = wv.ends_[i];
  }
  if (previous != h.vocabulary_bytes) {
    throw DatasetError::at_byte(file, ends_at + 4 * (count - 1),
                                "the last word ends at " + std::to_string(previous) +
                                    ", the vocabulary has " + std::to_string(h.vocabulary_bytes) +
                                    " bytes");
  }
  wv.vocabulary_.resize(static_cast<std::size_t>(h.vocabulary_bytes));
  read_exact(in.get(), file, vocab_at, wv.vocabulary_.data(), wv.vocabulary_.size(),
             "the vocabulary");
  if (const std::size_t bad = detail::first_invalid_utf8(wv.vocabulary_);
      bad != std::string_view::npos) {
    throw DatasetError::at_byte(file, vocab_at + bad, "a word that is not UTF-8");
  }
  char padding[4] = {};
  const std::size_t pad = static_cast<std::size_t>(rows_at - vocab_at - h.vocabulary_bytes);
  read_exact(in.get(), file, vocab_at + h.vocabulary_bytes, padding, pad, "the padding");
  for (std::size_t k = 0; k < pad; ++k) {
    if (padding[k] != 0) {
      throw DatasetError::at_byte(file, vocab_at + h.vocabulary_bytes + k, "padding is not zero");
    }
  }

  if (file_size < expected) {  // name the word whose vector is cut off
    const auto cut = static_cast<std::size_t>((file_size - rows_at) / row_bytes);
    throw DatasetError::at_byte(file, file_size,
                                "truncated: the file ends inside the vector of word " +
                                    std::to_string(cut) + " " + quoted(wv.word(cut)) + " (" +
                                    claim + ")");
  }
  const std::size_t floats = count * h.dim;
  wv.rows_ = std::make_unique_for_overwrite<float[]>(floats);
  read_exact(in.get(), file, rows_at, wv.rows_.get(), floats * sizeof(float), "the vectors");
  for (std::size_t k = 0; k < floats; ++k) {
    if (!std::isfinite(wv.rows_[k])) {
      const std::size_t i = k / h.dim;
      throw DatasetError::at_byte(file, rows_at + 4 * k,
                                  "component " + std::to_string(k % h.dim) + " of word " +
                                      std::to_string(i) + " " + quoted(wv.word(i)) +
                                      " is not a finite number");
    }
  }

  // The CRC covers everything after the header, in file order.
  uLong crc = crc32_z(0, nullptr, 0);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(wv.ends_.data()), 4 * count);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(wv.vocabulary_.data()), wv.vocabulary_.size());
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(padding), pad);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(wv.rows_.get()), floats * sizeof(float));
  if (crc != h.crc) {
    char text[64];
    std::snprintf(text, sizeof text, "CRC-32 is %08X, the data after the header gives %08lX", h.crc,
                  crc);
    throw DatasetError::at_byte(file, 32, std::string(text) + ": the file is corrupt");
  }

  // Index the words; a repeated word would make lookups ambiguous.
  wv.slots_.assign(std::bit_ceil(std::max<std::size_t>(16, 2 * count)), 0);
  const std::size_t mask = wv.slots_.size() - 1;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string_view w = wv.word(i);
    std::size_t s = hash(w) & mask;
    for (; wv.slots_[s] != 0; s = (s + 1) & mask) {
      if (wv.word(wv.slots_[s] - 1) == w) {
        const std::uint32_t begin = i == 0 ? 0 : wv.ends_[i - 1];
        throw DatasetError::at_byte(file, vocab_at + begin,
                                    "word " + std::to_string(i) + " " + quoted(w) +
                                        " repeats word " + std::to_string(wv.slots_[s] - 1));
      }
    }
    wv.slots_[s] = static_cast<std::uint32_t>(i + 1);
  }
  return wv;
}

void WordVectors::save(const std::filesystem::path& file, std::uint32_t dim,
                       std::span<const std::string> words, std::span<const float> rows) {
  if (dim == 0 || dim > kMaxDim) throw std::invalid_argument("word vectors: bad dimension");
  if (words.empty() || words.size() >= 0xFFFFFFFFull) {
    throw std::invalid_argument("word vectors: need 1 to 2^32-2 words");
  }
  if (rows.size() != words.size() * dim) {
    throw std::invalid_argument("word vectors: rows must hold words x dim floats");
  }
  std::vector<std::uint32_t> ends(words.size());
  std::uint64_t end = 0;
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i].empty()) throw std::invalid_argument("word vectors: empty word");
    if (detail::first_invalid_utf8(words[i]) != std::string_view::npos) {
      throw std::invalid_argument("word vectors: word " + std::to_string(i) + " is not UTF-8");
    }
    if (!seen.insert(words[i]).second) {
      throw std::invalid_argument("word vectors: repeated word \"" + words[i] + "\"");
    }
    end += words[i].size();
    if (end > 0xFFFFFFFFull) throw std::invalid_argument("word vectors: vocabulary over 4 GiB");
    ends[i] = static_cast<std::uint32_t>(end);
  }
  for (const float v : rows) {
    if (!std::isfinite(v)) throw std::invalid_argument("word vectors: non-finite value");
  }
  const char padding[4] = {};
  const std::size_t pad = static_cast<std::size_t>(align4(kHeaderBytes + 4 * words.size() + end) -
                                                   (kHeaderBytes + 4 * words.size() + end));

  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.dim = dim;
  h.count = words.size();
  h.vocabulary_bytes = end;
  uLong crc = crc32_z(0, nullptr, 0);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(ends.data()), 4 * ends.size());
  for (const auto& w : words)
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(w.data()), w.size());
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(padding), pad);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(rows.data()), rows.size_bytes());
  h.crc = static_cast<std::uint32_t>(crc);

  const std::filesystem::path tmp = file.string() + ".tmp";
  {
    File out(std::fopen(tmp.c_str(), "wb"), &std::fclose);
    if (!out) throw DatasetError(tmp, "cannot create: " + detail::errno_text(errno));
    bool ok = std::fwrite(&h, sizeof h, 1, out.get()) == 1 &&
              std::fwrite(ends.data(), 4, ends.size(), out.get()) == ends.size();
    for (const auto& w : words)
      ok = ok && std::fwrite(w.data(), 1, w.size(), out.get()) == w.size();
    ok = ok && std::fwrite(padding, 1, pad, out.get()) == pad &&
         std::fwrite(rows.data(), sizeof(float), rows.size(), out.get()) == rows.size();
    ok = std::fflush(out.get()) == 0 && ok;
    if (!ok) throw DatasetError(tmp, "cannot write: " + detail::errno_text(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) throw DatasetError(file, "cannot rename " + tmp.string() + " to it: " + ec.message());
}

}  // namespace tandem::datasets
