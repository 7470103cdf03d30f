#include "tandem/prompts/example_store.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tandem/datasets/data_files.h"
#include "tandem/datasets/word_vectors.h"

namespace tandem::prompts {
namespace {

using boost::json::object;

// Counts of three words: a tiny embedder whose similarities are easy to reason about.
class WordCountEmbedder : public SentenceEmbedder {
 public:
  std::vector<float> embed(std::string_view text) const override {
    std::vector<float> v(3, 0.0f);
    const char* words[] = {"cat", "dog", "fish"};
    for (int i = 0; i < 3; ++i) {
      for (std::size_t p = text.find(words[i]); p != std::string_view::npos;
           p = text.find(words[i], p + 1)) {
        v[static_cast<std::size_t>(i)] += 1;
      }
    }
    return v;
  }
};

std::vector<Example> texts(std::vector<std::string> ts) {
  std::vector<Example> out;
  for (auto& t : ts) out.push_back({object{{"text", t}}, boost::json::value(t.size())});
  return out;
}

std::vector<std::string> selected(const ExampleStore& store, std::string_view text, std::size_t k) {
  std::vector<std::string> out;
  for (const auto& m : store.select(object{{"text", text}}, k)) {
    out.emplace_back(store.examples()[m.index].input.at("text").get_string());
  }
  return out;
}

class ExampleStoreFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tandem_examples_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, const std::string& text) {
    auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string load_error(const std::string& text) {
    auto p = write("e.jsonl", text);
    try {
      load_examples_jsonl(p);
    } catch (const PromptError& e) {
      std::string m = e.what();
      std::string prefix = p.string();
      return m.rfind(prefix, 0) == 0 ? "F" + m.substr(prefix.size()) : m;
    }
    return "";
  }
  std::filesystem::path dir_;
};

TEST(ExampleStore, SelectsNearestMostSimilarLast) {
  ExampleStore store(texts({"cat cat", "dog", "fish fish fish", "cat dog", "dog dog fish"}), {},
                     std::make_shared<WordCountEmbedder>());
  EXPECT_EQ(selected(store, "cat", 2), (std::vector<std::string>{"cat dog", "cat cat"}));
  EXPECT_EQ(selected(store, "dog", 3),
            (std::vector<std::string>{"cat dog", "dog dog fish", "dog"}));
  // k larger than the store: every example, least similar first.
  EXPECT_EQ(selected(store, "fish", 10).back(), "fish fish fish");
  EXPECT_EQ(selected(store, "fish", 10).size(), 5u);
  EXPECT_TRUE(selected(store, "fish", 0).empty());
  auto m = store.select(object{{"text", "cat"}}, 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_FLOAT_EQ(m[0].similarity, 1.0f);
}

TEST(ExampleStore, TiesKeepFileOrderAndUnknownTextIsNotAnError) {
  ExampleStore store(texts({"bird", "cat one", "cat two", "cow"}), {},
                     std::make_shared<WordCountEmbedder>());
  // Equal similarity: the earlier example sits nearer the question (last).
  EXPECT_EQ(selected(store, "cat", 2), (std::vector<std::string>{"cat two", "cat one"}));
  // Nothing known in the input: all similarities 0, file order again.
  EXPECT_EQ(selected(store, "zebra", 2), (std::vector<std::string>{"cat one", "bird"}));
}

TEST(ExampleStore, EmbedsTheInputFieldsInOrder) {
  std::vector<Example> ex{{object{{"title", "dog"}, {"body", "cat"}, {"n", 3}}, "x"}};
  ExampleStore store(std::move(ex), {"body", "title", "n", "missing"},
                     std::make_shared<WordCountEmbedder>());
  EXPECT_EQ(store.text_of(store.examples()[0].input), "cat\ndog\n3");
}

TEST(ExampleStore, LargeStoresUseTheIndexAndFindTheNearest) {
  // Above the exact-search limit: HNSW. Each example's embedding is its own direction mix.
  std::vector<Example> ex;
  for (std::size_t i = 0; i < ExampleStore::kExactSearchLimit + 500; ++i) {
    std::string t = "cat";
    for (std::size_t d = 0; d < i % 7; ++d) t += " dog";
    for (std::size_t f = 0; f < i % 11; ++f) t += " fish";
    ex.push_back({object{{"text", t}}, static_cast<std::int64_t>(i)});
  }
  ExampleStore store(std::move(ex), {}, std::make_shared<WordCountEmbedder>());
  EXPECT_TRUE(store.uses_index());
  auto m = store.select(object{{"text", "cat dog dog fish"}}, 5);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_FLOAT_EQ(m.back().similarity, 1.0f);
  for (std::size_t i = 1; i < m.size(); ++i) EXPECT_LE(m[i - 1].similarity, m[i].similarity);
  EXPECT_EQ(store.examples()[m.back().index].input.at("text"), "cat dog dog fish");
}

TEST(ExampleStore, EmbedderProblemsAreErrors) {
  class Broken : public SentenceEmbedder {
   public:
    std::vector<float> embed(std::string_view text) const override {
      if (text == "nan") return {std::numeric_limits<float>::quiet_NaN()};
      return std::vector<float>(text.size() % 2 ? 2 : 3, 1.0f);
    }
  };
  try {
    ExampleStore(texts({"aa", "a"}), {}, std::make_shared<Broken>());
    FAIL();
  } catch (const PromptError& e) {
    EXPECT_STREQ(e.what(),
                 "example store: the embedder returned 2 dimensions for example 2, 3 before");
  }
  ExampleStore store(texts({"aa", "bb"}), {}, std::make_shared<Broken>());
  EXPECT_THROW(store.select(object{{"text", "nan"}}, 1), PromptError);
  try {
    store.select(object{{"text", "a"}}, 1);
    FAIL();
  } catch (const PromptError& e) {
    EXPECT_STREQ(e.what(),
                 "example store: the embedder returned 2 dimensions for the input, 3 for the "
                 "examples");
  }
  ExampleStore unsearchable(texts({"a"}), {}, nullptr);
  EXPECT_THROW(unsearchable.select(object{{"text", "a"}}, 1), PromptError);
}

// An embedder behind an API: it gets every example in one embed_batch call at load, one per
// select, and reports what each call cost; the store keeps the load's cost and adds a
// request's to the caller's spend.
TEST(ExampleStore, EmbedsExamplesInOneBatchAndReportsTheSpend) {
  class Charged : public WordCountEmbedder {
   public:
    std::vector<std::vector<float>> embed_batch(std::span<const std::string> texts,
                                                EmbeddingSpend* spend) const override {
      batches.push_back(texts.size());
      if (spend != nullptr) {
        EmbeddingSpend call;
        call.usage.known = true;
        call.usage.prompt_tokens = static_cast<std::int64_t>(texts.size()) * 2;
        call.usage.total_tokens = call.usage.prompt_tokens;
        call.cost_pico_usd = 10;
        call.calls = 1;
        call.route = "api:emb";
        spend->add(call);
      }
      return SentenceEmbedder::embed_batch(texts, nullptr);
    }
    mutable std::vector<std::size_t> batches;
  };
  auto embedder = std::make_shared<Charged>();
  ExampleStore store(texts({"cat", "dog", "fish"}), {}, embedder);
  EXPECT_EQ(embedder->batches, std::vector<std::size_t>{3});
  EXPECT_EQ(store.load_spend().calls, 1);
  EXPECT_EQ(store.load_spend().usage.prompt_tokens, 6);
  EXPECT_EQ(store.load_spend().cost_pico_usd, 10);
  EXPECT_EQ(store.load_spend().route, "api:emb");

  EmbeddingSpend spend;
  auto m = store.select(object{{"text", "dog"}}, 1, &spend);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(store.examples()[m[0].index].input.at("text"), "dog");
  EXPECT_EQ(embedder->batches, (std::vector<std::size_t>{3, 1}));
  EXPECT_TRUE(spend.usage.known);
  EXPECT_EQ(spend.usage.prompt_tokens, 2);
  EXPECT_EQ(spend.calls, 1);
  // Without a spend to add to, the request's embedding still works (and costs nobody's record).
  EXPECT_EQ(store.select(object{{"text", "fish"}}, 1).size(), 1u);

  // A free embedder (the default embed_batch) leaves the spend empty.
  ExampleStore free(texts({"cat", "dog"}), {}, std::make_shared<WordCountEmbedder>());
  EmbeddingSpend none;
  free.select(object{{"text", "cat"}}, 1, &none);
  EXPECT_FALSE(none.usage.known);
  EXPECT_EQ(none.calls, 0);
  EXPECT_EQ(free.load_spend().calls, 0);
}

TEST(ExampleStore, InlineExamplesFromConfig) {
  std::vector<config::ExampleConfig> cfg{{R"({"text": "a"})", R"("pos")"},
                                         {R"({"text": "b"})", R"({"k": 1})"}};
  auto ex = examples_from_config(cfg, "variant v");
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[1].output.at("k"), 1);
  try {
    examples_from_config(std::vector<config::ExampleConfig>{{R"(["text"])", "1"}}, "variant v");
    FAIL();
  } catch (const PromptError& e) {
    EXPECT_STREQ(e.what(), "variant v: example 1: \"input\" must be an object, got array");
  }
  try {
    examples_from_config(std::vector<config::ExampleConfig>{{R"({"text": "a"})", "pos"}},
                         "variant v");
    FAIL();
  } catch (const PromptError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("variant v: example 1: output: malformed JSON", 0), 0u)
        << e.what();
  }
}

