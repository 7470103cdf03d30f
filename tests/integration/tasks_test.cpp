// POST /v1/tasks/<name>, GET /v1/tasks and reloads: real trained models (small, synthetic data)
// behind the real gateway on loopback.
#include <dlib/image_io.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "gateway_fixture.h"
#include "tandem/core/base64.h"
#include "tandem/datasets/data_files.h"
#include "tandem/models/recsys/mf_artifact.h"
#include "tandem/models/text/text_training.h"
#include "tandem/models/vision/vision_training.h"
#include "tandem/routing/cascade_fit.h"
#include "tandem/routing/learned_router.h"

namespace tandem::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// The models, each trained on first use (ctest runs every test in its own process: a test pays
// only for the models it serves), in a temp folder of this process.
struct Models {
  fs::path dir;
  fs::path recsys, recsys_other, text, vision;
  std::vector<std::uint8_t> class_two_image;  // a 28 x 28 vision input the model labels "bars"
};

// Ratings from two taste groups: users 1..30 like items 1..20, users 31..60 like 21..40.
std::vector<datasets::Rating> grouped_ratings(std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<datasets::Rating> out;
  for (std::uint32_t user = 1; user <= 60; ++user) {
    for (std::uint32_t item = 1; item <= 40; ++item) {
      bool own = (user <= 30) == (item <= 20);
      if (u(rng) > 0.5) continue;
      out.push_back({user, item, own ? 4.5f : 1.5f, static_cast<std::int64_t>(out.size())});
    }
  }
  return out;
}

fs::path train_recsys(const fs::path& dir, const char* name, std::uint32_t seed) {
  namespace rs = models::recsys;
  rs::TrainOptions o = rs::TrainOptions::sgd_defaults();
  o.factors = 4;
  o.iterations = 30;
  o.seed = seed;
  auto model = rs::train(grouped_ratings(seed), o);
  fs::path path = dir / name;
  rs::save_model(path.string(), model, o, {{"rmse", 0.5}}, "abc");
  return path;
}

fs::path train_text(const fs::path& dir) {
  const char* good[] = {"delicious", "tasty", "love", "perfect", "fresh", "wonderful"};
  const char* bad[] = {"stale", "awful", "broken", "bland", "expired", "terrible"};
  const char* filler[] = {"the", "coffee", "box", "arrived", "it", "was", "and", "taste"};
  std::mt19937 rng(3);
  fs::path csv = dir / "text.csv";
  std::ofstream out(csv);
  out << "text,label\n";
  for (int i = 0; i < 240; ++i) {
    bool positive = i % 2 == 0;
    std::string text;
    for (int w = 0; w < 8; ++w) text += std::string(filler[rng() % 8]) + " ";
    text += positive ? good[rng() % 6] : bad[rng() % 6];
    text += " " + std::string(filler[rng() % 8]);
    out << '"' << text << "\"," << (positive ? "great" : "other") << "\n";
  }
  out.close();
  models::text::TextTrainOptions o;
  o.train_csv = csv;
  o.validation_fraction = 0.25;
  auto artifact = models::text::train_text_classifier(o, {});
  fs::path path = dir / "text.tmd";
  models::write_artifact(path.string(), artifact);
  return path;
}

// Class 0: a bright horizontal bar; class 1: a bright vertical bar; class 2: two vertical bars.
std::vector<std::uint8_t> synthetic_image(int label, std::mt19937& rng) {
  std::vector<std::uint8_t> px(784);
  std::uniform_int_distribution<int> noise(0, 40), pos(6, 20);
  for (auto& p : px) p = static_cast<std::uint8_t>(noise(rng));
  int at = pos(rng);
  for (int i = 2; i < 26; ++i) {
    for (int w = 0; w < 3; ++w) {
      if (label == 0) px[(at + w) * 28 + i] = 230;
      if (label == 1) px[i * 28 + at + w] = 230;
      if (label == 2) {
        px[i * 28 + 4 + w] = 230;
        px[i * 28 + 21 + w] = 230;
      }
    }
  }
  return px;
}

fs::path train_vision(const fs::path& dir, std::vector<std::uint8_t>& sample) {
  std::mt19937 rng(5);
  datasets::ImageSet set;
  set.rows = set.cols = 28;
  for (int i = 0; i < 600; ++i) {
    int label = i % 3;
    auto px = synthetic_image(label, rng);
    set.pixels.insert(set.pixels.end(), px.begin(), px.end());
    set.labels.push_back(static_cast<std::uint8_t>(label));
  }
  sample = synthetic_image(2, rng);
  models::vision::VisionTrainOptions o;
  o.label_names = {"horizontal", "vertical", "bars"};
  o.epochs = 2;
  o.validation_fraction = 0.2;
  o.flip_augmentation = false;
  auto artifact = models::vision::train_image_classifier(set, o, {});
  fs::path path = dir / "vision.tmd";
  models::write_artifact(path.string(), artifact);
  return path;
}

Models& folder() {
  static Models m = [] {
    Models m;
    m.dir = fs::temp_directory_path() / ("tandem-tasks-test-" + std::to_string(::getpid()));
    fs::create_directories(m.dir);
    return m;
  }();
  return m;
}

Models& trained(bool recsys, bool text, bool vision) {
  Models& m = folder();
  if (recsys && m.recsys.empty()) {
    m.recsys = train_recsys(m.dir, "movies.tmd", 1);
    m.recsys_other = train_recsys(m.dir, "movies-other.tmd", 2);
  }
  if (text && m.text.empty()) m.text = train_text(m.dir);
  if (vision && m.vision.empty()) m.vision = train_vision(m.dir, m.class_two_image);
  return m;
}

