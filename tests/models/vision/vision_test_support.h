#pragma once
// Helpers of the image classifier tests: images written as real PNG and JPEG files (by dlib's
// encoders, i.e. libpng and libjpeg) into a temporary folder and read back as bytes.
#include <dlib/image_saver/save_jpeg.h>
#include <dlib/image_saver/save_png.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <span>
#include <string>

namespace tandem::models::vision::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("tandem-vision-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline dlib::array2d<unsigned char> grey_array(int width, int height,
                                               std::span<const std::uint8_t> pixels) {
  dlib::array2d<unsigned char> img(height, width);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) img[y][x] = pixels[static_cast<std::size_t>(y) * width + x];
  }
  return img;
}

enum class Codec { kPng, kJpeg };

// Encodes a grey image as PNG or JPEG (quality 95) and returns the file's bytes.
template <typename Image>
std::string encode(const TempDir& dir, const Image& img, Codec codec, const std::string& name) {
  const std::filesystem::path file = dir / name;
  if (codec == Codec::kPng) {
    dlib::save_png(img, file.string());
  } else {
    dlib::save_jpeg(img, file.string(), 95);
  }
  return read_bytes(file);
}

}  // namespace tandem::models::vision::testing
