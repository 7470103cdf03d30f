#include "tandem/datasets/text_dataset.h"

#include <gtest/gtest.h>

#include "tandem/datasets/csv.h"
#include "test_files.h"

using namespace tandem::datasets;
using namespace tandem::datasets::testing;

TEST(TextCsv, ReadsQuotedFieldsWithCommasQuotesAndLineBreaks) {
  const auto file = write_file("reviews.csv",
                               "\"product\",\"text\",\"label\"\n"
                               "B1,\"Good, really \"\"good\"\"\",great\n"
                               "B2,\"two\nlines\r\nhere\",other\n"
                               "\"B3\",plain text,great\n");
  const TextDataset data = load_text_csv(file);
  ASSERT_EQ(data.examples.size(), 3u);
  EXPECT_EQ(data.examples[0].text, "Good, really \"good\"");
  EXPECT_EQ(data.examples[1].text, "two\nlines\r\nhere");
  EXPECT_EQ(data.examples[2].text, "plain text");
  ASSERT_EQ(data.labels, (std::vector<std::string>{"great", "other"}));
  EXPECT_EQ(data.examples[0].label, 0u);
  EXPECT_EQ(data.examples[1].label, 1u);
  EXPECT_EQ(data.count("great"), 2u);
  EXPECT_EQ(data.count("other"), 1u);
  EXPECT_EQ(data.count("absent"), 0u);
}

TEST(TextCsv, LabelsAreSortedWhateverTheirOrderInTheFile) {
  const auto file = write_file("l.csv", "label,text\nzeta,a\nalpha,b\nmid,c\nzeta,d\n");
  const TextDataset data = load_text_csv(file);
  ASSERT_EQ(data.labels, (std::vector<std::string>{"alpha", "mid", "zeta"}));
  EXPECT_EQ(data.examples[0].label, 2u);
  EXPECT_EQ(data.examples[1].label, 0u);
  EXPECT_EQ(data.examples[3].label, 2u);
}

TEST(TextCsv, AcceptsCrlfByteOrderMarkNoFinalLineBreakAndOtherColumnNames) {
  const auto file = write_file("crlf.csv", "\xEF\xBB\xBFid,body,y\r\n1,x,\"a\"\r\n2,\"y\",b");
  const TextDataset data = load_text_csv(file, {.text_column = "body", .label_column = "y"});
  ASSERT_EQ(data.examples.size(), 2u);
  EXPECT_EQ(data.examples[1].text, "y");
  EXPECT_EQ(data.labels, (std::vector<std::string>{"a", "b"}));
}

TEST(TextCsv, UnbalancedQuoteNamesTheLineWhereItOpens) {
  const auto file = write_file("q.csv",
                               "text,label\n\"ok\nstill ok\",great\n\"never closed,great\n"
                               "more,other\n");
  expect_line_error([&] { load_text_csv(file); }, file, 4, "never closed");
}

TEST(TextCsv, LinesAreCountedThroughMultiLineFields) {
  const auto file = write_file("n.csv", "text,label\n\"a\nb\nc\",great\nx,great,extra\n");
  expect_line_error([&] { load_text_csv(file); }, file, 5, "expected 2 fields, found 3");
}

TEST(TextCsv, WrongColumnCountNamesTheLine) {
  const auto file = write_file("c.csv", "text,label\na,great\nb\nc,other\n");
  expect_line_error([&] { load_text_csv(file); }, file, 3, "expected 2 fields, found 1");
}

TEST(TextCsv, EmptyLineInTheMiddleIsNamed) {
  const auto file = write_file("e.csv", "text,label\na,great\n\nc,other\n");
  expect_line_error([&] { load_text_csv(file); }, file, 3, "an empty line");
}

TEST(TextCsv, TextAfterAClosingQuoteIsAnError) {
  const auto file = write_file("t.csv", "text,label\n\"say \"hi\" there\",great\n");
  expect_line_error([&] { load_text_csv(file); }, file, 2, "text after a closing quote");
}

