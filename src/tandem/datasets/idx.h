#pragma once
// IDX files (the format of MNIST and Fashion-MNIST; http://yann.lecun.com/exdb/mnist/), plain or
// gzip-compressed (detected from the content, not the name).
//
// Layout: bytes 0-1 zero; byte 2 the element type (0x08: unsigned byte, the only one these data
// sets use and the only one accepted here); byte 3 the number of dimensions; then each dimension
// as a big-endian uint32; then the elements, row-major. The file must hold exactly that many
// bytes. Errors name the file and the byte offset, counted in the decompressed data for .gz files.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace tandem::datasets {

struct IdxArray {
  std::vector<std::uint32_t> dims;  // dims[0] counts the items (images, labels)
  std::vector<std::uint8_t> data;   // product of dims bytes, row-major
};

struct IdxOptions {
  // Data larger than this is refused before it is read, whatever the header claims (Fashion-MNIST's
  // training images are 47 MB).
  std::uint64_t max_bytes = std::uint64_t{4} << 30;
};

// Throws DatasetError ("file: byte N: reason").
IdxArray load_idx(const std::filesystem::path& file, const IdxOptions& options = {});

// A set of grey images with their class labels, from an IDX image file (3 dimensions: count,
// rows, cols) and an IDX label file (1 dimension: count) with the same count.
struct ImageSet {
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  std::vector<std::uint8_t> pixels;  // size() images of rows x cols, row-major, 0 = background
  std::vector<std::uint8_t> labels;  // each below the class count given to the loader

  std::size_t size() const { return labels.size(); }
  std::span<const std::uint8_t> image(std::size_t i) const {
    const std::size_t n = std::size_t{rows} * cols;
    return std::span<const std::uint8_t>(pixels).subspan(i * n, n);
  }
};

// Throws DatasetError naming whichever file is wrong: dimensions, counts that differ, or a label
// at or above `classes` (by its byte offset).
ImageSet load_idx_images(const std::filesystem::path& images, const std::filesystem::path& labels,
                         unsigned classes = 10, const IdxOptions& options = {});

}  // namespace tandem::datasets
