#include "tandem/models/vision/image_decoding.h"

#include <dlib/image_loader/jpeg_loader.h>
#include <dlib/image_loader/png_loader.h>
#include <dlib/pixel.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include "tandem/models/vision/vision_error.h"

namespace tandem::models::vision {
namespace {

enum class Format { kPng, kJpeg };

constexpr std::array<unsigned char, 8> kPngMagic = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

std::uint32_t be16(std::string_view b, std::size_t at) {
  return (std::uint32_t{static_cast<unsigned char>(b[at])} << 8) |
         static_cast<unsigned char>(b[at + 1]);
}
std::uint32_t be32(std::string_view b, std::size_t at) {
  return (be16(b, at) << 16) | be16(b, at + 2);
}

struct Size {
  std::uint64_t width = 0;
  std::uint64_t height = 0;
};

// PNG: the signature, then the IHDR chunk (length 13) with width and height.
Size png_size(std::string_view b) {
  if (b.size() < 24 || b.substr(12, 4) != "IHDR" || be32(b, 8) != 13) {
    throw VisionError("corrupt PNG: no image header (IHDR) after the signature");
  }
  return {be32(b, 16), be32(b, 20)};
}

// JPEG: the markers after SOI up to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC),
// which holds precision, height and width.
Size jpeg_size(std::string_view b) {
  std::size_t at = 2;
  while (at + 4 <= b.size()) {
    if (static_cast<unsigned char>(b[at]) != 0xFF) {
      throw VisionError("corrupt JPEG: expected a marker at byte " + std::to_string(at));
    }
    const unsigned marker = static_cast<unsigned char>(b[at + 1]);
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // no length
      at += 2;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) break;  // end of image or scan before any frame
    const std::size_t length = be16(b, at + 2);
    if (length < 2)
      throw VisionError("corrupt JPEG: bad segment length at byte " + std::to_string(at));
    const bool frame =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      if (length < 7 || at + 9 > b.size()) break;
      return {be16(b, at + 7), be16(b, at + 5)};
    }
    at += 2 + length;
  }
  throw VisionError("corrupt JPEG: no frame header (image size) before the image data");
}

std::uint8_t luminance(const dlib::rgb_alpha_pixel& p) {
  // ITU-R BT.601, then blended onto black by the alpha.
  const double grey = 0.299 * p.red + 0.587 * p.green + 0.114 * p.blue;
  return static_cast<std::uint8_t>(std::lround(grey * p.alpha / 255.0));
}

GreyImage to_grey(const dlib::array2d<dlib::rgb_alpha_pixel>& decoded) {
  GreyImage image{static_cast<int>(decoded.nc()), static_cast<int>(decoded.nr()), {}};
  image.pixels.resize(static_cast<std::size_t>(decoded.size()));
  std::size_t i = 0;
  for (long r = 0; r < decoded.nr(); ++r) {
    for (long c = 0; c < decoded.nc(); ++c) image.pixels[i++] = luminance(decoded[r][c]);
  }
  return image;
}

}  // namespace

void normalise_background(GreyImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height) {
    return;
  }
  std::uint64_t sum = 0;
  std::uint64_t n = 0;
  const auto at = [&](int x, int y) {
    return image.pixels[static_cast<std::size_t>(y) * image.width + x];
  };
  for (int x = 0; x < image.width; ++x) {
    sum += at(x, 0) + at(x, image.height - 1);
    n += 2;
  }
  for (int y = 1; y + 1 < image.height; ++y) {
    sum += at(0, y) + at(image.width - 1, y);
    n += 2;
  }
  if (sum > 127 * n) {
    for (std::uint8_t& p : image.pixels) p = static_cast<std::uint8_t>(255 - p);
  }
}

GreyImage decode_image(std::string_view bytes, const DecodeOptions& options) {
  if (bytes.empty()) throw VisionError("image is empty");
  if (bytes.size() > kMaxImageBytes) {
    throw VisionError("image is " + std::to_string(bytes.size()) + " bytes; at most " +
                      std::to_string(kMaxImageBytes));
  }
  Format format;
  Size size;
  if (bytes.size() >= kPngMagic.size() &&
      std::equal(kPngMagic.begin(), kPngMagic.end(), bytes.begin(),
                 [](unsigned char m, char b) { return m == static_cast<unsigned char>(b); })) {
    format = Format::kPng;
    size = png_size(bytes);
  } else if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
             static_cast<unsigned char>(bytes[1]) == 0xD8 &&
             static_cast<unsigned char>(bytes[2]) == 0xFF) {
    format = Format::kJpeg;
    size = jpeg_size(bytes);
  } else {
    throw VisionError("not a PNG or JPEG image");
  }
  const char* name = format == Format::kPng ? "PNG" : "JPEG";
  if (size.width == 0 || size.height == 0) {
    throw VisionError(std::string("corrupt ") + name + ": the header says " +
                      std::to_string(size.width) + " x " + std::to_string(size.height) + " pixels");
  }
  if (size.width > kMaxImageSide || size.height > kMaxImageSide) {
    throw VisionError("image is " + std::to_string(size.width) + " x " +
                      std::to_string(size.height) + " pixels; at most " +
                      std::to_string(kMaxImageSide) + " x " + std::to_string(kMaxImageSide));
  }

  dlib::array2d<dlib::rgb_alpha_pixel> decoded;
  try {
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    if (format == Format::kPng) {
      dlib::load_png(decoded, data, bytes.size());
    } else {
      dlib::load_jpeg(decoded, data, bytes.size());
    }
  } catch (const dlib::error& e) {
    throw VisionError(std::string("corrupt ") + name + ": " + e.what());
  }
  if (static_cast<std::uint64_t>(decoded.nc()) != size.width ||
      static_cast<std::uint64_t>(decoded.nr()) != size.height) {
    throw VisionError(std::string("corrupt ") + name + ": decoded " + std::to_string(decoded.nc()) +
                      " x " + std::to_string(decoded.nr()) + " pixels, but the header says " +
                      std::to_string(size.width) + " x " + std::to_string(size.height));
  }
  GreyImage grey = to_grey(decoded);
  if (options.invert_light_background) normalise_background(grey);
  return fit_to_model_size(grey.width, grey.height, grey.pixels);
}

}  // namespace tandem::models::vision
