#include "tandem/tasks/task_input.h"

#include <gtest/gtest.h>

#include "tandem/core/base64.h"

namespace tandem::tasks {
namespace {

config::TaskConfig task(const std::string& kind) {
  config::TaskConfig t;
  t.name = "t";
  t.kind = kind;
  t.model = "m.tmd";
  return t;
}

// The error of a body that must fail: "status param: message".
std::string error_of(const config::TaskConfig& t, std::string_view body,
                     std::string_view content_type = "application/json") {
  auto r = parse_task_input(t, content_type, body, 64);
  auto* e = std::get_if<core::ApiError>(&r);
  if (e == nullptr) return "(no error)";
  return std::to_string(e->status) + " " + e->param + ": " + e->message;
}

template <typename T>
T parsed(const config::TaskConfig& t, std::string_view body,
         std::string_view content_type = "application/json") {
  auto r = parse_task_input(t, content_type, body, 64);
  if (auto* e = std::get_if<core::ApiError>(&r)) {
    ADD_FAILURE() << e->message;
    return T{};
  }
  return std::get<T>(std::get<TaskInput>(r));
}

TEST(TaskInput, TextAsStringOrObjectWithExplainDefault) {
  auto t = task("text");
  t.explain = 4;
  auto a = parsed<TextInput>(t, R"({"input": "great coffee"})");
  EXPECT_EQ(a.text, "great coffee");
  EXPECT_EQ(a.explain, 4);
  auto b = parsed<TextInput>(t, R"({"input": {"text": "meh"}, "explain": 0})");
  EXPECT_EQ(b.text, "meh");
  EXPECT_EQ(b.explain, 0);
}

TEST(TaskInput, TextErrorsNameTheField) {
  auto t = task("text");
  EXPECT_EQ(error_of(t, "{}"), "400 input: input: required field is missing");
  EXPECT_EQ(error_of(t, R"({"input": 5})"),
            "400 input: input: expected a string or an object of input fields, got number");
  EXPECT_EQ(error_of(t, R"({"input": "  \n\t"})"),
            "400 input: input: must not be empty or only whitespace");
  EXPECT_EQ(error_of(t, R"({"input": {"txt": "a"}})"),
            "400 input.txt: input.txt: unknown field (this task takes text)");
  EXPECT_EQ(error_of(t, R"({"input": "a", "explain": 51})"),
            "400 explain: explain: must be between 0 and 50");
  EXPECT_EQ(error_of(t, R"({"input": "a", "top_k": 3})"),
            "400 top_k: top_k: unknown field (this task takes input, explain, context)");
  EXPECT_EQ(error_of(t, "[1]"), "400 : request body: expected a JSON object, got array");
  EXPECT_EQ(error_of(t, "{\"input\": \"\xff\"}").substr(0, 4), "400 ");  // invalid UTF-8
}

TEST(TaskInput, RecsysUserOrItem) {
  auto t = task("recsys");
  t.top_n = 7;
  t.max_n = 20;
  auto a = parsed<RecsysInput>(t, R"({"input": {"user": 42}})");
  EXPECT_EQ(a.user, 42u);
  EXPECT_FALSE(a.item);
  EXPECT_EQ(a.n, 7);
  auto b = parsed<RecsysInput>(t, R"({"input": {"item": 3}, "n": 20, "explain": 0})");
  EXPECT_EQ(b.item, 3u);
  EXPECT_EQ(b.n, 20);
  EXPECT_EQ(b.explain, 0);
  EXPECT_EQ(error_of(t, R"({"input": {"user": 1, "item": 2}})"),
            "400 input: input: give exactly one of \"user\" (recommendations) or \"item\" "
            "(similar items)");
  EXPECT_EQ(error_of(t, R"({"input": {"user": "42"}})"),
            "400 input.user: input.user: expected an integer id, got string");
  EXPECT_EQ(error_of(t, R"({"input": {"user": -1}})"),
            "400 input.user: input.user: must be an id between 0 and 4294967295");
  EXPECT_EQ(error_of(t, R"({"input": {"user": 4294967296}})"),
            "400 input.user: input.user: must be an id between 0 and 4294967295");
  EXPECT_EQ(error_of(t, R"({"input": {"user": 1}, "n": 21})"),
            "400 n: n: must be between 1 and 20");
  EXPECT_EQ(error_of(t, R"({"input": 1})"),
            "400 input: input: expected an object {\"user\": id}, got number");
}

TEST(TaskInput, VisionPixelsFlatOrRows) {
  auto t = task("vision");
  std::string flat = "[";
  for (int i = 0; i < 784; ++i) flat += (i ? "," : "") + std::to_string(i % 256);
  flat += "]";
  auto a = parsed<ImageInput>(t, R"({"input": {"pixels": )" + flat + "}, \"top_k\": 2}");
  ASSERT_EQ(a.pixels.size(), 784u);
  EXPECT_EQ(a.pixels[300], 300 % 256);
  EXPECT_EQ(a.top_k, 2);
  std::string rows = "[";
  for (int r = 0; r < 28; ++r) {
    rows += r ? ",[" : "[";
    for (int c = 0; c < 28; ++c) rows += (c ? "," : "") + std::to_string(r);
    rows += "]";
  }
  rows += "]";
  auto b = parsed<ImageInput>(t, R"({"input": {"pixels": )" + rows + "}}");
  ASSERT_EQ(b.pixels.size(), 784u);
  EXPECT_EQ(b.pixels[28 * 5 + 3], 5);
  EXPECT_EQ(error_of(t, R"({"input": {"pixels": [1, 2]}})"),
            "400 input.pixels: input.pixels: expected 784 pixels (28 x 28), got 2");
  std::string bad = flat;
  bad.replace(bad.rfind(',') + 1, std::string::npos, "256]");
  EXPECT_EQ(error_of(t, R"({"input": {"pixels": )" + bad + "}}"),
            "400 input.pixels[783]: input.pixels[783]: must be from 0 to 255");
}

TEST(TaskInput, VisionBase64AndDataUrlAndLimits) {
  auto t = task("vision");
  t.max_image_bytes = 100;
  std::string png("\x89PNG\r\n\x1a\nrest", 12);
  auto a = parsed<ImageInput>(t, R"({"input": {"image": ")" + core::base64_encode(png) + "\"}}");
  EXPECT_EQ(a.encoded, png);
  auto b = parsed<ImageInput>(
      t, R"({"input": {"image": "data:image/png;base64,)" + core::base64_encode(png) + "\"}}");
  EXPECT_EQ(b.encoded, png);
  EXPECT_EQ(error_of(t, R"({"input": {"image": "not base64!"}})"),
            "400 input.image: input.image: invalid base64 character ' ' at offset 3");
  EXPECT_EQ(
      error_of(t, R"({"input": {"image": ")" + core::base64_encode(std::string(200, 'x')) + "\"}}"),
      "400 input.image: input.image: image is 200 bytes; this task accepts at most 100");
  EXPECT_EQ(error_of(t, R"({"input": {}})"),
            "400 input: input: give exactly one of \"image\" (base64 PNG or JPEG) or \"pixels\" "
            "(784 numbers)");
}

