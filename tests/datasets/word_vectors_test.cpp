#include "tandem/datasets/word_vectors.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "test_files.h"

using namespace tandem::datasets;
using namespace tandem::datasets::testing;

namespace {

// Three words of dimension 3: "the" (offsets 40..51), "café" (5 bytes), "x".
// Layout: header 40, ends 12 (40..51), vocabulary 9 (52..60), padding 3 (61..63), rows at 64.
const std::vector<std::string> kWords = {"the", "caf\xC3\xA9", "x"};
const std::vector<float> kRows = {1, 2, 3, -0.5f, 0.25f, 0, 1e-3f, 7, -8};

std::filesystem::path saved(const std::string& name) {
  const auto path = write_file(name, "");
  WordVectors::save(path, 3, kWords, kRows);
  return path;
}

void put32(std::string& bytes, std::size_t at, std::uint32_t v) {
  std::memcpy(&bytes[at], &v, 4);
}
void put64(std::string& bytes, std::size_t at, std::uint64_t v) {
  std::memcpy(&bytes[at], &v, 8);
}

// Recomputes the header's CRC, so that a test reaches the check after it.
void fix_crc(std::string& bytes) {
  const auto crc = crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()) + 40, bytes.size() - 40);
  put32(bytes, 32, static_cast<std::uint32_t>(crc));
}

}  // namespace

TEST(WordVectors, SaveAndLoadRoundTrip) {
  const auto path = saved("wv.bin");
  EXPECT_EQ(std::filesystem::file_size(path), 64u + 9 * 4);
  const WordVectors wv = WordVectors::load(path, 3);
  ASSERT_EQ(wv.size(), 3u);
  EXPECT_EQ(wv.dim(), 3u);
  EXPECT_EQ(wv.word(0), "the");
  EXPECT_EQ(wv.word(1), "caf\xC3\xA9");
  EXPECT_EQ(wv.word(2), "x");
  EXPECT_EQ(wv.find("caf\xC3\xA9"), 1u);
  EXPECT_EQ(wv.find("x"), 2u);
  EXPECT_FALSE(wv.find("cafe").has_value());
  EXPECT_FALSE(wv.find("").has_value());
  ASSERT_EQ(wv.vector(1).size(), 3u);
  EXPECT_EQ(wv.vector(1)[0], -0.5f);
  EXPECT_EQ(wv.vector(2)[2], -8.0f);
  EXPECT_FALSE(WordVectors().find("the").has_value());
}

TEST(WordVectors, ManyWordsAllFound) {
  std::vector<std::string> words;
  std::vector<float> rows;
  for (int i = 0; i < 5000; ++i) {
    words.push_back("w" + std::to_string(i));
    rows.push_back(static_cast<float>(i));
  }
  const auto path = write_file("many.bin", "");
  WordVectors::save(path, 1, words, rows);
  const WordVectors wv = WordVectors::load(path);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(wv.find("w" + std::to_string(i)), static_cast<std::uint32_t>(i));
    ASSERT_EQ(wv.vector(static_cast<std::size_t>(i))[0], static_cast<float>(i));
  }
}

TEST(WordVectors, TruncatedMidRowNamesTheWord) {
  const std::string bytes = read_file(saved("full.bin"));
  const auto file = write_file("cut.bin", bytes.substr(0, 64 + 12 + 5));  // inside row 1
  expect_byte_error([&] { WordVectors::load(file); }, file, 81,
                    "truncated: the file ends inside the vector of word 1 \"caf\xC3\xA9\"");
}

TEST(WordVectors, TruncatedBeforeTheVectorsOrInTheHeader) {
  const std::string bytes = read_file(saved("full.bin"));
  const auto vocab = write_file("vocab.bin", bytes.substr(0, 55));
  expect_byte_error([&] { WordVectors::load(vocab); }, vocab, 55,
                    "truncated: the file ends before the vectors start");
  const auto header = write_file("header.bin", bytes.substr(0, 20));
  expect_byte_error([&] { WordVectors::load(header); }, header, 20,
                    "truncated: the file ends inside the 40-byte header");
}

TEST(WordVectors, WrongDimension) {
  const auto path = saved("wv.bin");
  expect_byte_error([&] { WordVectors::load(path, 100); }, path, 12, "dimension 3, expected 100");
  // A header whose dimension disagrees with the data: the sizes no longer add up.
  std::string bytes = read_file(path);
  put32(bytes, 12, 4);
  const auto bigger = write_file("dim4.bin", bytes);
  expect_byte_error([&] { WordVectors::load(bigger); }, bigger, bytes.size(),
                    "ends inside the vector of word 2");
  put32(bytes, 12, 2);
  const auto smaller = write_file("dim2.bin", bytes);
  expect_byte_error([&] { WordVectors::load(smaller); }, smaller, 64 + 24,
                    "unexpected bytes after the last vector");
  put32(bytes, 12, 0);
  const auto zero = write_file("dim0.bin", bytes);
  expect_byte_error([&] { WordVectors::load(zero); }, zero, 12, "dimension 0");
}

TEST(WordVectors, BadMagicVersionAndReservedField) {
  std::string bytes = read_file(saved("wv.bin"));
  std::string magic = bytes;
  magic[0] = 'X';
  const auto m = write_file("m.bin", magic);
  expect_byte_error([&] { WordVectors::load(m); }, m, 0, "not a Tandem word-vector file");
  std::string version = bytes;
  put32(version, 8, 2);
  const auto v = write_file("v.bin", version);
  expect_byte_error([&] { WordVectors::load(v); }, v, 8, "format version 2");
  std::string reserved = bytes;
  put32(reserved, 36, 1);
  const auto r = write_file("r.bin", reserved);
  expect_byte_error([&] { WordVectors::load(r); }, r, 36, "reserved");
}

