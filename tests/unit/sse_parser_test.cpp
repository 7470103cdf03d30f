#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "tandem/http/sse_parser.h"

using namespace tandem::http;

namespace {

std::vector<SseEvent> parse_all(std::string_view stream) {
  SseParser parser;
  std::vector<SseEvent> out;
  parser.feed(stream, out);
  return out;
}

std::vector<SseEvent> parse_in_chunks(std::string_view stream,
                                      const std::vector<std::size_t>& cuts) {
  SseParser parser;
  std::vector<SseEvent> out;
  std::size_t start = 0;
  for (std::size_t cut : cuts) {
    parser.feed(stream.substr(start, cut - start), out);
    start = cut;
  }
  parser.feed(stream.substr(start), out);
  return out;
}

std::vector<SseEvent> parse_byte_by_byte(std::string_view stream) {
  SseParser parser;
  std::vector<SseEvent> out;
  for (char c : stream) parser.feed(std::string_view(&c, 1), out);
  return out;
}

void expect_events(const std::vector<SseEvent>& got,
                   const std::vector<std::pair<std::string, std::string>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].event, want[i].first) << "event " << i;
    EXPECT_EQ(got[i].data, want[i].second) << "event " << i;
  }
}

constexpr std::string_view kOpenAiStream =
    "data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
    ": keep-alive\n\n"
    "data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
    "event: error\ndata: {\"error\":{}}\n\n"
    "data: [DONE]\n\n";

const std::vector<std::pair<std::string, std::string>> kOpenAiEvents = {
    {"", "{\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}"},
    {"", "{\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}"},
    {"error", "{\"error\":{}}"},
    {"", "[DONE]"},
};

}  // namespace

TEST(SseParser, ParsesAWholeStream) {
  expect_events(parse_all(kOpenAiStream), kOpenAiEvents);
}

TEST(SseParser, ByteByByteGivesTheSameEvents) {
  expect_events(parse_byte_by_byte(kOpenAiStream), kOpenAiEvents);
}

TEST(SseParser, EveryTwoWaySplitGivesTheSameEvents) {
  for (std::size_t cut = 0; cut <= kOpenAiStream.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    expect_events(parse_in_chunks(kOpenAiStream, {cut}), kOpenAiEvents);
  }
}

TEST(SseParser, RandomSplitsGiveTheSameEvents) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::uniform_int_distribution<std::size_t> pick(0, kOpenAiStream.size());
    std::vector<std::size_t> cuts(1 + round % 8);
    for (auto& c : cuts) c = pick(rng);
    std::sort(cuts.begin(), cuts.end());
    SCOPED_TRACE("round " + std::to_string(round));
    expect_events(parse_in_chunks(kOpenAiStream, cuts), kOpenAiEvents);
  }
}

TEST(SseParser, EventsAreEmittedOnlyWhenComplete) {
  SseParser parser;
  std::vector<SseEvent> out;
  parser.feed("data: hel", out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(parser.pending_bytes(), 9u);
  parser.feed("lo\n", out);
  EXPECT_TRUE(out.empty());  // the line is done, the event is not
  EXPECT_EQ(parser.pending_bytes(), 5u);
  parser.feed("\n", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "hello");
  EXPECT_EQ(parser.pending_bytes(), 0u);
  // Events are appended: what the caller already holds stays.
  parser.feed("data: x\n\n", out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, "hello");
  EXPECT_EQ(out[1].data, "x");
}

TEST(SseParser, CrLfLineEndings) {
  std::string_view stream = "data: a\r\n\r\nevent: e\r\ndata: b\r\ndata: c\r\n\r\n";
  std::vector<std::pair<std::string, std::string>> want = {{"", "a"}, {"e", "b\nc"}};
  expect_events(parse_all(stream), want);
  expect_events(parse_byte_by_byte(stream), want);
}

TEST(SseParser, CrLineEndings) {
  std::string_view stream = "data: a\r\revent: e\rdata: b\rdata: c\r\r";
  std::vector<std::pair<std::string, std::string>> want = {{"", "a"}, {"e", "b\nc"}};
  expect_events(parse_all(stream), want);
  expect_events(parse_byte_by_byte(stream), want);
}

TEST(SseParser, MixedLineEndings) {
  std::string_view stream = "data: a\n\r\ndata: b\r\rdata: c\r\n\ndata: d\n\r";
  std::vector<std::pair<std::string, std::string>> want = {
      {"", "a"}, {"", "b"}, {"", "c"}, {"", "d"}};
  expect_events(parse_all(stream), want);
  expect_events(parse_byte_by_byte(stream), want);
}

TEST(SseParser, CrAtTheEndOfAChunkThenLfInTheNext) {
  SseParser parser;
  std::vector<SseEvent> out;
  parser.feed("data: one\r", out);
  parser.feed("\ndata: two\r", out);  // this LF ends no extra (blank) line
  EXPECT_TRUE(out.empty());
  parser.feed("\n\r", out);
  parser.feed("\n", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "one\ntwo");
  EXPECT_EQ(parser.pending_bytes(), 0u);

  // A CR at the end of a chunk followed by another CR: the second ends a blank line.
  parser.feed("data: x\r", out);
  parser.feed("\r", out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].data, "x");
}

