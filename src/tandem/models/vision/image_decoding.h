#pragma once
// PNG and JPEG bytes (from an HTTP request body or a file) to the classifier's 28 x 28 grey
// image. The format is recognised by its magic bytes, never by a name or a content type. The
// image's declared size is read from its header and checked before anything is decoded, so a
// small file that claims to be 100,000 x 100,000 pixels costs nothing.
//
// Steps: decode (libpng / libjpeg through dlib), convert to grey (ITU-R BT.601 luminance; an
// alpha channel is blended onto black), then, when the image is a dark object on a light
// background (the mean of its border pixels is above 127, as with a product photo on white),
// invert it, because Fashion-MNIST's images are light objects on black; then fit_to_model_size
// (grey_image.h). A Fashion-MNIST image saved as PNG decodes to exactly its own pixels.
#include <cstddef>
#include <string_view>

#include "tandem/models/vision/grey_image.h"

namespace tandem::models::vision {

inline constexpr std::size_t kMaxImageBytes = std::size_t{10} << 20;  // 10 MiB
inline constexpr int kMaxImageSide = 4096;

struct DecodeOptions {
  // Invert dark-on-light images (see above). Off: the pixels are taken as they are.
  bool invert_light_background = true;
};

// Throws VisionError with what is wrong: "image is empty", "image is 12000000 bytes; at most
// 10485760", "not a PNG or JPEG image", "image is 5000 x 300 pixels; at most 4096 x 4096",
// "corrupt PNG: ...", "corrupt JPEG: ...".
GreyImage decode_image(std::string_view bytes, const DecodeOptions& options = {});

// Inverts when the mean of the border pixels (first and last row and column) is above 127.
// Exposed for the tests and for callers that bring raw pixels of unknown polarity.
void normalise_background(GreyImage& image);

}  // namespace tandem::models::vision
