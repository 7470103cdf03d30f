#include "tandem/models/vision/image_decoding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tandem/models/vision/grey_image.h"
#include "tandem/models/vision/vision_error.h"
#include "vision_test_support.h"

namespace tandem::models::vision {
namespace {

using testing::Codec;
using testing::TempDir;

// A 28 x 28 test pattern in Fashion-MNIST's convention: a light square on black.
std::vector<std::uint8_t> pattern(int width, int height) {
  std::vector<std::uint8_t> p(static_cast<std::size_t>(width) * height, 0);
  for (int y = height / 4; y < 3 * height / 4; ++y) {
    for (int x = width / 4; x < 3 * width / 4; ++x) {
      p[static_cast<std::size_t>(y) * width + x] = static_cast<std::uint8_t>(150 + (x + y) % 100);
    }
  }
  return p;
}

std::string error_of(std::string_view bytes) {
  try {
    decode_image(bytes);
  } catch (const VisionError& e) {
    return e.what();
  }
  return "no error";
}

TEST(DecodeImage, GreyPngOfModelSizeDecodesToItsExactPixels) {
  TempDir dir;
  const auto pixels = pattern(28, 28);
  const std::string png =
      testing::encode(dir, testing::grey_array(28, 28, pixels), Codec::kPng, "a.png");
  const GreyImage image = decode_image(png);
  EXPECT_EQ(image.width, 28);
  EXPECT_EQ(image.height, 28);
  EXPECT_EQ(image.pixels, pixels);
}

TEST(DecodeImage, GreyJpegDecodesCloseToItsPixels) {
  TempDir dir;
  const auto pixels = pattern(28, 28);
  const std::string jpeg =
      testing::encode(dir, testing::grey_array(28, 28, pixels), Codec::kJpeg, "a.jpg");
  const GreyImage image = decode_image(jpeg);
  ASSERT_EQ(image.pixels.size(), pixels.size());
  double diff = 0;
  for (std::size_t i = 0; i < pixels.size(); ++i) diff += std::abs(image.pixels[i] - pixels[i]);
  EXPECT_LT(diff / static_cast<double>(pixels.size()), 6.0);
}

TEST(DecodeImage, ColourImagesBecomeLuminance) {
  TempDir dir;
  dlib::array2d<dlib::rgb_pixel> rgb(28, 28);
  for (long y = 0; y < 28; ++y) {
    for (long x = 0; x < 28; ++x) rgb[y][x] = dlib::rgb_pixel(0, 0, 0);
  }
  rgb[10][10] = dlib::rgb_pixel(255, 0, 0);
  rgb[10][11] = dlib::rgb_pixel(0, 255, 0);
  rgb[10][12] = dlib::rgb_pixel(0, 0, 255);
  rgb[10][13] = dlib::rgb_pixel(255, 255, 255);
  const GreyImage png = decode_image(testing::encode(dir, rgb, Codec::kPng, "c.png"));
  EXPECT_EQ(png.pixels[10 * 28 + 10], 76);   // 0.299 * 255
  EXPECT_EQ(png.pixels[10 * 28 + 11], 150);  // 0.587 * 255
  EXPECT_EQ(png.pixels[10 * 28 + 12], 29);   // 0.114 * 255
  EXPECT_EQ(png.pixels[10 * 28 + 13], 255);
  EXPECT_EQ(png.pixels[0], 0);
  const GreyImage jpeg = decode_image(testing::encode(dir, rgb, Codec::kJpeg, "c.jpg"));
  EXPECT_EQ(jpeg.pixels.size(), kImagePixels);
  EXPECT_GT(jpeg.pixels[10 * 28 + 13], 150);  // the white pixel stays bright
}

TEST(DecodeImage, TransparentPixelsBlendOntoBlack) {
  TempDir dir;
  dlib::array2d<dlib::rgb_alpha_pixel> rgba(28, 28);
  for (long y = 0; y < 28; ++y) {
    for (long x = 0; x < 28; ++x) rgba[y][x] = dlib::rgb_alpha_pixel(255, 255, 255, 0);
  }
  rgba[5][5] = dlib::rgb_alpha_pixel(255, 255, 255, 255);
  rgba[5][6] = dlib::rgb_alpha_pixel(255, 255, 255, 128);
  const GreyImage image = decode_image(testing::encode(dir, rgba, Codec::kPng, "t.png"));
  EXPECT_EQ(image.pixels[0], 0);
  EXPECT_EQ(image.pixels[5 * 28 + 5], 255);
  EXPECT_EQ(image.pixels[5 * 28 + 6], 128);
}

TEST(DecodeImage, LargerImagesAreFittedAndCentred) {
  TempDir dir;
  // 112 x 56: the longer side becomes 28, the shorter 14, centred vertically (rows 7 to 20).
  std::vector<std::uint8_t> p(112 * 56, 200);
  const GreyImage image =
      decode_image(testing::encode(dir, testing::grey_array(112, 56, p), Codec::kPng, "w.png"),
                   DecodeOptions{.invert_light_background = false});
  ASSERT_EQ(image.width, 28);
  ASSERT_EQ(image.height, 28);
  for (int y = 0; y < 28; ++y) {
    const bool inside = y >= 7 && y < 21;
    EXPECT_EQ(image.pixels[static_cast<std::size_t>(y) * 28 + 3], inside ? 200 : 0) << "row " << y;
  }
}

TEST(DecodeImage, DarkObjectOnWhiteIsInvertedToTheTrainingConvention) {
  TempDir dir;
  std::vector<std::uint8_t> p(28 * 28, 255);
  p[14 * 28 + 14] = 0;
  const GreyImage image =
      decode_image(testing::encode(dir, testing::grey_array(28, 28, p), Codec::kPng, "i.png"));
  EXPECT_EQ(image.pixels[0], 0);
  EXPECT_EQ(image.pixels[14 * 28 + 14], 255);
  const GreyImage kept =
      decode_image(testing::encode(dir, testing::grey_array(28, 28, p), Codec::kPng, "i.png"),
                   DecodeOptions{.invert_light_background = false});
  EXPECT_EQ(kept.pixels[0], 255);
}

TEST(DecodeImage, GarbageAndEmptyBytesAreRefused) {
  EXPECT_EQ(error_of(""), "image is empty");
  EXPECT_EQ(error_of("hello, this is not an image"), "not a PNG or JPEG image");
  EXPECT_EQ(error_of("GIF89a\x01\x00\x01\x00"), "not a PNG or JPEG image");
  EXPECT_EQ(error_of(std::string("\x89PNG\r\n\x1a\n", 8)),
            "corrupt PNG: no image header (IHDR) after the signature");
  EXPECT_EQ(error_of("\xff\xd8\xff"),
            "corrupt JPEG: no frame header (image size) before the "
            "image data");
}

TEST(DecodeImage, TruncatedAndCorruptFilesAreRefused) {
  TempDir dir;
  const auto pixels = pattern(28, 28);
  const std::string png =
      testing::encode(dir, testing::grey_array(28, 28, pixels), Codec::kPng, "a.png");
  const std::string cut = png.substr(0, png.size() / 2);
  EXPECT_EQ(error_of(cut).rfind("corrupt PNG: ", 0), 0u) << error_of(cut);
  std::string flipped = png;
  flipped[png.size() / 2] = static_cast<char>(flipped[png.size() / 2] ^ 0x55);
  EXPECT_EQ(error_of(flipped).rfind("corrupt PNG: ", 0), 0u) << error_of(flipped);

  const std::string jpeg =
      testing::encode(dir, testing::grey_array(28, 28, pixels), Codec::kJpeg, "a.jpg");
  // Only the markers before the frame: no image data at all.
  EXPECT_EQ(error_of(jpeg.substr(0, 30)).rfind("corrupt JPEG: ", 0), 0u)
      << error_of(jpeg.substr(0, 30));
}

TEST(DecodeImage, OversizedImagesAreRefusedBeforeDecoding) {
  TempDir dir;
  std::vector<std::uint8_t> p(5000 * 300, 0);
  const std::string png =
      testing::encode(dir, testing::grey_array(5000, 300, p), Codec::kPng, "big.png");
  EXPECT_EQ(error_of(png), "image is 5000 x 300 pixels; at most 4096 x 4096");
  // A header that claims a huge image is refused from the header alone.
  std::string claim =
      testing::encode(dir, testing::grey_array(28, 28, pattern(28, 28)), Codec::kPng, "a.png");
  claim[16] = 0x7f;  // width 0x7f00001c
  EXPECT_EQ(error_of(claim), "image is 2130706460 x 28 pixels; at most 4096 x 4096");
  std::string bytes(kMaxImageBytes + 1, '\0');
  EXPECT_EQ(error_of(bytes), "image is 10485761 bytes; at most 10485760");
}

TEST(FitToModelSize, AveragesTheAreaEachPixelCovers) {
  // 56 x 56 of 2 x 2 blocks: each output pixel is its block's mean.
  std::vector<std::uint8_t> p(56 * 56);
  for (int y = 0; y < 56; ++y) {
    for (int x = 0; x < 56; ++x)
      p[y * 56 + x] = static_cast<std::uint8_t>((x % 2) * 100 + (y % 2) * 50);
  }
  const GreyImage image = fit_to_model_size(56, 56, p);
  for (std::uint8_t v : image.pixels) ASSERT_EQ(v, 75);
  // A single pixel fills the whole 28 x 28 frame.
  const std::vector<std::uint8_t> one = {9};
  const GreyImage big = fit_to_model_size(1, 1, one);
  for (std::uint8_t v : big.pixels) ASSERT_EQ(v, 9);
  EXPECT_THROW(fit_to_model_size(0, 3, {}), VisionError);
  EXPECT_THROW(fit_to_model_size(2, 2, one), VisionError);
}

std::string pixels_error(const std::vector<double>& values) {
  try {
    image_from_pixels(values);
  } catch (const VisionError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ImageFromPixels, TakesExactly784ValuesInRange) {
  std::vector<double> values(784, 0.0);
  values[3] = 254.6;
  values[5] = 255;
  const GreyImage image = image_from_pixels(values);
  EXPECT_EQ(image.width, 28);
  EXPECT_EQ(image.pixels[3], 255);
  EXPECT_EQ(image.pixels[5], 255);
  EXPECT_EQ(pixels_error(std::vector<double>(783, 0.0)),
            "expected 784 pixels (28 x 28, row-major); got 783");
  EXPECT_EQ(pixels_error({}), "expected 784 pixels (28 x 28, row-major); got 0");
  values[17] = -3;
  EXPECT_EQ(pixels_error(values), "pixel 17 is -3; pixels must be in [0, 255]");
  values[17] = 0;
  values[400] = 256;
  EXPECT_EQ(pixels_error(values), "pixel 400 is 256; pixels must be in [0, 255]");
  values[400] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(pixels_error(values), "pixel 400 is not a number; pixels must be numbers in [0, 255]");
  values[400] = std::numeric_limits<double>::infinity();
  EXPECT_EQ(pixels_error(values), "pixel 400 is inf; pixels must be numbers in [0, 255]");
}

TEST(CheckModelSize, RefusesOtherSizes) {
  EXPECT_NO_THROW(check_model_size(GreyImage{28, 28, std::vector<std::uint8_t>(784)}));
  EXPECT_THROW(check_model_size(GreyImage{28, 27, std::vector<std::uint8_t>(784)}), VisionError);
  EXPECT_THROW(check_model_size(GreyImage{28, 28, std::vector<std::uint8_t>(783)}), VisionError);
}

}  // namespace
}  // namespace tandem::models::vision