TEST(SseParser, CommentsAreIgnored) {
  expect_events(parse_all(": hello\n: another\ndata: a\n: mid-event comment\ndata: b\n\n:\n\n"),
                {{"", "a\nb"}});
  // A comment alone does not make an event.
  EXPECT_TRUE(parse_all(": ping\n\n: ping\n\n").empty());
}

TEST(SseParser, MultiLineDataIsJoinedWithNewlines) {
  expect_events(parse_all("data: line one\ndata: line two\ndata:\ndata: line four\n\n"),
                {{"", "line one\nline two\n\nline four"}});
}

TEST(SseParser, FieldValueSyntax) {
  // Only one space after the colon is removed; no colon means the whole line names the field.
  expect_events(parse_all("data:no-space\n\n"), {{"", "no-space"}});
  expect_events(parse_all("data:  two-spaces\n\n"), {{"", " two-spaces"}});
  expect_events(parse_all("data: a:b: c\n\n"), {{"", "a:b: c"}});
  expect_events(parse_all("data\n\n"), {{"", ""}});
  expect_events(parse_all("data\ndata\n\n"), {{"", "\n"}});
  // Unknown fields, id and retry are ignored.
  expect_events(parse_all("id: 7\nretry: 100\nfoo: bar\ndata: x\n\n"), {{"", "x"}});
}

TEST(SseParser, EventField) {
  expect_events(parse_all("event: completion\ndata: {}\n\n"), {{"completion", "{}"}});
  // The last event field wins; the event name does not leak into the next event.
  expect_events(parse_all("event: a\nevent: b\ndata: 1\n\ndata: 2\n\n"), {{"b", "1"}, {"", "2"}});
  // An event field without data dispatches nothing and is forgotten at the blank line.
  expect_events(parse_all("event: lonely\n\ndata: 3\n\n"), {{"", "3"}});
}

TEST(SseParser, BlankLinesWithoutDataDispatchNothing) {
  EXPECT_TRUE(parse_all("\n\n\r\n\r\r").empty());
}

TEST(SseParser, IncompleteEventAtTheEndIsHeldBack) {
  SseParser parser;
  std::vector<SseEvent> out;
  parser.feed("data: done\n\ndata: partial\n", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "done");
  EXPECT_EQ(parser.pending_bytes(), std::string("partial").size());
}

TEST(SseParser, FormatSse) {
  EXPECT_EQ(format_sse("hello"), "data: hello\n\n");
  EXPECT_EQ(format_sse("[DONE]"), "data: [DONE]\n\n");
  EXPECT_EQ(format_sse("a\nb"), "data: a\ndata: b\n\n");
  EXPECT_EQ(format_sse("x", "error"), "event: error\ndata: x\n\n");
  EXPECT_EQ(format_sse(""), "data: \n\n");
  EXPECT_EQ(format_sse("a\n"), "data: a\ndata: \n\n");
}

TEST(SseParser, FormatSseRoundTripsThroughTheParser) {
  const std::vector<std::pair<std::string, std::string>> events = {
      {"", "{\"choices\":[]}"},    {"", "multi\nline\n\ndata"},
      {"error", "{\"error\":{}}"}, {"", ""},
      {"", " leading space"},      {"", "trailing newline\n"},
      {"", ": not a comment"},     {"x", "\n"},
  };
  std::string stream;
  for (const auto& [event, data] : events) stream += format_sse(data, event);
  expect_events(parse_all(stream), events);
  expect_events(parse_byte_by_byte(stream), events);
}