class Tasks : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { fs::remove_all(folder().dir); }

  enum Kinds { kRecsys = 1, kText = 2, kVision = 4, kAll = 7 };

  // The tasks of the given kinds: movies and strict (recsys), sentiment (text), shapes (vision).
  static std::string config(int kinds, const std::string& server = "") {
    Models& m = trained(kinds & kRecsys, kinds & kText, kinds & kVision);
    std::string out = "[server]\nlog_level = \"error\"\n" + server;
    if (kinds & kRecsys) {
      fs::copy_file(m.recsys, m.dir / "serving.tmd", fs::copy_options::overwrite_existing);
      out += R"(
[tasks.movies]
kind = "recsys"
model = ")" + (m.dir / "serving.tmd").string() +
             R"("
top_n = 5
max_n = 10

[tasks.strict]
kind = "recsys"
model = ")" + m.recsys.string() +
             R"("
fallback = false
)";
    }
    if (kinds & kText) {
      out += R"(
[tasks.sentiment]
kind = "text"
model = ")" + m.text.string() +
             R"("
explain = 3
)";
    }
    if (kinds & kVision) {
      out += R"(
[tasks.shapes]
kind = "vision"
model = ")" + m.vision.string() +
             R"("
top_k = 2
max_image_bytes = 20000
)";
    }
    return out;
  }
};

json::object body_of(const HttpResult& r) {
  return json::parse(r.body).as_object();
}

std::string error_message(const HttpResult& r) {
  return std::string(json::parse(r.body).at("error").at("message").as_string());
}

