#include "tandem/models/vision/grey_image.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tandem/models/vision/vision_error.h"

namespace tandem::models::vision {
namespace {

std::string number_text(double v) {
  if (std::isnan(v)) return "not a number";
  char text[48];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

// Weights of the source pixels covering each of `out` output pixels along one axis: output pixel
// o covers [o * scale, (o + 1) * scale) of the `in` source pixels (area averaging).
struct Span1D {
  int first = 0;
  std::vector<double> weights;  // for source pixels first, first + 1, ...; sum to 1
};

std::vector<Span1D> axis_weights(int in, int out) {
  std::vector<Span1D> spans(static_cast<std::size_t>(out));
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    const double lo = o * scale;
    const double hi = (o + 1) * scale;
    Span1D& s = spans[static_cast<std::size_t>(o)];
    s.first = static_cast<int>(std::floor(lo));
    const int last = std::min(in - 1, static_cast<int>(std::ceil(hi)) - 1);
    for (int i = s.first; i <= last; ++i) {
      const double w = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
      s.weights.push_back(std::max(0.0, w / scale));
    }
  }
  return spans;
}

}  // namespace

GreyImage image_from_pixels(std::span<const double> values) {
  if (values.size() != kImagePixels) {
    throw VisionError("expected 784 pixels (28 x 28, row-major); got " +
                      std::to_string(values.size()));
  }
  GreyImage image{kImageSide, kImageSide, std::vector<std::uint8_t>(kImagePixels)};
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v)) {
      throw VisionError("pixel " + std::to_string(i) + " is " + number_text(v) +
                        "; pixels must be numbers in [0, 255]");
    }
    if (v < 0 || v > 255) {
      throw VisionError("pixel " + std::to_string(i) + " is " + number_text(v) +
                        "; pixels must be in [0, 255]");
    }
    image.pixels[i] = static_cast<std::uint8_t>(std::lround(v));
  }
  return image;
}

GreyImage fit_to_model_size(int width, int height, std::span<const std::uint8_t> pixels) {
  if (width <= 0 || height <= 0) {
    throw VisionError("image is " + std::to_string(width) + " x " + std::to_string(height) +
                      " pixels; both sides must be positive");
  }
  if (pixels.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height)) {
    throw VisionError("image is " + std::to_string(width) + " x " + std::to_string(height) +
                      " pixels but has " + std::to_string(pixels.size()) + " values");
  }
  if (width == kImageSide && height == kImageSide) {
    return GreyImage{width, height, std::vector<std::uint8_t>(pixels.begin(), pixels.end())};
  }
  // The longer side becomes 28; the other keeps the aspect ratio (at least 1 pixel) and is
  // centred on black.
  const int longer = std::max(width, height);
  const int out_w =
      std::max(1, static_cast<int>(std::lround(static_cast<double>(width) * kImageSide / longer)));
  const int out_h =
      std::max(1, static_cast<int>(std::lround(static_cast<double>(height) * kImageSide / longer)));
  const std::vector<Span1D> xs = axis_weights(width, out_w);
  const std::vector<Span1D> ys = axis_weights(height, out_h);
  // Rows first (width -> out_w), then columns (height -> out_h).
  std::vector<double> rows(static_cast<std::size_t>(height) * out_w);
  for (int y = 0; y < height; ++y) {
    const std::uint8_t* src = pixels.data() + static_cast<std::size_t>(y) * width;
    for (int x = 0; x < out_w; ++x) {
      const Span1D& s = xs[static_cast<std::size_t>(x)];
      double sum = 0;
      for (std::size_t k = 0; k < s.weights.size(); ++k) sum += s.weights[k] * src[s.first + k];
      rows[static_cast<std::size_t>(y) * out_w + x] = sum;
    }
  }
  GreyImage image{kImageSide, kImageSide, std::vector<std::uint8_t>(kImagePixels, 0)};
  const int left = (kImageSide - out_w) / 2;
  const int top = (kImageSide - out_h) / 2;
  for (int y = 0; y < out_h; ++y) {
    const Span1D& s = ys[static_cast<std::size_t>(y)];
    for (int x = 0; x < out_w; ++x) {
      double sum = 0;
      for (std::size_t k = 0; k < s.weights.size(); ++k) {
        sum += s.weights[k] * rows[(s.first + k) * static_cast<std::size_t>(out_w) + x];
      }
      image.pixels[static_cast<std::size_t>(top + y) * kImageSide + (left + x)] =
          static_cast<std::uint8_t>(std::clamp(std::lround(sum), 0L, 255L));
    }
  }
  return image;
}

void check_model_size(const GreyImage& image) {
  if (image.width != kImageSide || image.height != kImageSide ||
      image.pixels.size() != kImagePixels) {
    throw VisionError("image is " + std::to_string(image.width) + " x " +
                      std::to_string(image.height) + " pixels with " +
                      std::to_string(image.pixels.size()) +
                      " values; the classifier takes 28 x 28 (784 values)");
  }
}

}  // namespace tandem::models::vision
