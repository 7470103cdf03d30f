#include "tandem/models/artifact.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace tandem::models {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/" + name;
}

Artifact sample() {
  Artifact a;
  a.meta.kind = "recsys";
  a.meta.version = 2;
  a.meta.data_sha256 = "abc123";
  a.meta.metrics = {{"rmse", 0.85}, {"ndcg@10", 0.12}};
  a.meta.params = {{"factors", "64"}, {"seed", "7"}};
  a.payload = std::string("\0binary\xff payload", 16);
  return a;
}

TEST(Artifact, RoundTripsMetadataAndPayload) {
  std::string path = temp_path("model.tandem");
  write_artifact(path, sample());
  Artifact back = read_artifact(path, "recsys", 2);
  EXPECT_EQ(back.payload, sample().payload);
  EXPECT_EQ(back.meta.kind, "recsys");
  EXPECT_EQ(back.meta.version, 2);
  EXPECT_EQ(back.meta.data_sha256, "abc123");
  EXPECT_DOUBLE_EQ(back.meta.metrics.at("rmse"), 0.85);
  EXPECT_EQ(back.meta.params.at("factors"), "64");
  EXPECT_EQ(back.meta.created_utc.size(), 20u) << back.meta.created_utc;
  EXPECT_EQ(read_artifact_meta(path).metrics.size(), 2u);
}

TEST(Artifact, RefusesAnotherKindOrANewerVersion) {
  std::string path = temp_path("kind.tandem");
  write_artifact(path, sample());
  try {
    read_artifact(path, "text");
    FAIL();
  } catch (const ArtifactError& e) {
    EXPECT_NE(std::string(e.what()).find("is a 'recsys' model, expected 'text'"),
              std::string::npos);
  }
  EXPECT_THROW(read_artifact(path, "recsys", 1), ArtifactError);
}

TEST(Artifact, RefusesCorruptAndTruncatedFiles) {
  std::string path = temp_path("corrupt.tandem");
  write_artifact(path, sample());
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& b) { std::ofstream(path, std::ios::binary) << b; };
  std::string flipped = bytes;
  flipped[flipped.size() - 8] ^= 0x40;  // a payload byte
  write(flipped);
  EXPECT_THROW(read_artifact(path), ArtifactError);
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{20}, bytes.size() - 1}) {
    write(bytes.substr(0, cut));
    try {
      read_artifact(path);
      FAIL() << "cut at " << cut;
    } catch (const ArtifactError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  write("not a model");
  EXPECT_THROW(read_artifact_meta(path), ArtifactError);
  EXPECT_THROW(read_artifact(temp_path("absent.tandem")), ArtifactError);
}

TEST(Artifact, HashesFiles) {
  std::string path = temp_path("data.txt");
  std::ofstream(path) << "abc";
  EXPECT_EQ(sha256_file(path), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(sha256_files({path, path}), sha256_file(path));
}

}  // namespace
}  // namespace tandem::models
