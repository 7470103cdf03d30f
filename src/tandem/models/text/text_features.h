#pragma once
// The features both sub-models read from a tokenised text, and how their share of a decision is
// reported. A feature is a word (unigram) or two adjacent words (bigram); the linear model keys
// them by a 64-bit hash of their text, so that its vocabulary stores no strings and a lookup is
// one probe in a table (collisions: with ~10^5 features in 2^64 values, about 10^-9 per model).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tandem::models::text {

// FNV-1a over the bytes, then SplitMix64's finaliser (FNV's low bits mix poorly, and the table
// index is taken from them).
inline std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline std::uint64_t word_key(std::string_view word) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : word) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return mix64(h);
}

// Order matters ("not good" is not "good not"); never equal to a word's key but by accident.
inline std::uint64_t pair_key(std::uint64_t first, std::uint64_t second) noexcept {
  return mix64(first * 0x9e3779b97f4a7c15ull + (second << 1 | second >> 63) + 0x7f4a7c15ull);
}

// One feature's push on a decision: `weight` is its contribution to the log-odds of the chosen
// label against the mean of the others (see TextClassifier::predict). The feature is the word
// at `position` of the tokens, or (pair) the words at `position` and `position + 1`.
struct FeatureWeight {
  std::uint64_t key = 0;  // word_key or pair_key: equal features are merged by it
  std::uint32_t position = 0;
  bool pair = false;
  float weight = 0;
};

}  // namespace tandem::models::text
