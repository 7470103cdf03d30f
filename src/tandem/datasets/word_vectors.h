#pragma once
// Pretrained word vectors (GloVe 100-d, converted once by scripts/setup_data.sh) in Tandem's
// compact binary, which loads in a fraction of a second: two reads into flat arrays, no parsing,
// no allocation per word.
//
// Layout, little-endian (data/README.md has it byte by byte):
//   0  char[8]  "TANDEMWV"            24  u64  vocabulary bytes
//   8  u32      version, 1            32  u32  CRC-32 (zlib) of every byte after the header
//  12  u32      dim                   36  u32  reserved, 0
//  16  u64      count (words)
//  40  u32[count] end offset of each word in the vocabulary; the words (UTF-8, back to back);
//      zero bytes up to a multiple of 4; f32[count][dim] the vectors in the order of the words.
// A file whose size, offsets, vocabulary, floats or CRC disagree is refused with the byte offset
// of the first problem; sizes are checked against the real file before anything is allocated.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::datasets {

class WordVectors {
 public:
  WordVectors() = default;

  // Throws DatasetError ("file: byte N: reason"), also when `expected_dim` is not 0 and the
  // file's dimension differs (a model trained on 100-d vectors cannot use 50-d ones).
  static WordVectors load(const std::filesystem::path& file, std::uint32_t expected_dim = 0);

  // Writes `words` with their vectors (row i of `rows`, words.size() x dim floats) in the format
  // above, through a temporary file renamed at the end. Throws std::invalid_argument for empty,
  // repeated or non-UTF-8 words, non-finite values or a size mismatch, and DatasetError when the
  // file cannot be written.
  static void save(const std::filesystem::path& file, std::uint32_t dim,
                   std::span<const std::string> words, std::span<const float> rows);

  std::size_t size() const { return ends_.size(); }
  std::uint32_t dim() const { return dim_; }
  std::string_view word(std::size_t i) const;
  std::span<const float> vector(std::size_t i) const { return {rows_.get() + i * dim_, dim_}; }
  // The row of `word` (exact match), if it is in the vocabulary.
  std::optional<std::uint32_t> find(std::string_view word) const;

 private:
  std::uint32_t dim_ = 0;
  std::vector<std::uint32_t> ends_;   // end of word i in vocabulary_
  std::string vocabulary_;            // all words back to back
  std::unique_ptr<float[]> rows_;     // size() x dim_, uninitialised until read
  std::vector<std::uint32_t> slots_;  // open-addressing index: row + 1, 0 = empty
};

}  // namespace tandem::datasets
