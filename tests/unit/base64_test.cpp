#include "tandem/core/base64.h"

#include <gtest/gtest.h>

namespace tandem::core {
namespace {

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= bytes.size(); n += 7) {
    std::string part = bytes.substr(0, n);
    auto back = base64_decode(base64_encode(part));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, part) << n;
  }
}

TEST(Base64, KnownVectorsWithAndWithoutPadding) {
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(*base64_decode("Zm8="), "fo");
  EXPECT_EQ(*base64_decode("Zm8"), "fo");
  EXPECT_EQ(*base64_decode("Zg"), "f");
  EXPECT_EQ(*base64_decode(""), "");
}

TEST(Base64, RefusesMangledText) {
  std::string why;
  EXPECT_FALSE(base64_decode("Zm9v YmFy", &why));
  EXPECT_EQ(why, "invalid base64 character ' ' at offset 4");
  EXPECT_FALSE(base64_decode("Zm9v-_", &why));  // URL-safe alphabet
  EXPECT_EQ(why, "invalid base64 character '-' at offset 4");
  EXPECT_FALSE(base64_decode("Zm9vY", &why));
  EXPECT_NE(why.find("dangling"), std::string::npos);
  EXPECT_FALSE(base64_decode("Zm8==", &why));  // padding that does not fit the length
  EXPECT_FALSE(base64_decode("Zg=a", &why));
  EXPECT_FALSE(base64_decode(std::string("Zm\0v", 4), &why));
  EXPECT_EQ(why, "invalid base64 character byte 0 at offset 2");
}

}  // namespace
}  // namespace tandem::core