TEST(TextCsv, QuoteInsideAnUnquotedFieldIsAnError) {
  const auto file = write_file("u.csv", "text,label\nfine,great\n5\" screen,other\n");
  expect_line_error([&] { load_text_csv(file); }, file, 3, "quote inside an unquoted field");
}

TEST(TextCsv, LoneCarriageReturnIsAnError) {
  const auto file = write_file("r.csv", "text,label\na,great\rb,other\n");
  expect_line_error([&] { load_text_csv(file); }, file, 2, "carriage return");
}

TEST(TextCsv, InvalidUtf8NamesTheLine) {
  const auto file = write_file("x.csv", "text,label\na,great\ncaf\xE9,other\n");
  expect_line_error([&] { load_text_csv(file); }, file, 3, "not UTF-8: byte 0xE9 at byte 4");
}

TEST(TextCsv, OverlongAndSurrogateUtf8AreRefused) {
  const auto overlong = write_file("o.csv", "text,label\n\xC0\xAF,great\n");
  expect_line_error([&] { load_text_csv(overlong); }, overlong, 2, "not UTF-8");
  const auto surrogate = write_file("s.csv", "text,label\n\xED\xA0\x80,great\n");
  expect_line_error([&] { load_text_csv(surrogate); }, surrogate, 2, "not UTF-8");
}

TEST(TextCsv, MissingColumnIsNamedOnLineOne) {
  const auto file = write_file("m.csv", "review,score\na,great\n");
  expect_line_error([&] { load_text_csv(file); }, file, 1,
                    "no column \"text\" in the header (it has: review, score)");
}

TEST(TextCsv, RepeatedOrEmptyHeaderNamesAreErrors) {
  const auto twice = write_file("h.csv", "text,label,text\na,b,c\n");
  expect_line_error([&] { load_text_csv(twice); }, twice, 1, "names column \"text\" twice");
  const auto empty = write_file("h2.csv", "text,,label\na,b,c\n");
  expect_line_error([&] { load_text_csv(empty); }, empty, 1, "column 2 has no name");
}

TEST(TextCsv, EmptyTextOrLabelIsAnError) {
  const auto label = write_file("l.csv", "text,label\na,great\nb,\n");
  expect_line_error([&] { load_text_csv(label); }, label, 3, "empty label");
  const auto text = write_file("t.csv", "text,label\n\"\",great\n");
  expect_line_error([&] { load_text_csv(text); }, text, 2, "empty text");
}

TEST(TextCsv, EmptyFileHeaderOnlyAndMissingFile) {
  const auto empty = write_file("e.csv", "");
  expect_file_error([&] { load_text_csv(empty); }, empty, "is empty");
  const auto header = write_file("h.csv", "text,label\n");
  expect_file_error([&] { load_text_csv(header); }, header, "no examples");
  const std::filesystem::path missing = std::filesystem::path(::testing::TempDir()) / "nope.csv";
  expect_file_error([&] { load_text_csv(missing); }, missing, "cannot open: No such file");
}

TEST(TextCsv, FileOverTheSizeLimitIsRefusedBeforeReading) {
  const auto file = write_file("big.csv", "text,label\n" + std::string(100, 'a') + ",x\n");
  expect_file_error([&] { load_text_csv(file, {.max_file_bytes = 50}); }, file,
                    "more than the limit of 50");
}

TEST(CsvReader, TrailingCommaMakesAnEmptyLastField) {
  const std::string text = "a,b,\n\"\",\"\"\"\"";
  CsvReader reader("mem.csv", text);
  CsvRecord record;
  ASSERT_TRUE(reader.next(record));
  EXPECT_EQ(record.fields, (std::vector<std::string>{"a", "b", ""}));
  ASSERT_TRUE(reader.next(record));
  EXPECT_EQ(record.line, 2u);
  EXPECT_EQ(record.fields, (std::vector<std::string>{"", "\""}));
  EXPECT_FALSE(reader.next(record));
}