TEST(TaskInput, VisionMultipart) {
  auto t = task("vision");
  t.max_image_bytes = 64;
  std::string body =
      "--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"
      "PNGDATA\r\n--B\r\nContent-Disposition: form-data; name=\"top_k\"\r\n\r\n4\r\n--B--\r\n";
  auto a = parsed<ImageInput>(t, body, "multipart/form-data; boundary=B");
  EXPECT_EQ(a.encoded, "PNGDATA");
  EXPECT_EQ(a.top_k, 4);
  std::string no_image = "--B\r\nContent-Disposition: form-data; name=\"top_k\"\r\n\r\n4\r\n--B--";
  EXPECT_EQ(error_of(t, no_image, "multipart/form-data; boundary=B"),
            "400 image: image: required file field is missing");
  std::string big = "--B\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n" +
                    std::string(65, 'x') + "\r\n--B--";
  EXPECT_EQ(error_of(t, big, "multipart/form-data; boundary=B"),
            "400 image: image: image is 65 bytes; this task accepts at most 64");
  EXPECT_EQ(error_of(t, "garbage", "multipart/form-data; boundary=B"),
            "400 : request body: multipart body has no boundary line '--B'");
  std::string extra = "--B\r\nContent-Disposition: form-data; name=\"colour\"\r\n\r\nred\r\n--B--";
  EXPECT_EQ(error_of(t, extra, "multipart/form-data; boundary=B"),
            "400 colour: colour: unknown form field (this task takes image, top_k)");
}

}  // namespace
}  // namespace tandem::tasks