TEST_F(ExampleStoreFiles, JsonlFilesLoadAndErrorsNameFileAndLine) {
  auto p = write("ok.jsonl",
                 "{\"input\": {\"text\": \"a\"}, \"output\": \"pos\"}\n\n"
                 "{\"input\": {\"text\": \"b\"}, \"output\": {\"x\": [1]}}\r\n");
  auto ex = load_examples_jsonl(p);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].input.at("text"), "a");
  EXPECT_EQ(ex[1].output.at("x").at(0), 1);

  EXPECT_EQ(load_error("{\"input\": {}, \"output\": 1}\n{\"input\": 3, \"output\": 1}"),
            "F:2: \"input\" must be an object, got number");
  EXPECT_EQ(load_error("{\"output\": 1}"), "F:1: \"input\" is missing");
  EXPECT_EQ(load_error("{\"input\": {}}"), "F:1: \"output\" is missing");
  EXPECT_EQ(load_error("{\"input\": {}, \"output\": 1, \"why\": 2}"),
            "F:1: unknown key \"why\" (an example has \"input\" and \"output\")");
  EXPECT_EQ(load_error("[1]"),
            "F:1: expected an object {\"input\": {...}, \"output\": ...}, got array");
  EXPECT_EQ(load_error("{\"input\": {\"text\": \"\xff\"}, \"output\": 1}").rfind("F:1: ", 0), 0u);
  EXPECT_EQ(load_error(std::string(1000, '[')).rfind("F:1: JSON nesting deeper than 64", 0), 0u);
  EXPECT_EQ(load_error("\n\n{oops"), "F:3: " + load_error("{oops").substr(5));
  try {
    load_examples_jsonl(dir_ / "absent.jsonl");
    FAIL();
  } catch (const PromptError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir_ / "absent.jsonl").string() + ": cannot open the examples file");
  }
}

