// The recommender in a model artifact: a round trip keeps every number, and a payload or file
// that is corrupt, truncated or of another kind is refused with a clear error, never a crash.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "recsys_test_support.h"
#include "tandem/models/artifact.h"
#include "tandem/models/recsys/mf_artifact.h"
#include "tandem/models/recsys/mf_training.h"

namespace tandem::models::recsys {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/" + name;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

MfModel tiny() {
  return MfModel(testing::tiny_parameters());
}

void put_u32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Offsets of the tiny model's payload (3 users, 5 items, 2 factors, 3 interactions).
constexpr std::size_t kUserIds = 56;
constexpr std::size_t kItemIds = kUserIds + 4 * 3;
constexpr std::size_t kUserBias = kItemIds + 4 * 5;
constexpr std::size_t kItemBias = kUserBias + 4 * 3;
constexpr std::size_t kUserFactors = kItemBias + 4 * 5;
constexpr std::size_t kItemFactors = kUserFactors + 4 * 2 * 3;
constexpr std::size_t kOffsets = kItemFactors + 4 * 2 * 5;
constexpr std::size_t kRatedItems = kOffsets + 8 * 4;
constexpr std::size_t kRatedValues = kRatedItems + 4 * 3;
constexpr std::size_t kEnd = kRatedValues + 4 * 3;

TEST(RecsysArtifact, PayloadLayoutIsAsDocumented) {
  const std::string payload = encode_payload(tiny());
  ASSERT_EQ(payload.size(), kEnd);
  EXPECT_EQ(payload.size(), 64u + 16 * 3 + 8 * 5 + 4 * 2 * (3 + 5) + 8 * 3);
  EXPECT_EQ(payload.substr(0, 8), "TDMRECMF");
  std::uint32_t item8 = 0;
  std::memcpy(&item8, payload.data() + kItemIds + 16, 4);  // little-endian host
  EXPECT_EQ(item8, 8u);
  float bias8 = 0;
  std::memcpy(&bias8, payload.data() + kItemBias + 16, 4);
  EXPECT_EQ(bias8, 0.25f);
}

TEST(RecsysArtifact, RoundTripKeepsEveryNumber) {
  const auto data = testing::low_rank_ratings(30, 40, 2, 0.4, 0.1, 8);
  TrainOptions o = TrainOptions::explicit_defaults();
  o.iterations = 20;
  o.burn_in = 5;
  const MfModel model = train(data, o);
  const std::string path = temp_path("recsys.tandem");
  save_model(path, model, o, {{"rmse", 0.5}}, "feedbeef");
  const MfModel back = load_model(path);
  EXPECT_EQ(encode_payload(back), encode_payload(model));
  EXPECT_EQ(back.top_n(3, 5), model.top_n(3, 5));
  EXPECT_EQ(back.similar_items(105, 5), model.similar_items(105, 5));
  EXPECT_FLOAT_EQ(back.predict(4, 110), model.predict(4, 110));
  const ArtifactMeta meta = read_artifact_meta(path);
  EXPECT_EQ(meta.kind, "recsys");
  EXPECT_EQ(meta.version, kPayloadVersion);
  EXPECT_EQ(meta.data_sha256, "feedbeef");
  EXPECT_DOUBLE_EQ(meta.metrics.at("rmse"), 0.5);
  EXPECT_EQ(meta.params.at("algorithm"), "gibbs");
  EXPECT_EQ(meta.params.at("feedback"), "explicit");
  EXPECT_EQ(meta.params.at("users"), "30");
  EXPECT_EQ(meta.params.at("interactions"), std::to_string(data.size()));

  // Implicit too.
  TrainOptions i = TrainOptions::implicit_defaults();
  i.iterations = 3;
  const MfModel implicit = train(data, i);
  save_model(path, implicit, i);
  EXPECT_EQ(encode_payload(load_model(path)), encode_payload(implicit));
  EXPECT_EQ(load_model(path).feedback(), Feedback::kImplicit);
  EXPECT_THROW(to_artifact(implicit, o), RecsysError);  // options of another kind
}

TEST(RecsysArtifact, RefusesCorruptPayloads) {
  const std::string good = encode_payload(tiny());
  ASSERT_NO_THROW(decode_payload(good));
  const auto refused = [&](const std::function<void(std::string&)>& change,
                           const std::string& expected) {
    std::string bad = good;
    change(bad);
    const std::string message = error_of([&] { decode_payload(bad); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(message.rfind("recsys payload: ", 0), 0u) << message;
  };
  refused([](std::string& s) { s.clear(); }, "byte 0: truncated");
  refused([](std::string& s) { s.resize(40); }, "truncated");
  refused([](std::string& s) { s.pop_back(); }, "does not match the payload's");
  refused([](std::string& s) { s.push_back('\0'); }, "does not match the payload's");
  refused([](std::string& s) { s[0] = 'X'; }, "byte 0: not a recsys payload");
  refused([](std::string& s) { put_u32(s, 8, 2); }, "byte 8: layout version 2");
  refused([](std::string& s) { s[12] = 5; }, "byte 12: feedback 5");
  refused([](std::string& s) { s[14] = 1; }, "reserved");
  refused([](std::string& s) { put_u32(s, 16, 0); }, "byte 16: factors 0");
  refused([](std::string& s) { put_u32(s, 16, 4096); }, "factors 4096");
  refused([](std::string& s) { put_u32(s, 20, 4); }, "does not match");
  refused([](std::string& s) { put_u32(s, 32, 0xFFFFFFFFu); }, "does not match");
  refused([](std::string& s) { put_u32(s, 40, std::bit_cast<std::uint32_t>(std::nanf(""))); },
          "byte 40: global mean is not a finite number");
  refused([](std::string& s) { put_u32(s, 48, std::bit_cast<std::uint32_t>(-1.0f)); },
          "rating range");
  refused([](std::string& s) { put_u32(s, kUserIds + 4, 10); },
          "user ids are not strictly increasing");
  refused([](std::string& s) { put_u32(s, kItemIds, 9); }, "item ids are not strictly increasing");
  refused(
      [](std::string& s) { put_u32(s, kItemFactors + 8, std::bit_cast<std::uint32_t>(INFINITY)); },
      "byte " + std::to_string(kItemFactors + 8) + ": an item factor is not a finite number");
  refused([](std::string& s) { put_u32(s, kOffsets + 8, 5); }, "user offset 1");
  refused([](std::string& s) { put_u32(s, kOffsets, 1); }, "user offset 0");
  refused([](std::string& s) { put_u32(s, kRatedItems + 4, 5); },
          "interaction item index 5 is not below 5");
  refused([](std::string& s) { put_u32(s, kRatedItems, 2); }, "not strictly increasing");
  refused([](std::string& s) { put_u32(s, kRatedValues, 0x7FC00000u); }, "interaction value");
}

TEST(RecsysArtifact, NoSingleByteChangeCrashes) {
  // Every byte of the payload set to three other values: each result either decodes to a valid
  // model or is refused with a RecsysError (run under ASan/UBSan too).
  const std::string good = encode_payload(tiny());
  int refused = 0;
  for (std::size_t at = 0; at < good.size(); ++at) {
    for (const unsigned char v : {0x00, 0x7F, 0xFF}) {
      std::string bad = good;
      if (static_cast<unsigned char>(bad[at]) == v) continue;
      bad[at] = static_cast<char>(v);
      try {
        const MfModel m = decode_payload(bad);
        // A model that decodes must also answer.
        (void)m.recommend(10, 3);
        (void)m.similar_items(m.parameters().item_ids[0], 3);
      } catch (const RecsysError&) {
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 100);
}

TEST(RecsysArtifact, RefusesAnotherKindAndCorruptFiles) {
  const std::string path = temp_path("kinds.tandem");
  Artifact text = to_artifact(tiny(), TrainOptions::explicit_defaults());
  text.meta.kind = "text";
  write_artifact(path, text);
  std::string message = error_of([&] { load_model(path); });
  EXPECT_NE(message.find("is a 'text' model, expected 'recsys'"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { from_artifact(text); }).find("of kind 'text'"), std::string::npos);

  Artifact newer = to_artifact(tiny(), TrainOptions::explicit_defaults());
  newer.meta.version = kPayloadVersion + 1;
  EXPECT_NE(error_of([&] { from_artifact(newer); }).find("payload version 2"), std::string::npos);

  Artifact lying = to_artifact(tiny(), TrainOptions::explicit_defaults());
  lying.meta.params["feedback"] = "implicit";
  EXPECT_NE(error_of([&] { from_artifact(lying); }).find("metadata says feedback 'implicit'"),
            std::string::npos);

  // A payload that passes the file's CRC but not the payload checks: the error names the file.
  Artifact broken = to_artifact(tiny(), TrainOptions::explicit_defaults());
  broken.payload[0] = 'X';
  write_artifact(path, broken);
  message = error_of([&] { load_model(path); });
  EXPECT_NE(message.find(path + ": recsys payload: byte 0"), std::string::npos) << message;

  // A flipped byte in the file: the CRC catches it.
  save_model(path, tiny(), TrainOptions::explicit_defaults());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-10, std::ios::end);
    f.put('\x55');
  }
  EXPECT_THROW(load_model(path), ArtifactError);
  EXPECT_THROW(load_model(temp_path("missing.tandem")), ArtifactError);
}

}  // namespace
}  // namespace tandem::models::recsys