namespace tandem::tasks {
namespace {

TEST(TaskInput, ContextAndSeveralInputFields) {
  config::TaskConfig t;
  t.name = "tickets";
  t.kind = "text";
  t.input_fields = {"text", "product"};
  core::RequestContext c;
  auto parsed = parse_task_input(
      t, "application/json",
      R"({"input": {"text": "it broke", "product": "kettle"}, "context": {"stakes": "high",)"
      R"( "explain": true, "resources": "low", "latency_budget_ms": 250, "language": "en",)"
      R"( "user": "u-1"}})",
      64, &c);
  ASSERT_TRUE(std::holds_alternative<TaskInput>(parsed));
  const auto& in = std::get<TextInput>(std::get<TaskInput>(parsed));
  EXPECT_EQ(in.text, "it broke");
  EXPECT_EQ(in.fields.at("product").as_string(), "kettle");
  EXPECT_EQ(c.stakes, "high");
  EXPECT_TRUE(c.explain);
  EXPECT_EQ(c.resources, "low");
  EXPECT_EQ(c.latency_budget_ms, 250);
  EXPECT_EQ(c.language, "en");
  EXPECT_EQ(c.user, "u-1");
  EXPECT_EQ(c.input_chars, 14u);  // "it broke" + "kettle"

  auto error = [&](std::string_view body) {
    core::RequestContext ctx;
    auto p = parse_task_input(t, "application/json", body, 64, &ctx);
    if (auto* e = std::get_if<core::ApiError>(&p)) return e->param + ": " + e->message;
    return std::string("accepted");
  };
  EXPECT_EQ(error(R"({"input": {"text": "a"}})"),
            "input.product: input.product: required field is missing");
  EXPECT_EQ(error(R"({"input": {"text": "a", "product": "b", "size": 3}})"),
            "input.size: input.size: unknown field (this task takes text, product)");
  EXPECT_EQ(error(R"({"input": {"text": "a", "product": ["b"]}})"),
            "input.product: input.product: expected a string, number or boolean, got array");
  EXPECT_EQ(error(R"({"input": {"text": "a", "product": "b"}, "context": {"stakes": "huge"}})"),
            "context.stakes: context.stakes: must be one of low, medium, high");
  EXPECT_EQ(error(R"({"input": {"text": "a", "product": "b"}, "context": {"mood": 1}})"),
            "context.mood: context.mood: unknown field (this task takes stakes, explain, "
            "resources, latency_budget_ms, language, user)");
  EXPECT_EQ(error(R"({"input": {"text": "a", "product": "b"}, "context": {"explain": "yes"}})"),
            "context.explain: context.explain: expected true or false, got string");
  EXPECT_EQ(error(R"({"input": {"text": "a", "product": "b"}, "context": 3})"),
            "context: context: expected an object, got number");
  EXPECT_EQ(
      error(R"({"input": {"text": "a", "product": "b"}, "context": {"latency_budget_ms": 0}})"),
      "context.latency_budget_ms: context.latency_budget_ms: must be between 1 and 86400000");
}

}  // namespace
}  // namespace tandem::tasks
