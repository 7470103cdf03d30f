#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tandem/api/embeddings_request.h"

using namespace tandem;
using tandem::api::EmbeddingsRequest;
using tandem::api::parse_embeddings_request;

namespace {

constexpr int kDepth = 64;

EmbeddingsRequest must_parse(std::string_view body, int max_depth = kDepth) {
  auto r = parse_embeddings_request(body, max_depth);
  if (auto* e = std::get_if<core::ApiError>(&r)) {
    ADD_FAILURE() << body << " -> " << e->status << " " << e->param << ": " << e->message;
    return EmbeddingsRequest{};
  }
  return std::get<EmbeddingsRequest>(std::move(r));
}

core::ApiError must_fail(std::string_view body, int max_depth = kDepth) {
  auto r = parse_embeddings_request(body, max_depth);
  if (auto* e = std::get_if<core::ApiError>(&r)) return *e;
  ADD_FAILURE() << body << " was accepted";
  return core::ApiError{};
}

std::string with_input(std::string_view input, std::string_view extra = {}) {
  std::string body = R"({"model":"text-embedding-3-small","input":)" + std::string(input);
  if (!extra.empty()) {
    body += ',';
    body += extra;
  }
  return body + "}";
}

void expect_param(const std::string& body, std::string_view param) {
  core::ApiError e = must_fail(body);
  EXPECT_EQ(e.status, 400) << body;
  EXPECT_EQ(e.type, "invalid_request_error") << body;
  EXPECT_EQ(e.code, "invalid_request") << body;
  EXPECT_EQ(e.param, param) << body << " -> " << e.message;
  EXPECT_TRUE(e.message.starts_with(std::string(param) + ":")) << e.message;
}

void expect_invalid_json(std::string_view body, std::string_view message_part,
                         int max_depth = kDepth) {
  core::ApiError e = must_fail(body, max_depth);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "invalid_json") << e.message;
  EXPECT_EQ(e.param, "");
  EXPECT_NE(e.message.find(message_part), std::string::npos) << e.message;
}

}  // namespace

TEST(EmbeddingsRequest, ValidInputs) {
  EmbeddingsRequest r = must_parse(with_input(R"("hello")"));
  EXPECT_EQ(r.model, "text-embedding-3-small");
  EXPECT_EQ(r.body.at("input").as_string(), "hello");

  must_parse(with_input(R"(["a","b"])"));
  must_parse(with_input("[1,2,3]"));         // token ids
  must_parse(with_input("[[1,2],[3],[]]"));  // arrays of token ids
  must_parse(with_input(R"(["a",[1,2],7])"));
  must_parse(with_input(R"("x")", R"("dimensions":256,"encoding_format":"base64","user":"u")"));
  must_parse(with_input(R"("x")", R"("encoding_format":"float","dimensions":null)"));
  must_parse(with_input(R"("x")", R"("encoding_format":null)"));
}

TEST(EmbeddingsRequest, UnknownFieldsPassThrough) {
  EmbeddingsRequest r = must_parse(with_input(R"("x")", R"("vendor":{"k":[true]})"));
  EXPECT_EQ(boost::json::serialize(r.body.at("vendor")), R"({"k":[true]})");
}

TEST(EmbeddingsRequest, ModelErrors) {
  expect_param(R"({"input":"x"})", "model");
  expect_param(R"({"model":"","input":"x"})", "model");
  expect_param(R"({"model":["m"],"input":"x"})", "model");
}

TEST(EmbeddingsRequest, InputErrors) {
  expect_param(R"({"model":"m"})", "input");
  expect_param(with_input(R"("")"), "input");
  expect_param(with_input("[]"), "input");
  expect_param(with_input("5"), "input");
  expect_param(with_input("null"), "input");
  expect_param(with_input(R"({"text":"x"})"), "input");
  expect_param(with_input(R"(["a",null])"), "input[1]");
  expect_param(with_input(R"(["a",1.5])"), "input[1]");
  expect_param(with_input(R"(["a","b",{"x":1}])"), "input[2]");
  expect_param(with_input(R"([[1,2],[3,"4"]])"), "input[1]");
  expect_param(with_input(R"([[1,2.5]])"), "input[0]");
  expect_param(with_input(R"([true])"), "input[0]");
}

TEST(EmbeddingsRequest, AtMost2048Inputs) {
  std::string items;
  for (int i = 0; i < 2048; ++i) items += (i ? ",\"x\"" : "\"x\"");
  must_parse(with_input("[" + items + "]"));
  expect_param(with_input("[" + items + ",\"x\"]"), "input");
}

TEST(EmbeddingsRequest, DimensionsAndEncodingFormat) {
  expect_param(with_input(R"("x")", R"("dimensions":0)"), "dimensions");
  expect_param(with_input(R"("x")", R"("dimensions":65537)"), "dimensions");
  expect_param(with_input(R"("x")", R"("dimensions":"256")"), "dimensions");
  expect_param(with_input(R"("x")", R"("dimensions":2.5)"), "dimensions");
  must_parse(with_input(R"("x")", R"("dimensions":1)"));
  must_parse(with_input(R"("x")", R"("dimensions":65536)"));
  expect_param(with_input(R"("x")", R"("encoding_format":"int8")"), "encoding_format");
  expect_param(with_input(R"("x")", R"("encoding_format":1)"), "encoding_format");
}

TEST(EmbeddingsRequest, MalformedJsonAndTrailingGarbage) {
  expect_invalid_json(R"({"model":"m","input":)", "malformed JSON");
  expect_invalid_json(R"({"model":"m","input":"x",})", "malformed JSON");
  expect_invalid_json(with_input(R"("x")") + "x", "unexpected data after the document");
  expect_invalid_json(with_input(R"("x")") + "[]", "unexpected data after the document");
  expect_invalid_json("", "empty");
}

TEST(EmbeddingsRequest, InvalidUtf8) {
  expect_invalid_json(with_input("\"caf\xe9\""), "UTF-8");
  expect_invalid_json(with_input("[\"ok\",\"\xff\"]"), "UTF-8");
}

TEST(EmbeddingsRequest, NestingDeeperThanMaxDepth) {
  // body (1) > input array (2) > token-id array (3)
  must_parse(with_input("[[1]]"), 3);
  expect_invalid_json(with_input("[[1]]"), "nesting deeper than 2", 2);
  expect_invalid_json(std::string(1000, '['), "nesting deeper than 64");
}

TEST(EmbeddingsRequest, NonObjectBody) {
  for (const char* body : {"[\"x\"]", "\"x\"", "1", "null"}) {
    core::ApiError e = must_fail(body);
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.code, "invalid_json");
    EXPECT_TRUE(e.message.starts_with("request body: expected a JSON object, got ")) << e.message;
  }
}
