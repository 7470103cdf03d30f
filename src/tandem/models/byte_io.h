#pragma once
// Little-endian writing and bounds-checked reading of model payloads (the recommender's and the
// text classifier's parts). The reader never reads past its input and names the byte offset and
// the field of the first problem, thrown as the model library's own error type, so that a
// truncated or corrupt payload is a clear error of that library.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::models {

class ByteWriter {
 public:
  void reserve(std::size_t n) { out_.reserve(n); }
  void bytes(std::string_view data) { out_.append(data); }
  template <typename T>
  void integer(T value) {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      out_.push_back(static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * i)) & 0xFF));
    }
  }
  void f32(float value) { integer(std::bit_cast<std::uint32_t>(value)); }
  // A length (u64) and the bytes.
  void blob(std::string_view data) {
    integer<std::uint64_t>(data.size());
    bytes(data);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// `Error` is the exception thrown (constructible from a std::string): RecsysError, TextModelError.
template <typename Error>
class ByteReader {
 public:
  // `context` starts every error message ("recsys payload", "linear model").
  ByteReader(std::string_view in, std::string context) : in_(in), context_(std::move(context)) {}

  std::size_t offset() const noexcept { return at_; }
  std::size_t remaining() const noexcept { return in_.size() - at_; }

  [[noreturn]] void fail(std::size_t offset, const std::string& what) const {
    throw Error(context_ + ": byte " + std::to_string(offset) + ": " + what);
  }

  template <typename T>
  T integer(const char* field) {
    if (remaining() < sizeof(T)) fail(at_, std::string("truncated in ") + field);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[at_ + i])) << (8 * i);
    }
    at_ += sizeof(T);
    return static_cast<T>(v);
  }

  float f32(const char* field) {
    const std::size_t where = at_;
    const float v = std::bit_cast<float>(integer<std::uint32_t>(field));
    if (!std::isfinite(v)) fail(where, std::string(field) + " is not a finite number");
    return v;
  }

  std::string_view take(std::size_t n, const char* field) {
    if (remaining() < n) {
      fail(at_, std::string("truncated in ") + field + " (" + std::to_string(n) +
                    " bytes needed, " + std::to_string(remaining()) + " left)");
    }
    const std::string_view v = in_.substr(at_, n);
    at_ += n;
    return v;
  }

  // A u64 length and that many bytes.
  std::string_view blob(const char* field) {
    const std::size_t where = at_;
    const auto n = integer<std::uint64_t>(field);
    if (n > remaining()) {
      fail(where, std::string(field) + " claims " + std::to_string(n) + " bytes, " +
                      std::to_string(remaining()) + " are left");
    }
    return take(static_cast<std::size_t>(n), field);
  }

  void expect_end() const {
    if (at_ != in_.size()) {
      fail(at_, std::to_string(in_.size() - at_) + " unexpected bytes after the end");
    }
  }

 private:
  std::string_view in_;
  std::string context_;
  std::size_t at_ = 0;
};

}  // namespace tandem::models