TEST_F(Tasks, RecommendsWithReasonsAndNeverWhatTheUserRated) {
  Gateway g(config(kRecsys));
  HttpResult r = g.post("/v1/tasks/movies", R"({"input": {"user": 3}})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object b = body_of(r);
  EXPECT_EQ(b.at("object"), "task.result");
  EXPECT_EQ(b.at("task"), "movies");
  EXPECT_EQ(b.at("kind"), "recsys");
  const json::object& out = b.at("output").as_object();
  EXPECT_EQ(out.at("popularity_fallback"), false);
  EXPECT_EQ(out.at("score"), "predicted_rating");
  const json::array& items = out.at("items").as_array();
  ASSERT_EQ(items.size(), 5u);  // the task's top_n
  std::set<std::int64_t> rated;
  for (const auto& rt : grouped_ratings(1)) {
    if (rt.user == 3) rated.insert(rt.item);
  }
  for (const auto& item : items) {
    std::int64_t id = item.at("item").as_int64();
    EXPECT_FALSE(rated.contains(id)) << id;
    EXPECT_LE(id, 20) << "user 3 likes items 1..20";  // the learnt taste group
    EXPECT_TRUE(item.as_object().contains("because"));
  }
  EXPECT_EQ(b.at("model").at("kind"), "recsys");
  EXPECT_EQ(b.at("model").at("data_sha256"), "abc");
  EXPECT_GE(b.at("timing").at("inference_us").as_int64(), 0);
  EXPECT_FALSE(b.contains("confidence"));
  EXPECT_EQ(g.metric("tandem_task_requests_total{task=\"movies\",outcome=\"ok\"}"), 1);
}

TEST_F(Tasks, RecommenderCountsFallbackAndSimilarItems) {
  Gateway g(config(kRecsys));
  HttpResult r = g.post("/v1/tasks/movies", R"({"input": {"user": 3}, "n": 10, "explain": 0})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("output").at("items").as_array().size(), 10u);
  EXPECT_FALSE(body_of(r).at("output").at("items").as_array()[0].as_object().contains("because"));

  r = g.post("/v1/tasks/movies", R"({"input": {"user": 999}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("output").at("popularity_fallback"), true);
  EXPECT_EQ(body_of(r).at("output").at("score"), "interactions");

  r = g.post("/v1/tasks/strict", R"({"input": {"user": 999}})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_message(r),
            "input.user: user 999 is not in the model and this task has no popularity fallback");

  r = g.post("/v1/tasks/movies", R"({"input": {"item": 2}, "n": 3})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object similar_body = body_of(r);
  const json::array& similar = similar_body.at("output").at("similar").as_array();
  ASSERT_EQ(similar.size(), 3u);
  for (const auto& s : similar) EXPECT_LE(s.at("item").as_int64(), 20);

  r = g.post("/v1/tasks/movies", R"({"input": {"item": 4000}})");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(error_message(r), "input.item: item 4000 is not in the model (40 items known)");
  r = g.post("/v1/tasks/movies", R"({"input": {"user": 1}, "n": 11})");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(error_message(r), "n: must be between 1 and 10");
  EXPECT_EQ(g.metric("tandem_task_requests_total{task=\"movies\",outcome=\"invalid_input\"}"), 2);
}

TEST_F(Tasks, TextLabelConfidenceAndExplanation) {
  Gateway g(config(kText));
  HttpResult r = g.post("/v1/tasks/sentiment",
                        R"({"input": "the coffee arrived and it was delicious and fresh"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object b = body_of(r);
  const json::object& out = b.at("output").as_object();
  EXPECT_EQ(out.at("label"), "great");
  double confidence = out.at("confidence").as_double();
  EXPECT_GT(confidence, 0.5);
  EXPECT_DOUBLE_EQ(b.at("confidence").as_double(), confidence);
  double sum = 0;
  for (const auto& [label, p] : out.at("probabilities").as_object()) sum += p.as_double();
  EXPECT_NEAR(sum, 1.0, 1e-5);
  const json::array& why = out.at("explanation").as_array();
  ASSERT_FALSE(why.empty());
  ASSERT_LE(why.size(), 3u);  // the task's explain setting
  std::set<std::string> tokens;
  for (const auto& t : why) tokens.insert(std::string(t.at("token").as_string()));
  EXPECT_TRUE(tokens.contains("delicious") || tokens.contains("fresh")) << r.body;

  r = g.post("/v1/tasks/sentiment", R"({"input": {"text": "stale and awful"}, "explain": 0})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("output").at("label"), "other");
  EXPECT_TRUE(body_of(r).at("output").at("explanation").as_array().empty());

  r = g.post("/v1/tasks/sentiment", R"({"input": "   "})");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(error_message(r), "input: must not be empty or only whitespace");
  r = g.post("/v1/tasks/sentiment", R"({"input": ["a"]})");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(error_message(r), "input: expected a string or an object of input fields, got array");
}

std::string png_of(const std::vector<std::uint8_t>& px, const fs::path& dir) {
  dlib::array2d<unsigned char> img(28, 28);
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) img[r][c] = px[r * 28 + c];
  fs::path file = dir / "sample.png";
  dlib::save_png(img, file.string());
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(Tasks, VisionFromPixelsBase64AndMultipartAgree) {
  Gateway g(config(kVision));
  Models& m = folder();
  std::string pixels = "[";
  for (std::size_t i = 0; i < 784; ++i)
    pixels += (i ? "," : "") + std::to_string(m.class_two_image[i]);
  pixels += "]";
  HttpResult r = g.post("/v1/tasks/shapes", R"({"input": {"pixels": )" + pixels + "}}");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object b = body_of(r);
  EXPECT_EQ(b.at("output").at("label"), "bars");
  const json::array& labels = b.at("output").at("labels").as_array();
  ASSERT_EQ(labels.size(), 2u);  // the task's top_k
  EXPECT_GE(labels[0].at("probability").as_double(), labels[1].at("probability").as_double());

  std::string png = png_of(m.class_two_image, m.dir);
  r = g.post("/v1/tasks/shapes",
             R"({"input": {"image": ")" + core::base64_encode(png) + R"("}, "top_k": 3})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("output").at("label"), "bars");
  EXPECT_EQ(body_of(r).at("output").at("labels").as_array().size(), 3u);
  EXPECT_NEAR(body_of(r).at("confidence").as_double(), b.at("confidence").as_double(), 1e-6);

  std::string form =
      "--XX\r\nContent-Disposition: form-data; name=\"image\"; filename=\"s.png\"\r\n"
      "Content-Type: image/png\r\n\r\n" +
      png + "\r\n--XX--\r\n";
  r = g.post("/v1/tasks/shapes", form, {{"Content-Type", "multipart/form-data; boundary=XX"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("output").at("label"), "bars");
}

TEST_F(Tasks, VisionRefusesWhatIsNotAnImage) {
  Gateway g(config(kVision));
  HttpResult r =
      g.post("/v1/tasks/shapes",
             R"({"input": {"image": ")" + core::base64_encode("hello, not an image") + R"("}})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_message(r), "input.image: not a PNG or JPEG image");
  std::string png = png_of(folder().class_two_image, folder().dir);
  r = g.post("/v1/tasks/shapes", R"({"input": {"image": ")" +
                                     core::base64_encode(png.substr(0, png.size() / 2)) + R"("}})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_NE(error_message(r).find("input.image: corrupt PNG"), std::string::npos) << r.body;
  r = g.post("/v1/tasks/shapes",
             R"({"input": {"image": ")" + core::base64_encode(std::string(30000, 'x')) + R"("}})");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(error_message(r), "input.image: image is 30000 bytes; this task accepts at most 20000");
}

TEST_F(Tasks, ListUnknownAndWrongMethod) {
  Gateway g(config(kAll));
  HttpResult r = g.get("/v1/tasks");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object list = body_of(r);
  const json::array& data = list.at("data").as_array();
  ASSERT_EQ(data.size(), 4u);
  std::map<std::string, json::object> by_id;
  for (const auto& t : data) by_id[std::string(t.at("id").as_string())] = t.as_object();
  EXPECT_EQ(by_id["movies"].at("kind"), "recsys");
  EXPECT_EQ(by_id["movies"].at("details").at("users").to_number<int>(), 60);
  EXPECT_EQ(by_id["sentiment"].at("details").at("labels").as_array().size(), 2u);
  EXPECT_EQ(by_id["shapes"].at("details").at("labels").as_array()[2], "bars");
  EXPECT_EQ(by_id["shapes"].at("reloads").to_number<int>(), 0);

  r = g.post("/v1/tasks/nope", "{}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_message(r), "no task named 'nope'");
  EXPECT_EQ(g.get("/v1/tasks/movies").status, 405);
  EXPECT_EQ(g.post("/v1/tasks/movies/extra/path", "{}").status, 404);
  EXPECT_EQ(g.post("/v1/tasks/", "{}").status, 404);
}

TEST_F(Tasks, ReloadSwapsTheModelAndAFailedReloadKeepsTheOldOne) {
  Gateway g(config(kRecsys));
  Models& m = folder();
  const std::string ask = R"({"input": {"user": 3}, "n": 10, "explain": 0})";
  std::string before = json::serialize(body_of(g.post("/v1/tasks/movies", ask)).at("output"));
  fs::copy_file(m.recsys_other, m.dir / "serving.tmd", fs::copy_options::overwrite_existing);
  HttpResult r = g.post("/v1/tasks/movies/reload", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("reloads").to_number<int>(), 1);
  EXPECT_EQ(body_of(r).at("model").at("kind"), "recsys");
  std::string after = json::serialize(body_of(g.post("/v1/tasks/movies", ask)).at("output"));
  EXPECT_NE(before, after);  // another seed, other factors and other ratings

  // A corrupt file: the reload fails with the reason and the loaded model keeps answering.
  {
    std::fstream f(m.dir / "serving.tmd", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  r = g.post("/v1/tasks/movies/reload", "");
  ASSERT_EQ(r.status, 500) << r.body;
  EXPECT_NE(error_message(r).find("reload failed; the previous model keeps serving: "),
            std::string::npos)
      << r.body;
  EXPECT_EQ(json::parse(r.body).at("error").at("code"), "model_load_failed");
  r = g.post("/v1/tasks/movies", ask);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::serialize(body_of(r).at("output")), after);
  EXPECT_EQ(g.metric("tandem_task_reloads_total{task=\"movies\",outcome=\"failed\"}"), 1);

  // SIGHUP's path: every task reloaded, one line each.
  auto lines = g.gateway->reload_tasks();
  ASSERT_EQ(lines.size(), 2u);  // movies and strict
  int failed = 0;
  for (const auto& l : lines) failed += l.find("reload failed") != std::string::npos;
  EXPECT_EQ(failed, 1);  // movies, still corrupt
}

TEST_F(Tasks, ConcurrentRequestsAllAnswerAsOneAtATime) {
  Gateway g(config(kRecsys | kText, "task_workers = 2\n"), 4);
  const std::string text_ask = R"({"input": "fresh and delicious coffee"})";
  const std::string rec_ask = R"({"input": {"user": 40}})";
  std::string text_one =
      json::serialize(body_of(g.post("/v1/tasks/sentiment", text_ask)).at("output"));
  std::string rec_one = json::serialize(body_of(g.post("/v1/tasks/movies", rec_ask)).at("output"));
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 25; ++i) {
        bool text = (c + i) % 2 == 0;
        HttpResult r =
            g.post(text ? "/v1/tasks/sentiment" : "/v1/tasks/movies", text ? text_ask : rec_ask);
        if (r.status != 200) {
          failures.fetch_add(1);
          continue;
        }
        std::string out = json::serialize(body_of(r).at("output"));
        if (out != (text ? text_one : rec_one)) mismatches.fetch_add(1);
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(Tasks, StartFailsNamingAMissingOrMismatchedArtifact) {
  Models& m = trained(true, false, false);
  try {
    Gateway g("[tasks.t]\nkind = \"text\"\nmodel = \"" + (m.dir / "missing.tmd").string() + "\"\n");
    FAIL() << "started without its model";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("missing.tmd"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("task 't'"), std::string::npos) << e.what();
  }
  try {
    Gateway g("[tasks.t]\nkind = \"text\"\nmodel = \"" + m.recsys.string() + "\"\n");
    FAIL() << "served a recommender as a text classifier";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("movies.tmd"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("recsys"), std::string::npos) << e.what();
  }
}

// ---- Hybrid tasks: tailored and LLM variants under one policy ----------------------------------

// A labels task "review" over the trained text model ("fast") and an LLM on the mock ("llm",
// model "m" with prices), with the given policy and extra settings.
std::string hybrid_config(const std::string& policy, const std::string& llm_extra = "",
                          const std::string& task_extra = "") {
  Models& m = trained(false, true, false);
  return R"([server]
log_level = "error"

[providers.up]
kind = "openai"
base_url = "{MOCK}"
max_retries = 0
input_price_per_mtok = 1
output_price_per_mtok = 2

[models.m]
routes = [{ provider = "up", model = "gpt-mock" }]

[tasks.review]
labels = ["great", "other"]
)" + task_extra +
         R"(
[tasks.review.variants.fast]
kind = "tailored"
artifact = ")" +
         m.text.string() +
         R"("

[tasks.review.variants.llm]
kind = "llm"
model = "m"
system = "Label the review as {{ labels | join(' or ') }}."
template = "Review: {{ text }}"
)" + llm_extra +
         "\n" + policy;
}

const char* kClearlyGood = R"({"input": "the coffee arrived and it was delicious and fresh"})";
const char* kUnsure = R"({"input": "the box arrived"})";

TEST_F(Tasks, HybridCascadeAcceptsASureTailoredAnswerAndEscalatesAnUnsureOne) {
  // Threshold 0: the tailored model's answer always stands; no LLM call.
  {
    Gateway g(
        hybrid_config("[tasks.review.policy]\nkind = \"cascade\"\nvariants = [\"fast\", \"llm\"]\n"
                      "thresholds = [0.0]\n"));
    auto r = g.post("/v1/tasks/review", kClearlyGood);
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = body_of(r);
    EXPECT_EQ(body.at("variant"), "fast");
    EXPECT_EQ(body.at("output").at("label"), "great");
    EXPECT_EQ(body.at("route").at("policy"), "cascade");
    EXPECT_EQ(body.at("route").at("steps").as_array().size(), 1u);
    EXPECT_EQ(body.at("usage").at("total_tokens"), 0);
    EXPECT_EQ(body.at("cost_usd"), "0");
    EXPECT_EQ(g.mock.request_count(), 0u);
    EXPECT_EQ(r.header("x-tandem-variant"), "fast");
    EXPECT_EQ(r.header("x-tandem-route").rfind("cascade: fast ", 0), 0u)
        << r.header("x-tandem-route");
  }
  // Threshold 0.99 and a review without a sentiment word: not sure enough; the LLM answers,
  // with its confidence from logprobs, its tokens and its cost.
  Gateway g(
      hybrid_config("[tasks.review.policy]\nkind = \"cascade\"\nvariants = [\"fast\", \"llm\"]\n"
                    "thresholds = [0.99]\n"));
  Script answer;
  answer.content = R"({"label": "other"})";
  answer.logprob = -0.1;
  g.mock.push(answer);
  auto r = g.post("/v1/tasks/review", kUnsure);
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = body_of(r);
  EXPECT_EQ(body.at("variant"), "llm");
  EXPECT_EQ(body.at("output").at("label"), "other");
  // The label's one token (the mock's "word" `"other"}`) at logprob -0.1.
  EXPECT_NEAR(body.at("confidence").as_double(), std::exp(-0.1), 1e-9);
  auto steps = body.at("route").at("steps").as_array();
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].at("variant"), "fast");
  EXPECT_EQ(steps[0].at("accepted"), false);
  EXPECT_EQ(steps[0].at("threshold").as_double(), 0.99);
  EXPECT_LT(steps[0].at("confidence").as_double(), 0.99);
  EXPECT_EQ(steps[1].at("variant"), "llm");
  EXPECT_EQ(steps[1].at("accepted"), true);
  EXPECT_EQ(steps[1].at("answered_by"), "up:gpt-mock");
  EXPECT_GT(body.at("usage").at("total_tokens").as_int64(), 0);
  EXPECT_NE(body.at("cost_usd"), "0");
  EXPECT_EQ(r.header("x-tandem-cost-usd"), body.at("cost_usd").as_string());
  std::string route = r.header("x-tandem-route");
  EXPECT_NE(route.find("fast"), std::string::npos) << route;
  EXPECT_NE(route.find("escalated > llm"), std::string::npos) << route;
  // The LLM saw the rendered prompt, the label schema as response_format, and asked for logprobs.
  auto sent = json::parse(g.mock.received().back().body).as_object();
  EXPECT_EQ(sent.at("model"), "gpt-mock");
  EXPECT_EQ(sent.at("logprobs"), true);
  EXPECT_EQ(sent.at("response_format").at("type"), "json_schema");
  auto messages = sent.at("messages").as_array();
  EXPECT_EQ(messages[0].at("content"), "Label the review as great or other.");
  EXPECT_EQ(messages.back().at("content"), "Review: the box arrived");
  EXPECT_EQ(g.metric("tandem_task_variant_runs_total{task=\"review\",variant=\"fast\",outcome="
                     "\"escalated\"}"),
            1);
}

TEST_F(Tasks, HybridRetriesAContractBreakingReplyOnceThenFallsBack) {
  Gateway g(hybrid_config("[tasks.review.policy]\nvariants = [\"llm\"]\nfallback = [\"fast\"]\n",
                          "confidence = \"none\"\n"));
  // A chatty reply, then a valid one: answered after one retry that quotes the problem.
  Script chatty;
  chatty.content = "Well, I would say it is rather nice overall!";
  Script valid;
  valid.content = R"({"label": "great"})";
  g.mock.push(chatty);
  g.mock.push(valid);
  auto r = g.post("/v1/tasks/review", kClearlyGood);
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = body_of(r);
  EXPECT_EQ(body.at("variant"), "llm");
  EXPECT_FALSE(body.contains("confidence"));
  auto step = body.at("route").at("steps").as_array()[0];
  EXPECT_EQ(step.at("calls"), 2);
  EXPECT_NE(std::string(step.at("note").as_string()).find("retried once"), std::string::npos);
  auto retry = json::parse(g.mock.received().back().body).as_object();
  auto turns = retry.at("messages").as_array();
  EXPECT_EQ(turns[turns.size() - 2].at("role"), "assistant");
  EXPECT_EQ(turns[turns.size() - 2].at("content").as_string(), chatty.content);

  // Invalid twice: the LLM variant fails and the fallback (the tailored model) answers.
  g.mock.push(chatty);
  g.mock.push(chatty);
  r = g.post("/v1/tasks/review", kClearlyGood);
  ASSERT_EQ(r.status, 200) << r.body;
  body = body_of(r);
  EXPECT_EQ(body.at("variant"), "fast");
  auto steps = body.at("route").at("steps").as_array();
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].at("ok"), false);
  EXPECT_NE(std::string(steps[0].at("error").as_string()).find("broke the task's contract twice"),
            std::string::npos)
      << steps[0];
  EXPECT_EQ(steps[1].at("fallback"), true);

  // An upstream outage: the fallback answers too.
  Script down;
  down.status = 500;
  g.mock.push(down);
  r = g.post("/v1/tasks/review", kClearlyGood);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("variant"), "fast");
}

TEST_F(Tasks, HybridWithoutFallbackReportsEveryFailure) {
  Gateway g(
      hybrid_config("[tasks.review.policy]\nvariants = [\"llm\"]\n", "confidence = \"none\"\n"));
  Script down;
  down.status = 500;
  g.mock.push(down);
  auto r = g.post("/v1/tasks/review", kClearlyGood);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.header("x-tandem-route").find("llm failed"), std::string::npos);
  // Bad input is the client's error, before any variant runs.
  r = g.post("/v1/tasks/review", R"({"input": {"title": "x"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_message(r), "input.title: unknown field (this task takes text)");
  EXPECT_EQ(g.mock.request_count(), 1u);
}

TEST_F(Tasks, HybridRulesRouteByStakesAndExplanation) {
  Gateway g(hybrid_config(R"([tasks.review.policy]
kind = "cascade"
variants = ["fast", "llm"]
thresholds = [0.0]

[[tasks.review.rules]]
when = { stakes = ["high"] }
use = ["llm", "fast"]

[[tasks.review.rules]]
when = { explain = true }
use = ["fast"]
)",
                          "confidence = \"none\"\n"));
  Script valid;
  valid.content = R"({"label": "other"})";
  g.mock.push(valid);
  auto r = g.post("/v1/tasks/review",
                  R"({"input": "delicious", "context": {"stakes": "high", "explain": true}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = body_of(r);
  EXPECT_EQ(body.at("variant"), "llm");  // the first matching rule wins
  EXPECT_EQ(body.at("route").at("policy"), "rule");
  EXPECT_EQ(body.at("route").at("reason"), "rule 1 (stakes=high)");

  r = g.post("/v1/tasks/review", R"({"input": "delicious", "context": {"explain": true}})");
  ASSERT_EQ(r.status, 200) << r.body;
  body = body_of(r);
  EXPECT_EQ(body.at("variant"), "fast");
  EXPECT_EQ(body.at("route").at("reason"), "rule 2 (explain=true)");
  EXPECT_FALSE(body.at("output").at("explanation").as_array().empty());

  r = g.post("/v1/tasks/review", R"({"input": "delicious", "context": {"stakes": "low"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("route").at("policy"), "cascade");
  EXPECT_EQ(g.mock.request_count(), 1u);

  r = g.post("/v1/tasks/review", R"({"input": "x", "context": {"stakes": "extreme"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_message(r), "context.stakes: must be one of low, medium, high");
}

TEST_F(Tasks, HybridSplitIsStickyPerUser) {
  Gateway g(
      hybrid_config("[tasks.review.policy]\nkind = \"split\"\nvariants = [\"fast\", \"llm\"]\n"
                    "weights = [1, 1]\n",
                    "confidence = \"none\"\n"));
  std::map<std::string, std::set<std::string>> arms;  // user -> variants seen
  std::set<std::string> all;
  for (int user = 0; user < 12; ++user) {
    for (int i = 0; i < 3; ++i) {
      Script valid;
      valid.content = R"({"label": "great"})";
      g.mock.push(valid);
      auto r = g.post("/v1/tasks/review", R"({"input": "tasty", "context": {"user": "u)" +
                                              std::to_string(user) + R"("}})");
      ASSERT_EQ(r.status, 200) << r.body;
      std::string variant(body_of(r).at("variant").as_string());
      arms["u" + std::to_string(user)].insert(variant);
      all.insert(variant);
    }
  }
  for (const auto& [user, seen] : arms) EXPECT_EQ(seen.size(), 1u) << user;
  EXPECT_EQ(all.size(), 2u);  // 12 users on a fair split: both arms (fails with p = 2^-11)
}

TEST_F(Tasks, HybridAgreementOfSamplesIsTheConfidence) {
  Gateway g(
      hybrid_config("[tasks.review.policy]\nvariants = [\"llm\"]\n",
                    "temperature = 0.8\nconfidence = \"agreement\"\nsamples = 3\nseed = 7\n"));
  for (const char* label : {"great", "other", "great"}) {
    Script s;
    s.content = std::string(R"({"label": ")") + label + "\"}";
    g.mock.push(s);
  }
  auto r = g.post("/v1/tasks/review", kClearlyGood);
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = body_of(r);
  EXPECT_EQ(body.at("output").at("label"), "great");
  EXPECT_NEAR(body.at("confidence").as_double(), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(body.at("route").at("steps").as_array()[0].at("calls"), 3);
  // Each sample its own seed, all at the configured temperature.
  std::set<std::int64_t> seeds;
  for (const auto& req : g.mock.received()) {
    auto o = json::parse(req.body).as_object();
    seeds.insert(o.at("seed").as_int64());
    EXPECT_EQ(o.at("temperature").as_double(), 0.8);
  }
  EXPECT_EQ(seeds, (std::set<std::int64_t>{7, 8, 9}));
}

TEST_F(Tasks, HybridRecordsEveryAnswer) {
  fs::path records = folder().dir / "records" / "review.jsonl";
  fs::remove(records);
  {
    Gateway g(
        hybrid_config("[tasks.review.policy]\nkind = \"cascade\"\nvariants = [\"fast\", \"llm\"]\n"
                      "thresholds = [0.99]\n",
                      "confidence = \"none\"\n", "record = \"" + records.string() + "\"\n"));
    Script valid;
    valid.content = R"({"label": "great"})";
    g.mock.push(valid);
    ASSERT_EQ(
        g.post("/v1/tasks/review", R"({"input": "the box", "context": {"user": "ann"}})").status,
        200);
  }  // the gateway's end writes what is queued
  std::ifstream in(records);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  auto record = json::parse(line).as_object();
  EXPECT_EQ(record.at("task"), "review");
  EXPECT_EQ(record.at("input").at("text"), "the box");
  EXPECT_EQ(record.at("context").at("user"), "ann");
  EXPECT_EQ(record.at("variant"), "llm");
  EXPECT_EQ(record.at("output").at("label"), "great");
  auto variants = record.at("variants").as_array();
  ASSERT_EQ(variants.size(), 2u);
  EXPECT_EQ(variants[0].at("variant"), "fast");
  EXPECT_TRUE(variants[0].as_object().contains("output"));  // the unsure answer is kept too
  EXPECT_EQ(variants[1].at("output").at("label"), "great");
  EXPECT_FALSE(std::getline(in, line));
}

TEST_F(Tasks, ReplayProviderAnswersRecordedPromptsWithTheirCost) {
  fs::path csv = folder().dir / "recorded.csv";
  {
    std::ofstream out(csv);
    out << ",sample_id,prompt,eval_name,small,big,small|model_response,big|model_response,"
           "small|total_cost,big|total_cost,oracle_model_to_route_to\n";
    out << "0,q.1,\"['Which is a planet?\\nA) Sun\\nB) Mars']\",arc,0,1,A,B,0.0001,0.0025,big\n";
    out << "1,q.2,\"['Which is wet?\\nA) Water\\nB) Sand']\",arc,1,,A,,0.0001,,small\n";
  }
  Gateway g(R"([server]
log_level = "error"

[providers.recorded]
kind = "replay"
data = ")" + csv.string() +
            R"("

[models.big]
routes = [{ provider = "recorded", model = "big" }, { provider = "recorded", model = "small" }]

[tasks.arc]
labels = ["A", "B"]

[tasks.arc.variants.big]
kind = "llm"
model = "big"
template = "{{ text }}"
confidence = "none"
)");
  auto r = g.post("/v1/tasks/arc", R"({"input": "Which is a planet?\nA) Sun\nB) Mars"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = body_of(r);
  EXPECT_EQ(body.at("output").at("label"), "B");
  EXPECT_EQ(body.at("cost_usd"), "0.0025");  // what the recorded call cost
  EXPECT_EQ(body.at("route").at("steps").as_array()[0].at("answered_by"), "recorded:big");
  // "big" has no recorded answer for q.2: the model's next route (the small model) answers.
  r = g.post("/v1/tasks/arc", R"({"input": "Which is wet?\nA) Water\nB) Sand"})");
  ASSERT_EQ(r.status, 200) << r.body;
  body = body_of(r);
  EXPECT_EQ(body.at("output").at("label"), "A");
  EXPECT_EQ(body.at("route").at("steps").as_array()[0].at("answered_by"), "recorded:small");
  EXPECT_EQ(body.at("cost_usd"), "0.0001");
  // A prompt that was never recorded is the client's error.
  r = g.post("/v1/tasks/arc", R"({"input": "What is 2 + 2?"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("no recorded answer for this prompt"), std::string::npos) << r.body;
  // A model the recorded set does not have stops the start, naming it.
  try {
    Gateway bad("[providers.recorded]\nkind = \"replay\"\ndata = \"" + csv.string() +
                "\"\n[models.x]\nroutes = [{ provider = \"recorded\", model = \"huge\" }]\n");
    FAIL() << "started with a model the recorded set lacks";
  } catch (const std::exception& e) {
    EXPECT_EQ(std::string(e.what()),
              "model 'x': the recorded answers of provider 'recorded' have no model 'huge'");
  }
}

TEST_F(Tasks, HybridStartFailsOnTemplateAndSchemaErrors) {
  try {
    std::string toml = hybrid_config("[tasks.review.policy]\nvariants = [\"llm\"]\n");
    toml.replace(toml.find("{{ text }}"), 10, "{{ txt }}");
    Gateway g(toml);
    FAIL() << "started with a template reading an unknown variable";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("task 'review'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("txt"), std::string::npos) << e.what();
  }
  try {
    Gateway g(R"([server]
log_level = "error"
[providers.up]
kind = "openai"
base_url = "{MOCK}"
[models.m]
routes = [{ provider = "up", model = "x" }]
[tasks.extract]
contract = "json"
schema = '{"type": "object", "properties": {"when": {"type": "string", "format": "date"}}}'
[tasks.extract.variants.llm]
kind = "llm"
model = "m"
template = "{{ text }}"
)");
    FAIL() << "started with an unsupported schema keyword";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("format"), std::string::npos) << e.what();
  }
}

TEST_F(Tasks, HybridLearnedRouterSendsHardQueriesToTheLlm) {
  // Recorded outcomes: the tailored model is right unless the review talks about refunds, where
  // only the LLM is; the LLM costs 1000x more.
  std::vector<routing::RouterExample> examples;
  std::mt19937 rng(11);
  const char* words[] = {"coffee", "box", "taste", "arrived", "fresh", "cup", "bag", "morning"};
  for (int i = 0; i < 400; ++i) {
    bool hard = i % 2 == 0;
    std::string text;
    for (int w = 0; w < 6; ++w) text += std::string(words[rng() % 8]) + " ";
    if (hard) text += "refund please";
    routing::RouterExample e;
    e.text = text;
    e.correct = {hard ? 0.0 : 1.0, 1.0};
    e.cost = {0.000001, 0.001};
    examples.push_back(std::move(e));
  }
  routing::RouterOptions o;
  o.models = {"fast", "gpt-mock"};  // a variant's name, or its model's first upstream model
  auto trained = routing::train_router(examples, o);
  fs::path router = folder().dir / "router.tmd";
  trained.model.save(router.string(), {});
  Gateway g(
      hybrid_config("[tasks.review.policy]\nkind = \"router\"\nvariants = [\"fast\", "
                    "\"llm\"]\ncost_weight = 0.3\nrouter = \"" +
                        router.string() + "\"\n",
                    "confidence = \"none\"\n"));
  Script valid;
  valid.content = R"({"label": "other"})";
  g.mock.push(valid);
  auto r = g.post("/v1/tasks/review", R"({"input": "the coffee box arrived refund please"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = body_of(r);
  EXPECT_EQ(body.at("variant"), "llm");
  EXPECT_EQ(body.at("route").at("policy"), "router");
  std::string why(body.at("route").at("router").as_string());
  EXPECT_NE(why.find("fast p="), std::string::npos) << why;
  EXPECT_NE(why.find("llm p="), std::string::npos) << why;
  r = g.post("/v1/tasks/review", R"({"input": "the coffee box arrived fresh"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("variant"), "fast");
  EXPECT_EQ(g.mock.request_count(), 1u);
}

TEST_F(Tasks, HybridCascadeWeighsAnAnswerByAgreementWithEarlierStages) {
  // Three recorded models, cheapest first. "mid" repeats "small"'s answer to the planet question
  // and contradicts it on the water question.
  fs::path csv = folder().dir / "three.csv";
  {
    std::ofstream out(csv);
    out << ",sample_id,prompt,eval_name,small,mid,big,small|model_response,mid|model_response,"
           "big|model_response,small|total_cost,mid|total_cost,big|total_cost,"
           "oracle_model_to_route_to\n";
    out << "0,q.1,\"['Which is a planet?\\nA) Sun\\nB) Mars']\",arc,1,1,1,B,B,B,"
           "0.0001,0.0004,0.0025,small\n";
    out << "1,q.2,\"['Which is wet?\\nA) Water\\nB) Sand']\",arc,0,1,1,B,A,A,"
           "0.0001,0.0004,0.0025,mid\n";
  }
  // A router that learned how often each model is right: small 60%, mid 80%, big 95%.
  std::vector<routing::RouterExample> examples;
  std::mt19937 rng(5);
  const char* words[] = {"planet", "water", "sand", "sun", "mars", "which", "is", "wet"};
  for (int i = 0; i < 300; ++i) {
    routing::RouterExample e;
    for (int w = 0; w < 5; ++w) e.text += std::string(words[rng() % 8]) + " ";
    e.correct = {i % 5 < 3 ? 1.0 : 0.0, i % 5 < 4 ? 1.0 : 0.0, i % 20 != 0 ? 1.0 : 0.0};
    e.cost = {0.0001, 0.0004, 0.0025};
    examples.push_back(std::move(e));
  }
  routing::RouterOptions o;
  o.models = {"small", "mid", "big"};
  fs::path router_path = folder().dir / "three-router.tmd";
  routing::train_router(examples, o).model.save(router_path.string(), {});
  const routing::RouterModel router = routing::RouterModel::load(router_path.string());
  // What the cascade's second stage should compute, from the same router: its prior combined
  // with agreement (planet) or disagreement (water) with the first stage.
  const std::string planet = "Which is a planet?\nA) Sun\nB) Mars";
  const std::string wet = "Which is wet?\nA) Water\nB) Sand";
  auto second_stage = [&](const std::string& text, std::size_t first, std::size_t second) {
    std::vector<double> p = router.predict(text);
    return routing::agreement_confidence({first, second}, {p[0], p[1]}, 2);
  };
  const double agree = second_stage(planet, 1, 1);
  const double disagree = second_stage(wet, 1, 0);
  ASSERT_GT(agree, disagree);  // agreement is evidence, contradiction is not
  const double threshold = (agree + disagree) / 2;
  std::string toml = R"([server]
log_level = "error"
[providers.recorded]
kind = "replay"
data = ")" + csv.string() +
                     R"("
[tasks.arc]
labels = ["A", "B"]
[tasks.arc.policy]
kind = "cascade"
variants = ["small", "mid", "big"]
thresholds = [0.999, )" +
                     std::to_string(threshold) +
                     R"(]
router = ")" + router_path.string() +
                     "\"\n";
  for (const char* m : {"small", "mid", "big"}) {
    toml += std::string("[models.") + m + "]\nroutes = [{ provider = \"recorded\", model = \"" + m +
            "\" }]\n[tasks.arc.variants." + m + "]\nkind = \"llm\"\nmodel = \"" + m +
            "\"\ntemplate = \"{{ text }}\"\nconfidence = \"router_agreement\"\n";
  }
  Gateway g(toml);
  // Planet: mid agrees with small, its confidence clears the threshold: mid answers.
  auto r = g.post("/v1/tasks/arc", json::serialize(json::object{{"input", planet}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = body_of(r);
  EXPECT_EQ(body.at("variant"), "mid");
  EXPECT_EQ(body.at("output").at("label"), "B");
  auto steps = body.at("route").at("steps").as_array();
  ASSERT_EQ(steps.size(), 2u) << r.body;
  EXPECT_NEAR(steps[0].at("confidence").as_double(), router.predict(planet)[0], 1e-9);
  EXPECT_NEAR(steps[1].at("confidence").as_double(), agree, 1e-9);
  EXPECT_EQ(body.at("cost_usd"), "0.0005");  // both stages that ran are paid
  // Water: mid contradicts small, its confidence falls below the threshold: big answers.
  r = g.post("/v1/tasks/arc", json::serialize(json::object{{"input", wet}}));
  ASSERT_EQ(r.status, 200) << r.body;
  body = body_of(r);
  EXPECT_EQ(body.at("variant"), "big");
  EXPECT_EQ(body.at("output").at("label"), "A");
  steps = body.at("route").at("steps").as_array();
  ASSERT_EQ(steps.size(), 3u) << r.body;
  EXPECT_NEAR(steps[1].at("confidence").as_double(), disagree, 1e-9);
  EXPECT_FALSE(steps[1].at("accepted").as_bool());
  EXPECT_EQ(body.at("cost_usd"), "0.003");
}

TEST_F(Tasks, HybridLanguageRulesDetectAnUndeclaredLanguage) {
  fs::path lid = datasets::data_dir() / "lid.176.ftz";
  if (!fs::exists(lid)) GTEST_SKIP() << lid << " is absent (scripts/setup_data.sh prepares it)";
  std::string toml = hybrid_config(R"([tasks.review.policy]
variants = ["fast"]

[[tasks.review.rules]]
when = { languages = ["fr", "de"] }
use = ["llm"]
)",
                                   "confidence = \"none\"\n");
  toml.replace(toml.find("log_level"), 0, "language_model = \"" + lid.string() + "\"\n");
  Gateway g(toml);
  Script valid;
  valid.content = R"({"label": "great"})";
  g.mock.push(valid);
  auto r =
      g.post("/v1/tasks/review",
             R"({"input": "Le café est arrivé froid et le paquet était complètement déchiré."})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = body_of(r);
  EXPECT_EQ(body.at("variant"), "llm");
  std::string reason(body.at("route").at("reason").as_string());
  EXPECT_NE(reason.find("rule 1 (language=fr|de)"), std::string::npos) << reason;
  EXPECT_NE(reason.find("language fr detected"), std::string::npos) << reason;
  // English goes by the policy; a declared language is taken as it is.
  r = g.post("/v1/tasks/review", R"({"input": "The coffee arrived cold and the box was torn."})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("variant"), "fast");
  g.mock.push(valid);
  r = g.post("/v1/tasks/review",
             R"({"input": "The coffee arrived cold.", "context": {"language": "de"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  body = body_of(r);
  EXPECT_EQ(body.at("variant"), "llm");
  EXPECT_EQ(body.at("route").at("reason"), "rule 1 (language=fr|de)");
}

}  // namespace
}  // namespace tandem::testing