TEST(WordVectors, AbsurdCountsAreErrorsNotAllocations) {
  std::string bytes = read_file(saved("wv.bin"));
  put64(bytes, 16, 1000000000000ull);  // 10^12 words
  const auto huge = write_file("huge.bin", bytes);
  expect_byte_error([&] { WordVectors::load(huge); }, huge, 16, "word count 1000000000000");
  put64(bytes, 16, 4000000000ull);  // representable, but the file is 100 bytes
  put64(bytes, 24, 4000000000ull);
  const auto big = write_file("big.bin", bytes);
  expect_byte_error([&] { WordVectors::load(big); }, big, bytes.size(),
                    "ends before the vectors start");
  put64(bytes, 16, 3);
  put64(bytes, 24, 1ull << 40);
  const auto vocab = write_file("vocab.bin", bytes);
  expect_byte_error([&] { WordVectors::load(vocab); }, vocab, 24, "vocabulary of");
}

TEST(WordVectors, BadOffsets) {
  std::string bytes = read_file(saved("wv.bin"));
  std::string order = bytes;
  put32(order, 44, 3);  // word 1 would be empty
  const auto o = write_file("o.bin", order);
  expect_byte_error([&] { WordVectors::load(o); }, o, 44, "word 1 ends at 3, not after 3");
  std::string shrink = bytes;
  put32(shrink, 48, 8);  // word 2 would be empty
  const auto s = write_file("s.bin", shrink);
  expect_byte_error([&] { WordVectors::load(s); }, s, 48, "word 2 ends at 8, not after 8");
  std::string last = bytes;
  put64(last, 24, 10);  // the words take 9 bytes; the padding shrinks, the size stays
  const auto l = write_file("l.bin", last);
  expect_byte_error([&] { WordVectors::load(l); }, l, 48,
                    "the last word ends at 9, the vocabulary has 10 bytes");
}

TEST(WordVectors, NonUtf8WordAndNonZeroPadding) {
  std::string bytes = read_file(saved("wv.bin"));
  std::string utf8 = bytes;
  utf8[52 + 3 + 3] = '\xFF';  // inside "café"
  const auto u = write_file("u.bin", utf8);
  expect_byte_error([&] { WordVectors::load(u); }, u, 58, "not UTF-8");
  std::string padding = bytes;
  padding[62] = 1;
  const auto p = write_file("p.bin", padding);
  expect_byte_error([&] { WordVectors::load(p); }, p, 62, "padding is not zero");
}

TEST(WordVectors, NonFiniteValueNamesWordAndComponent) {
  std::string bytes = read_file(saved("wv.bin"));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&bytes[64 + 4 * 5], &nan, 4);  // word 1, component 2
  const auto file = write_file("nan.bin", bytes);
  expect_byte_error([&] { WordVectors::load(file); }, file, 84,
                    "component 2 of word 1 \"caf\xC3\xA9\" is not a finite number");
}

TEST(WordVectors, CorruptDataFailsTheCrc) {
  std::string bytes = read_file(saved("wv.bin"));
  bytes[64 + 1] = static_cast<char>(bytes[64 + 1] ^ 1);  // still a finite float
  const auto file = write_file("crc.bin", bytes);
  expect_byte_error([&] { WordVectors::load(file); }, file, 32, "the file is corrupt");
}

TEST(WordVectors, RepeatedWordIsAnError) {
  // Two words "ab" of dimension 1: ends at 40..47, vocabulary "abab" at 48..51, rows at 52.
  const std::string bytes = read_file(saved("wv.bin"));
  std::string dup(40, '\0');
  std::memcpy(dup.data(), bytes.data(), 40);
  put64(dup, 16, 2);
  put32(dup, 12, 1);
  put64(dup, 24, 4);
  dup += std::string("\x02\0\0\0\x04\0\0\0", 8) + "abab";  // ends at 48, vocabulary at 48..51
  const float rows[2] = {1, 2};
  dup.append(reinterpret_cast<const char*>(rows), sizeof rows);
  fix_crc(dup);
  const auto file = write_file("dup.bin", dup);
  expect_byte_error([&] { WordVectors::load(file); }, file, 50, "word 1 \"ab\" repeats word 0");
}

TEST(WordVectors, TrailingBytes) {
  const auto file = write_file("t.bin", read_file(saved("wv.bin")) + "extra");
  expect_byte_error([&] { WordVectors::load(file); }, file, 100,
                    "unexpected bytes after the last vector");
}

TEST(WordVectors, MissingFile) {
  const std::filesystem::path missing = std::filesystem::path(::testing::TempDir()) / "no.bin";
  expect_file_error([&] { WordVectors::load(missing); }, missing, "cannot open: No such file");
}

TEST(WordVectors, SaveRefusesWhatLoadWouldRefuse) {
  const auto path = write_file("s.bin", "");
  const std::vector<std::string> dup = {"a", "a"};
  EXPECT_THROW(WordVectors::save(path, 1, dup, std::vector<float>{1, 2}), std::invalid_argument);
  const std::vector<std::string> empty = {"a", ""};
  EXPECT_THROW(WordVectors::save(path, 1, empty, std::vector<float>{1, 2}), std::invalid_argument);
  const std::vector<std::string> ok = {"a", "b"};
  EXPECT_THROW(WordVectors::save(path, 1, ok, std::vector<float>{1}), std::invalid_argument);
  EXPECT_THROW(WordVectors::save(path, 1, ok, std::vector<float>{1, NAN}), std::invalid_argument);
  EXPECT_THROW(WordVectors::save(path, 0, ok, std::vector<float>{}), std::invalid_argument);
}
