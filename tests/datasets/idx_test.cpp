#include "tandem/datasets/idx.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "test_files.h"

using namespace tandem::datasets;
using namespace tandem::datasets::testing;

namespace {

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// An IDX file of unsigned bytes: the header, then `data`.
std::string idx(std::initializer_list<std::uint32_t> dims, const std::string& data,
                unsigned char type = 0x08) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (const auto d : dims) out += be32(d);
  return out + data;
}

std::string bytes(std::size_t n, unsigned seed = 0) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 7 + seed) % 251);
  return out;
}

std::filesystem::path write_gz(const std::string& name, const std::string& content) {
  const auto path = write_file(name, "");
  gzFile out = gzopen(path.c_str(), "wb");
  EXPECT_NE(out, nullptr);
  EXPECT_EQ(gzwrite(out, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  EXPECT_EQ(gzclose(out), Z_OK);
  return path;
}

}  // namespace

TEST(Idx, ReadsImagesAndLabelsPlainOrCompressed) {
  const std::string pixels = bytes(3 * 4 * 5);
  const std::string images = idx({3, 4, 5}, pixels);
  const std::string labels = idx({3}, std::string{2, 0, 9});
  for (const bool gz : {false, true}) {
    const auto image_file = gz ? write_gz("i.gz", images) : write_file("i", images);
    const auto label_file = gz ? write_gz("l.gz", labels) : write_file("l", labels);
    const ImageSet set = load_idx_images(image_file, label_file);
    ASSERT_EQ(set.size(), 3u);
    EXPECT_EQ(set.rows, 4u);
    EXPECT_EQ(set.cols, 5u);
    EXPECT_EQ(set.labels, (std::vector<std::uint8_t>{2, 0, 9}));
    ASSERT_EQ(set.image(1).size(), 20u);
    EXPECT_EQ(set.image(1)[0], static_cast<std::uint8_t>(pixels[20]));
    EXPECT_EQ(set.image(2)[19], static_cast<std::uint8_t>(pixels[59]));
  }
}

TEST(Idx, GenericArrayKeepsItsDimensions) {
  const auto file = write_file("a", idx({2, 3, 1, 2}, bytes(12)));
  const IdxArray a = load_idx(file);
  EXPECT_EQ(a.dims, (std::vector<std::uint32_t>{2, 3, 1, 2}));
  EXPECT_EQ(a.data.size(), 12u);
}

TEST(Idx, TruncatedPlainFileIsCaughtBeforeReading) {
  const auto file = write_file("t", idx({10, 28, 28}, bytes(1000)));
  expect_byte_error([&] { load_idx(file); }, file, 16 + 1000,
                    "truncated: the header says 10x28x28 = 7840 bytes of data after byte 16, the "
                    "file has 1000");
}

TEST(Idx, TruncatedCompressedDataNamesTheDecompressedOffset) {
  const auto file = write_gz("t.gz", idx({10, 28, 28}, bytes(1000)));
  expect_byte_error([&] { load_idx(file); }, file, 16 + 1000,
                    "truncated: the data ends after 1000 of the 7840 bytes the header gives "
                    "(offset in the decompressed data)");
}

TEST(Idx, CutGzipStreamIsAnError) {
  const auto whole = write_gz("w.gz", idx({50, 28, 28}, bytes(50 * 784)));
  const std::string gz = read_file(whole);
  const auto cut = write_file("cut.gz", gz.substr(0, gz.size() / 2));
  const DatasetError e = error_of([&] { load_idx(cut); });
  EXPECT_TRUE(std::string(e.what()).starts_with(cut.string() + ": byte ")) << e.what();
  EXPECT_TRUE(e.byte_offset().has_value());
  EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
}

TEST(Idx, CorruptGzipStreamIsAnError) {
  const auto whole = write_gz("w.gz", idx({50, 28, 28}, bytes(50 * 784)));
  std::string gz = read_file(whole);
  for (std::size_t i = gz.size() / 2; i < gz.size() / 2 + 40; ++i) {
    gz[i] = static_cast<char>(gz[i] ^ 0x5A);
  }
  const auto bad = write_file("bad.gz", gz);
  const DatasetError e = error_of([&] { load_idx(bad); });
  EXPECT_TRUE(std::string(e.what()).starts_with(bad.string() + ": byte ")) << e.what();
  EXPECT_NE(std::string(e.what()).find("gzip"), std::string::npos) << e.what();
}

TEST(Idx, WrongMagicIsAnError) {
  const auto file = write_file("m", "\x01\x02\x08\x01" + be32(1) + "x");
  expect_byte_error([&] { load_idx(file); }, file, 0, "not an IDX file: magic number 0x01 0x02");
  const auto text = write_file("text", "hello world, not IDX at all");
  expect_byte_error([&] { load_idx(text); }, text, 0, "not an IDX file");
}

TEST(Idx, OtherElementTypesAreRefusedByName) {
  const auto file = write_file("f", idx({1}, "abcd", 0x0D));
  expect_byte_error([&] { load_idx(file); }, file, 2, "element type 0x0D (float) is not supported");
  const auto unknown = write_file("u", idx({1}, "a", 0x42));
  expect_byte_error([&] { load_idx(unknown); }, unknown, 2, "0x42 is not an IDX type");
}

TEST(Idx, BadDimensionCountsAreErrors) {
  const auto none = write_file("0", std::string("\0\0\x08\0", 4));
  expect_byte_error([&] { load_idx(none); }, none, 3, "0 dimensions");
  const auto many = write_file("9", std::string("\0\0\x08\x09", 4) + std::string(36, '\1'));
  expect_byte_error([&] { load_idx(many); }, many, 3, "9 dimensions");
}

TEST(Idx, HeaderCutInsideTheDimensions) {
  const auto file =
      write_file("h", std::string("\0\0\x08\x03", 4) + be32(10) + std::string("\0\0", 2));
  expect_byte_error([&] { load_idx(file); }, file, 10, "inside dimension 2 of 3");
  const auto tiny = write_file("tiny", std::string("\0\0", 2));
  expect_byte_error([&] { load_idx(tiny); }, tiny, 2, "4-byte magic");
}

TEST(Idx, AbsurdSizesAreErrorsNotAllocations) {
  // 10^12 images of 28x28: refused at the dimension that passes the limit.
  const auto huge = write_file(
      "huge", std::string("\0\0\x08\x03", 4) + be32(1000000) + be32(1000000) + be32(784) + "x");
  expect_byte_error([&] { load_idx(huge); }, huge, 8, "larger than the limit");
  // Under the limit but far beyond the data, compressed: read in steps, never allocated whole.
  const auto lying = write_gz("lying.gz", idx({4000000, 28, 28}, bytes(100)));
  expect_byte_error([&] { load_idx(lying); }, lying, 116, "truncated");
}

TEST(Idx, TrailingBytesAreErrors) {
  const auto plain = write_file("p", idx({2, 2}, bytes(4) + "zz"));
  expect_byte_error([&] { load_idx(plain); }, plain, 16, "2 unexpected bytes after the 2x2 data");
  const auto gz = write_gz("g.gz", idx({2, 2}, bytes(4) + "zz"));
  expect_byte_error([&] { load_idx(gz); }, gz, 16, "unexpected bytes after the data");
}

TEST(Idx, ImagesAndLabelsMustAgree) {
  const auto images = write_file("i", idx({3, 2, 2}, bytes(12)));
  const auto fewer = write_file("l2", idx({2}, std::string{1, 2}));
  expect_byte_error([&] { load_idx_images(images, fewer); }, fewer, 4, "2 labels for 3 images");
  const auto bad_label = write_file("l3", idx({3}, std::string{1, 10, 2}));
  expect_byte_error([&] { load_idx_images(images, bad_label); }, bad_label, 9,
                    "label 10 of image 1 is not below the class count 10");
  const auto flat = write_file("flat", idx({3, 4}, bytes(12)));
  expect_byte_error([&] { load_idx_images(flat, bad_label); }, flat, 3,
                    "an image file has 3 dimensions");
  const auto labels2d = write_file("l2d", idx({3, 1}, std::string{1, 2, 3}));
  expect_byte_error([&] { load_idx_images(images, labels2d); }, labels2d, 3,
                    "a label file has 1 dimension");
}

TEST(Idx, MissingAndEmptyFiles) {
  const std::filesystem::path missing = std::filesystem::path(::testing::TempDir()) / "no.idx";
  expect_file_error([&] { load_idx(missing); }, missing, "cannot open: No such file");
  const auto empty = write_file("e", "");
  expect_byte_error([&] { load_idx(empty); }, empty, 0, "truncated");
}
