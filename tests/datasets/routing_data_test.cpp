// Recorded LLM answers (RouterBench and RouteLLM formats): small fixtures written to the test's
// temp folder, malformed ones among them, and the real files from ../shared/data when present.
#include "tandem/datasets/routing_data.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

#include "test_files.h"

using namespace tandem::datasets;
using namespace tandem::datasets::testing;

namespace {

const char* kRouterBench =
    ",sample_id,prompt,eval_name,m-a,m-b,m-a|model_response,m-b|model_response,"
    "m-a|total_cost,m-b|total_cost,oracle_model_to_route_to\n"
    "0,q.1,\"['What is 2+2?\\nA) 3\\nB) 4\\nAnswer:']\",arc,0.0,1.0,['A'],\"['B\\n']\","
    "0.0001,0.002,m-b\n"
    "1,q.2,\"[\"\"It's \\\\ \\u00e9\\x41\"\"]\",arc,1.0,,['B'],,0.0001,,m-a\n";

std::filesystem::path folder(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void write_to(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace

TEST(RoutingData, ReadsRouterBench) {
  const auto file = write_file("rb.csv", kRouterBench);
  const RecordedSet set = load_recorded_set(file);
  EXPECT_EQ(set.format, "routerbench");
  ASSERT_EQ(set.models, (std::vector<std::string>{"m-a", "m-b"}));
  ASSERT_EQ(set.queries.size(), 2u);
  const RecordedQuery& q = set.queries[0];
  EXPECT_EQ(q.id, "q.1");
  EXPECT_EQ(q.group, "arc");
  EXPECT_EQ(q.prompt, "What is 2+2?\nA) 3\nB) 4\nAnswer:");
  EXPECT_EQ(q.answers[0].score, 0.0);
  EXPECT_EQ(q.answers[1].score, 1.0);
  EXPECT_EQ(q.answers[1].response, "B\n");
  EXPECT_DOUBLE_EQ(*q.answers[1].cost_usd, 0.002);
  // Python's double-quoted repr with escapes; blank cells are missing, not wrong.
  const RecordedQuery& r = set.queries[1];
  EXPECT_EQ(r.prompt,
            "It's \\ \xc3\xa9"
            "A");
  EXPECT_FALSE(r.answers[1].score.has_value());
  EXPECT_FALSE(r.answers[1].cost_usd.has_value());
  EXPECT_FALSE(r.answers[1].response.has_value());
  EXPECT_EQ(set.find_model("m-b"), 1u);
  EXPECT_FALSE(set.find_model("nope").has_value());
}

TEST(RoutingData, ReadsARouteLlmFolder) {
  const auto dir = folder("routellm_ok");
  write_to(dir / "mmlu_anatomy.csv",
           "prompt,weak,strong\n\"Q1\nA. x\nAnswer:\",True,True\nQ2,False,True\n");
  write_to(dir / "mmlu_virology.csv", "prompt,weak,strong\nQ3,False,\n");
  write_to(dir / "notes.txt", "not a csv");
  const RecordedSet set = load_recorded_set(dir);
  EXPECT_EQ(set.format, "routellm");
  ASSERT_EQ(set.models, (std::vector<std::string>{"weak", "strong"}));
  ASSERT_EQ(set.queries.size(), 3u);
  EXPECT_EQ(set.queries[0].prompt, "Q1\nA. x\nAnswer:");
  EXPECT_EQ(set.queries[0].group, "anatomy");
  EXPECT_EQ(set.queries[1].id, "anatomy:5");  // Q1 spans lines 2 to 4
  EXPECT_EQ(set.queries[1].answers[0].score, 0.0);
  EXPECT_EQ(set.queries[2].group, "virology");
  EXPECT_FALSE(set.queries[2].answers[1].score.has_value());
  EXPECT_FALSE(set.queries[2].answers[1].cost_usd.has_value());
}

TEST(RoutingData, UnwrapsPythonLists) {
  EXPECT_EQ(unwrap_python_strings("['a', \"b\"]"), "a\n\nb");
  EXPECT_EQ(unwrap_python_strings("[]"), "");
  EXPECT_EQ(unwrap_python_strings("['x',]"), "x");
  EXPECT_EQ(unwrap_python_strings("plain text"), "plain text");
  EXPECT_EQ(unwrap_python_strings("['\\U0001F600\\t']"), "\xF0\x9F\x98\x80\t");
  EXPECT_THROW(unwrap_python_strings("['never closed"), std::invalid_argument);
  EXPECT_THROW(unwrap_python_strings("['a' 'b']"), std::invalid_argument);
  EXPECT_THROW(unwrap_python_strings("['a'] tail"), std::invalid_argument);
  EXPECT_THROW(unwrap_python_strings("[a]"), std::invalid_argument);
  EXPECT_THROW(unwrap_python_strings("['\\x4']"), std::invalid_argument);
  EXPECT_THROW(unwrap_python_strings("['\\ud800']"), std::invalid_argument);
  EXPECT_THROW(unwrap_python_strings("['a\\"), std::invalid_argument);
}

TEST(RoutingData, MalformedFilesNameTheLine) {
  auto file = write_file("bad_score.csv", "sample_id,prompt,m\n1,['a'],1.0\n2,['b'],yes\n");
  expect_line_error([&] { load_recorded_set(file); }, file, 3, "not a number");
  file = write_file("bad_cost.csv", "sample_id,prompt,m,m|total_cost\n1,['a'],1,-2\n");
  expect_line_error([&] { load_recorded_set(file); }, file, 2, "not a cost");
  file = write_file("bad_prompt.csv", "sample_id,prompt,m\n1,['a,1\n");
  expect_line_error([&] { load_recorded_set(file); }, file, 2, "not a Python list");
  file = write_file("orphan.csv", "sample_id,prompt,m,x|total_cost\n1,['a'],1,0.1\n");
  expect_line_error([&] { load_recorded_set(file); }, file, 1, "no score column");
  file = write_file("fields.csv", "prompt,weak,strong\nQ1,True\n");
  expect_line_error([&] { load_recorded_set(file, "routellm"); }, file, 2, "expected 3 fields");
  file = write_file("bool.csv", "prompt,weak,strong\nQ1,True,maybe\n");
  expect_line_error([&] { load_recorded_set(file); }, file, 2, "not True or False");
  file = write_file("noprompt.csv", "question,weak\nQ1,True\n");
  expect_line_error([&] { load_recorded_set(file); }, file, 1, "no column \"prompt\"");
  file = write_file("nomodel.csv", "prompt\nQ1\n");
  expect_line_error([&] { load_recorded_set(file); }, file, 1, "no model column");
  file = write_file("twice.csv", "prompt,a,a\nQ1,True,True\n");
  expect_line_error([&] { load_recorded_set(file); }, file, 1, "twice");
  file = write_file("empty.csv", "");
  expect_file_error([&] { load_recorded_set(file); }, file, "is empty");
  file = write_file("header_only.csv", "prompt,a\n");
  expect_file_error([&] { load_recorded_set(file); }, file, "no query");
  file = write_file("utf8.csv", "prompt,a\nQ\xff,True\n");
  expect_line_error([&] { load_recorded_set(file); }, file, 2, "not UTF-8");
  expect_file_error([&] { load_recorded_set(file, "csv"); }, file,
                    "unknown recorded-answer format");
  const auto missing = std::filesystem::path(::testing::TempDir()) / "no_such_file.csv";
  expect_file_error([&] { load_recorded_set(missing); }, missing, "cannot open");
}

TEST(RoutingData, FolderFilesMustAgree) {
  const auto dir = folder("routellm_mixed");
  write_to(dir / "a.csv", "prompt,weak,strong\nQ1,True,True\n");
  write_to(dir / "b.csv", "prompt,weak,other\nQ2,True,True\n");
  expect_line_error([&] { load_recorded_set(dir); }, dir / "b.csv", 1, "differ");
  const auto empty = folder("routellm_empty");
  expect_file_error([&] { load_recorded_set(empty); }, empty, "no .csv file");
}

TEST(RoutingData, TestSplitIsDeterministicAndNearItsShare) {
  int in = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::string p = "prompt " + std::to_string(i);
    const bool a = in_test_split(p, 0.3, 7);
    EXPECT_EQ(a, in_test_split(p, 0.3, 7));
    in += a ? 1 : 0;
  }
  EXPECT_NEAR(in / 10000.0, 0.3, 0.02);
  EXPECT_FALSE(in_test_split("x", 0.0, 1));
  EXPECT_TRUE(in_test_split("x", 1.0, 1));
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string p = std::to_string(i);
    differ += in_test_split(p, 0.5, 1) != in_test_split(p, 0.5, 2) ? 1 : 0;
  }
  EXPECT_GT(differ, 300);  // another seed is another split
}

// The shared benchmark files (../shared/data, or $TANDEM_SHARED_DATA), when present.
TEST(RoutingData, RealRecordedSets) {
  const char* env = std::getenv("TANDEM_SHARED_DATA");
  std::filesystem::path root = env && *env ? env : "";
  if (root.empty()) {
    // The tests run from the build tree; the shared folder sits beside the repository.
    for (auto dir = std::filesystem::current_path(); !dir.empty(); dir = dir.parent_path()) {
      if (std::filesystem::exists(dir / "../shared/data/routing")) {
        root = dir / "../shared/data";
        break;
      }
      if (dir == dir.parent_path()) break;
    }
  }
  const auto arc = root / "routing/routerbench-arc/arc_challenge_test.csv";
  const auto mmlu = root / "routing/routellm-mmlu";
  if (root.empty() || !std::filesystem::exists(arc) || !std::filesystem::exists(mmlu)) {
    GTEST_SKIP() << "../shared/data/routing is absent (set TANDEM_SHARED_DATA to the folder that "
                    "holds routing/routerbench-arc and routing/routellm-mmlu)";
  }
  const RecordedSet a = load_recorded_set(arc);
  EXPECT_EQ(a.format, "routerbench");
  EXPECT_EQ(a.models.size(), 11u);
  EXPECT_EQ(a.queries.size(), 445u);
  const auto gpt4 = a.find_model("gpt-4-1106-preview");
  ASSERT_TRUE(gpt4.has_value());
  EXPECT_TRUE(a.queries[0].prompt.ends_with("Answer:"));
  EXPECT_EQ(a.queries[0].prompt.find("\\n"), std::string::npos);  // escapes unwrapped
  EXPECT_GT(*a.queries[0].answers[*gpt4].cost_usd, 0);
  const RecordedSet m = load_recorded_set(mmlu);
  EXPECT_EQ(m.format, "routellm");
  EXPECT_EQ(m.models, (std::vector<std::string>{"mistralai/Mixtral-8x7B-Instruct-v0.1",
                                                "gpt-4-1106-preview"}));
  EXPECT_EQ(m.queries.size(), 14042u);
  EXPECT_EQ(m.queries.front().group, "abstract_algebra");
}