TEST(GloveEmbedder, MeanOfKnownLowercasedWordsNormalised) {
  std::vector<std::string> words{"good", "bad", "caf\xc3\xa9"};
  std::vector<float> rows{1, 0, 0, 1, 3, 4};
  auto file = std::filesystem::temp_directory_path() /
              ("tandem_glove_" + std::to_string(::getpid()) + ".bin");
  datasets::WordVectors::save(file, 2, words, rows);
  auto vectors = std::make_shared<const datasets::WordVectors>(datasets::WordVectors::load(file));
  std::filesystem::remove(file);
  GloveEmbedder glove(vectors);
  auto v = glove.embed("GOOD, bad!! unknownword");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NEAR(v[0], std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(v[1], std::sqrt(0.5), 1e-6);
  // Non-ASCII bytes are part of words but are not lowercased.
  EXPECT_EQ(glove.embed("CAF\xc3\x89"), (std::vector<float>{0, 0}));
  auto c = glove.embed("Caf\xc3\xa9");
  EXPECT_NEAR(c[0], 0.6, 1e-6);
  EXPECT_NEAR(c[1], 0.8, 1e-6);
  EXPECT_EQ(glove.embed(""), (std::vector<float>{0, 0}));
  EXPECT_EQ(glove.embed("\xff\xfe" + std::string(100000, 'a')), (std::vector<float>{0, 0}));
}

TEST(GloveEmbedder, RealVectorsWhenPrepared) {
  std::filesystem::path dir = datasets::data_dir();
  if (dir.empty() || !std::filesystem::exists(dir / datasets::files::kGlove100d)) {
    GTEST_SKIP() << "GloVe vectors not prepared (scripts/setup_data.sh)";
  }
  auto glove = GloveEmbedder::load_default();
  EXPECT_EQ(glove, GloveEmbedder::load_default());  // one copy per process
  ExampleStore store(texts({"the food was delicious and tasty", "shipping took three weeks",
                            "the battery died after a day"}),
                     {}, glove);
  EXPECT_EQ(selected(store, "a tasty meal", 1),
            (std::vector<std::string>{"the food was delicious and tasty"}));
  EXPECT_EQ(selected(store, "slow shipping and delivery", 1),
            (std::vector<std::string>{"shipping took three weeks"}));
}

}  // namespace
}  // namespace tandem::prompts
