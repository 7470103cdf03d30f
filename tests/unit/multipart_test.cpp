#include "tandem/http/multipart.h"

#include <gtest/gtest.h>

namespace tandem::http {
namespace {

TEST(Multipart, BoundaryFromContentType) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc123"), "abc123");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data; charset=x; boundary=\"a b;c\""), "a b;c");
  EXPECT_FALSE(multipart_boundary("application/json"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'x')));
}

TEST(Multipart, ParsesFilesAndFieldsAsCurlSendsThem) {
  std::string png("\x89PNG\r\n\x1a\n\r\n--XYZnot-a-boundary", 29);
  std::string body =
      "--XYZ\r\n"
      "Content-Disposition: form-data; name=\"image\"; filename=\"shoe.png\"\r\n"
      "Content-Type: image/png\r\n\r\n" +
      png +
      "\r\n--XYZ\r\n"
      "content-disposition: form-data; name=top_k\r\n\r\n"
      "5\r\n--XYZ--\r\n";
  std::string why;
  auto parts = parse_multipart(body, "XYZ", &why);
  ASSERT_TRUE(parts) << why;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "image");
  EXPECT_EQ((*parts)[0].filename, "shoe.png");
  EXPECT_EQ((*parts)[0].content_type, "image/png");
  EXPECT_EQ((*parts)[0].data, png);  // binary, with CRLFs and a near-boundary inside
  EXPECT_EQ((*parts)[1].name, "top_k");
  EXPECT_EQ((*parts)[1].data, "5");
}

TEST(Multipart, PreambleIsSkipped) {
  auto parts = parse_multipart(
      "preamble\r\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--", "b");
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].data, "x");
}

TEST(Multipart, RefusesBrokenBodies) {
  std::string why;
  EXPECT_FALSE(parse_multipart("no boundary here", "b", &why));
  EXPECT_EQ(why, "multipart body has no boundary line '--b'");
  EXPECT_FALSE(
      parse_multipart("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx", "b", &why));
  EXPECT_EQ(why, "multipart body ends without its closing boundary");
  EXPECT_FALSE(parse_multipart("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", "b", &why));
  EXPECT_EQ(why, "multipart part 1 has no Content-Disposition with a name");
  EXPECT_FALSE(parse_multipart("--bX\r\n", "b", &why));
  EXPECT_EQ(why, "multipart boundary line is not followed by CRLF");
  std::string many;
  for (int i = 0; i < 3; ++i)
    many += "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
  many += "--b--";
  EXPECT_FALSE(parse_multipart(many, "b", &why, 2));
  EXPECT_EQ(why, "multipart body has more than 2 parts");
}

}  // namespace
}  // namespace tandem::http
