#pragma once
// The image the classifier reads: 28 x 28 grey pixels, row-major, 0 = black. That is
// Fashion-MNIST's (and MNIST's) convention: a light object on a black background. Whatever comes
// in (a decoded PNG or JPEG, raw pixels from JSON) is brought to it here, so the network only
// ever sees images like the ones it was trained on.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tandem::models::vision {

inline constexpr int kImageSide = 28;
inline constexpr std::size_t kImagePixels = std::size_t{kImageSide} * kImageSide;

struct GreyImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // width x height, row-major, 0 = black
};

// Raw pixels: exactly 784 values (28 x 28, row-major), each a whole or fractional number in
// [0, 255] (rounded to the nearest grey level). Throws VisionError naming the count, or the first
// bad index and why ("pixel 17 is -3; pixels must be in [0, 255]", "pixel 4 is not a number").
GreyImage image_from_pixels(std::span<const double> values);

// `width` x `height` grey pixels scaled to 28 x 28: the longer side is fitted to 28 and the
// shorter one centred and padded with black (the aspect ratio is kept, as Fashion-MNIST's
// images were made). Each output pixel is the area-weighted mean of the source pixels it covers,
// so downscaling does not alias; a 28 x 28 image comes back unchanged. Throws VisionError if
// the sizes are not positive or do not match `pixels`.
GreyImage fit_to_model_size(int width, int height, std::span<const std::uint8_t> pixels);

// Throws VisionError unless `image` is 28 x 28 with 784 pixels (what classify() accepts).
void check_model_size(const GreyImage& image);

}  // namespace tandem::models::vision
