// Distillation's parts: reading the teacher's answers from records (other tasks, missing or
// failed answers, duplicates, malformed and cut-short lines), the stratified split, the
// agreement threshold and the cascade figures on hand-made answers, and a whole run on records
// written here (accepted, not accepted, too few answers).
#include "tandem/tasks/distillation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tandem/models/text/text_classifier.h"

namespace tandem::tasks {
namespace {

config::TaskConfig labels_task(std::vector<std::string> labels = {"negative", "positive"}) {
  config::TaskConfig t;
  t.name = "t";
  t.kind = "text";
  t.contract = "labels";
  t.labels = std::move(labels);
  t.input_fields = {"text"};
  return t;
}

// One record line as the gateway writes it (api/tasks.cpp, record_line).
std::string record(const std::string& task, const std::string& text, const std::string& label,
                   const std::string& variant = "llm", bool ok = true,
                   const std::string& cost = "0.0002") {
  std::string entry = R"({"variant":")" + variant + R"(","kind":"llm","ok":)" +
                      (ok ? "true" : "false") + R"(,"accepted":true,"cost_usd":")" + cost + "\"";
  if (ok) entry += R"(,"output":{"label":")" + label + "\"}";
  entry += "}";
  return R"({"time":1,"task":")" + task + R"(","input":{"text":")" + text +
         R"("},"context":{},"variants":[)" + entry + R"(],"policy":"single","variant":")" +
         variant + R"(","output":{"label":")" + label + R"("},"cost_usd":")" + cost + "\"}";
}

DistillRecords read(const std::string& text, const config::TaskConfig& task,
                    const std::string& teacher = "llm") {
  std::istringstream in(text);
  return read_distill_records(in, "records.jsonl", task, teacher);
}

std::string error_of(const std::string& text, const config::TaskConfig& task) {
  try {
    read(text, task);
  } catch (const DistillError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(DistillRecords, KeepsTheTeachersAnswersOfThisTaskOnly) {
  config::TaskConfig task = labels_task();
  std::string lines =
      record("t", "great value", "positive") + "\n" + record("other", "great value", "negative") +
      "\n" + "\n" +                                                  // another task; a blank line
      record("t", "failed call", "positive", "llm", false) + "\n" +  // the teacher failed
      record("t", "cheap answer", "positive", "distilled") + "\n" +  // the teacher did not run
      record("t", "odd label", "neutral") + "\n" +                   // outside the labels
      record("t", "  ", "positive") + "\n" +                         // blank text
      record("t", "awful", "negative", "llm", true, "0") + "\n";
  DistillRecords r = read(lines, task);
  ASSERT_EQ(r.examples.size(), 2u);
  EXPECT_EQ(r.examples[0].text, "great value");
  EXPECT_EQ(r.examples[0].label, "positive");
  EXPECT_DOUBLE_EQ(r.examples[0].teacher_cost_usd, 0.0002);
  EXPECT_EQ(r.examples[0].line, 1u);
  EXPECT_EQ(r.examples[1].text, "awful");
  EXPECT_EQ(r.examples[1].label, "negative");
  EXPECT_EQ(r.examples[1].teacher_cost_usd, 0);
  EXPECT_EQ(r.examples[1].line, 8u);
  EXPECT_EQ(r.lines, 7u);
  EXPECT_EQ(r.task_records, 6u);
  EXPECT_EQ(r.other_tasks, 1u);
  EXPECT_EQ(r.without_teacher, 2u);
  EXPECT_EQ(r.outside_labels, 1u);
  EXPECT_EQ(r.without_text, 1u);
  EXPECT_EQ(r.replaced, 0u);
  EXPECT_TRUE(r.costs_recorded);
  EXPECT_FALSE(r.truncated_last_line);
}

TEST(DistillRecords, TheLastAnswerForATextWins) {
  config::TaskConfig task = labels_task();
  std::string lines = record("t", "so so", "positive") + "\n" + record("t", "fine", "positive") +
                      "\n" + record("t", "so so", "negative", "llm", true, "0.5") + "\n";
  DistillRecords r = read(lines, task);
  ASSERT_EQ(r.examples.size(), 2u);
  EXPECT_EQ(r.examples[0].text, "so so");
  EXPECT_EQ(r.examples[0].label, "negative");
  EXPECT_DOUBLE_EQ(r.examples[0].teacher_cost_usd, 0.5);
  EXPECT_EQ(r.examples[0].line, 3u);
  EXPECT_EQ(r.replaced, 1u);
}

TEST(DistillRecords, TheTeachersLastOkAnswerInARecordCounts) {
  config::TaskConfig task = labels_task();
  // The teacher ran twice (first try, then as a fallback): the ok answer is its answer.
  std::string line =
      R"({"task":"t","input":{"text":"x y"},"variants":[{"variant":"llm","ok":false},)"
      R"({"variant":"distilled","ok":true,"output":{"label":"negative"}},)"
      R"({"variant":"llm","ok":true,"cost_usd":0.25,"output":{"label":"positive"}}]})";
  DistillRecords r = read(line + "\n", task);
  ASSERT_EQ(r.examples.size(), 1u);
  EXPECT_EQ(r.examples[0].label, "positive");
  EXPECT_DOUBLE_EQ(r.examples[0].teacher_cost_usd, 0.25);  // a number is read too
}

TEST(DistillRecords, TheFirstInputFieldIsTheTextAsATailoredModelReadsIt) {
  config::TaskConfig task = labels_task();
  task.input_fields = {"body", "subject"};
  std::string lines =
      R"({"task":"t","input":{"subject":"s","body":"the body"},"variants":[{"variant":"llm","ok":true,"output":{"label":"positive"}}]})"
      "\n"
      R"({"task":"t","input":{"body":{"a":1}},"variants":[{"variant":"llm","ok":true,"output":{"label":"negative"}}]})"
      "\n"
      R"({"task":"t","input":{"subject":"only"},"variants":[{"variant":"llm","ok":true,"output":{"label":"negative"}}]})"
      "\n";
  DistillRecords r = read(lines, task);
  ASSERT_EQ(r.examples.size(), 2u);
  EXPECT_EQ(r.examples[0].text, "the body");
  EXPECT_EQ(r.examples[1].text, R"({"a":1})");
  EXPECT_EQ(r.without_text, 1u);
  EXPECT_FALSE(r.costs_recorded);
}

TEST(DistillRecords, MalformedLinesNameTheFileAndLine) {
  config::TaskConfig task = labels_task();
  std::string good = record("t", "fine", "positive") + "\n";
  EXPECT_EQ(error_of(good + "{not json\n" + good, task).rfind("records.jsonl:2: not JSON", 0), 0u)
      << error_of(good + "{not json\n" + good, task);
  EXPECT_EQ(error_of(good + good + "[1, 2]\n", task), "records.jsonl:3: not a JSON object");
  EXPECT_EQ(error_of(R"({"input":{}})"
                     "\n",
                     task),
            "records.jsonl:1: no \"task\" name");
  EXPECT_EQ(error_of(R"({"task":"t","variants":[]})"
                     "\n",
                     task),
            "records.jsonl:1: no \"input\" object");
  EXPECT_EQ(error_of(good + R"({"task":"t","input":{"text":"a"}})"
                            "\n",
                     task),
            "records.jsonl:2: no \"variants\" array");
  // Another task's record is not checked beyond its name.
  EXPECT_EQ(read(R"({"task":"other"})"
                 "\n",
                 task)
                .other_tasks,
            1u);
}

TEST(DistillRecords, ALastLineCutShortIsSkippedNotAnError) {
  config::TaskConfig task = labels_task();
  std::string good = record("t", "fine", "positive") + "\n";
  DistillRecords r = read(good + R"({"task":"t","inp)", task);
  EXPECT_TRUE(r.truncated_last_line);
  EXPECT_EQ(r.examples.size(), 1u);
  // With its line break it is a malformed line like any other.
  EXPECT_EQ(error_of(good + R"({"task":"t","inp)"
                            "\n",
                     task)
                .rfind("records.jsonl:2:", 0),
            0u);
}

TEST(DistillRecords, AMissingFileIsAClearError) {
  try {
    read_distill_records("/nonexistent/records.jsonl", labels_task(), "llm");
    FAIL() << "no error";
  } catch (const DistillError& e) {
    EXPECT_STREQ(e.what(), "cannot read the records '/nonexistent/records.jsonl' (no such file)");
  }
}

std::vector<DistillExample> examples_with(std::size_t negatives, std::size_t positives,
                                          std::size_t neutrals = 0) {
  std::vector<DistillExample> out;
  for (std::size_t i = 0; i < negatives + positives + neutrals; ++i) {
    out.push_back({"text " + std::to_string(i),
                   i < negatives               ? "negative"
                   : i < negatives + positives ? "positive"
                                               : "neutral",
                   0, i + 1});
  }
  return out;
}

TEST(DistillSplit, StratifiedSeededAndComplete) {
  auto examples = examples_with(40, 80);
  DistillSplit a = split_by_label(examples, {"negative", "positive"}, 0.25, 42);
  EXPECT_EQ(a.held_out.size(), 30u);
  EXPECT_EQ(a.train.size(), 90u);
  std::size_t held_negative = 0;
  for (std::size_t i : a.held_out) held_negative += examples[i].label == "negative" ? 1 : 0;
  EXPECT_EQ(held_negative, 10u);
  EXPECT_TRUE(std::is_sorted(a.train.begin(), a.train.end()));
  EXPECT_TRUE(std::is_sorted(a.held_out.begin(), a.held_out.end()));
  std::vector<std::size_t> all = a.train;
  all.insert(all.end(), a.held_out.begin(), a.held_out.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i);
  EXPECT_TRUE(a.unlearnable.empty());

  DistillSplit again = split_by_label(examples, {"negative", "positive"}, 0.25, 42);
  EXPECT_EQ(again.held_out, a.held_out);
  DistillSplit other = split_by_label(examples, {"negative", "positive"}, 0.25, 7);
  EXPECT_NE(other.held_out, a.held_out);
}

TEST(DistillSplit, ALabelTooRareToLearnIsHeldOutWhole) {
  auto examples = examples_with(20, 20, 2);
  DistillSplit s = split_by_label(examples, {"negative", "neutral", "positive"}, 0.25, 1);
  EXPECT_EQ(s.unlearnable, std::vector<std::string>{"neutral"});
  EXPECT_EQ(s.held_out.size(), 5u + 5u + 2u);
  for (std::size_t i : s.train) EXPECT_NE(examples[i].label, "neutral");
}

HeldOutAnswer answer(double confidence, bool agrees, double cost = 0) {
  return HeldOutAnswer{confidence, agrees, cost};
}

TEST(DistillFit, TheLowestThresholdWhoseKeptAnswersReachTheTarget) {
  std::vector<HeldOutAnswer> answers = {answer(0.6, true, 0.01), answer(0.9, true, 0.01),
                                        answer(0.5, false, 0.01), answer(0.8, true, 0.01),
                                        answer(0.7, false, 0.01)};
  // Kept from the top: 0.9 1/1, 0.8 2/2, 0.7 2/3, 0.6 3/4, 0.5 3/5.
  AgreementFit f = fit_agreement_threshold(answers, 0.75);
  EXPECT_TRUE(f.target_met);
  EXPECT_EQ(f.held_out, 5u);
  EXPECT_DOUBLE_EQ(f.agreement_all, 0.6);
  EXPECT_DOUBLE_EQ(f.chosen.threshold, 0.6);
  EXPECT_EQ(f.chosen.kept, 4u);
  EXPECT_EQ(f.chosen.agreed, 3u);
  EXPECT_DOUBLE_EQ(f.chosen.coverage, 0.8);
  EXPECT_DOUBLE_EQ(f.chosen.agreement, 0.75);
  // The cascade: four kept (three agree), one escalated to the teacher (agrees by definition).
  EXPECT_DOUBLE_EQ(f.cascade_agreement, 0.8);
  EXPECT_DOUBLE_EQ(f.teacher_cost_per_request, 0.01);
  EXPECT_DOUBLE_EQ(f.cascade_cost_per_request, 0.002);
  EXPECT_NEAR(f.cost_saved_share, 0.8, 1e-12);
  EXPECT_GT(f.agreement_low95, 0.0);
  EXPECT_LT(f.agreement_low95, 0.75);
  // The curve: the first point reaching 10%, 20%, ... of coverage (20% steps here).
  ASSERT_EQ(f.curve.size(), 5u);
  EXPECT_DOUBLE_EQ(f.curve[0].threshold, 0.9);
  EXPECT_DOUBLE_EQ(f.curve[4].threshold, 0.5);
  EXPECT_DOUBLE_EQ(f.curve[4].coverage, 1.0);

  AgreementFit strict = fit_agreement_threshold(answers, 1.0);
  EXPECT_TRUE(strict.target_met);
  EXPECT_DOUBLE_EQ(strict.chosen.threshold, 0.8);
  EXPECT_DOUBLE_EQ(strict.chosen.coverage, 0.4);
}

TEST(DistillFit, EqualConfidencesAreKeptOrDroppedTogether) {
  std::vector<HeldOutAnswer> answers = {answer(0.9, true), answer(0.9, false), answer(0.8, true)};
  AgreementFit f = fit_agreement_threshold(answers, 1.0);
  EXPECT_FALSE(f.target_met);
  // The closest: the highest agreement (2/3 at 0.8 beats 1/2 at 0.9).
  EXPECT_DOUBLE_EQ(f.chosen.threshold, 0.8);
  EXPECT_EQ(f.chosen.kept, 3u);
  // No recorded cost: each teacher call costs 1, so the saving is the share of calls saved.
  EXPECT_DOUBLE_EQ(f.teacher_cost_per_request, 1.0);
  EXPECT_DOUBLE_EQ(f.cost_saved_share, 1.0);
}

TEST(DistillFit, NineteenOfTwentyMeetsNinetyFivePercent) {
  std::vector<HeldOutAnswer> answers;
  for (int i = 0; i < 19; ++i) answers.push_back(answer(0.99, true));
  answers.push_back(answer(0.99, false));
  answers.push_back(answer(0.3, false));
  AgreementFit f = fit_agreement_threshold(answers, 0.95);
  EXPECT_TRUE(f.target_met);
  EXPECT_DOUBLE_EQ(f.chosen.threshold, 0.99);
  EXPECT_EQ(f.chosen.kept, 20u);
}

TEST(DistillFit, TheThresholdKeepsAtLeastMinKeptAnswers) {
  std::vector<HeldOutAnswer> answers = {answer(0.9, true), answer(0.5, false), answer(0.4, false)};
  EXPECT_TRUE(fit_agreement_threshold(answers, 0.9, 1).target_met);
  AgreementFit f = fit_agreement_threshold(answers, 0.9, 2);
  EXPECT_FALSE(f.target_met);
  EXPECT_EQ(f.chosen.kept, 2u);  // the best point that keeps two
  // More than are held out: all of them.
  EXPECT_EQ(fit_agreement_threshold(answers, 0.1, 50).chosen.kept, 3u);
}

TEST(DistillFit, BadInputIsAClearError) {
  EXPECT_THROW(fit_agreement_threshold({}, 0.9), DistillError);
  EXPECT_THROW(fit_agreement_threshold({answer(1.5, true)}, 0.9), DistillError);
  EXPECT_THROW(fit_agreement_threshold({answer(0.5, true)}, 0), DistillError);
}

// A whole run on records written here.
class DistillRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tandem-distill-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    task_ = labels_task();
    task_.record = (dir_ / "records.jsonl").string();
    task_.distill =
        config::DistillConfig{"llm", (dir_ / "out" / "distilled.tandem").string(), 0.9, 100};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // `n` answers: texts about good or bad things; `learnable`: the teacher labels them by the
  // word, else by the parity of a number in them (nothing a bag of words can learn).
  void write_records(int n, bool learnable) {
    static const char* good[] = {"great", "lovely", "excellent", "superb", "tasty"};
    static const char* bad[] = {"awful", "stale", "terrible", "broken", "bland"};
    static const char* things[] = {"coffee", "tea", "snack", "soup", "bread", "sauce"};
    std::ofstream out(task_.record);
    out << record("other", "ignored", "positive") << "\n";
    for (int i = 0; i < n; ++i) {
      bool positive = i % 2 == 0;
      std::string text = std::string(positive ? good[i % 5] : bad[i % 5]) + " " +
                         things[(i / 2) % 6] + " number " + std::to_string(i * 7919 % 1000);
      std::string label = learnable ? (positive ? "positive" : "negative")
                                    : ((i * 7919 % 1000) % 3 == 0 ? "positive" : "negative");
      out << record("t", text, label) << "\n";
    }
  }

  std::filesystem::path dir_;
  config::TaskConfig task_;
};

TEST_F(DistillRun, ALearnableTeacherIsAcceptedAndTheStateSaysSo) {
  write_records(240, true);
  DistillResult r = distill_task(task_, {});
  EXPECT_EQ(r.records.examples.size(), 240u);
  EXPECT_EQ(r.records.other_tasks, 1u);
  EXPECT_EQ(r.train, 180u);
  EXPECT_EQ(r.fit.held_out, 60u);
  ASSERT_EQ(r.label_counts.size(), 2u);
  EXPECT_EQ(r.label_counts[0], (std::pair<std::string, std::size_t>{"negative", 120}));
  EXPECT_TRUE(r.fit.target_met);
  EXPECT_GE(r.fit.chosen.agreement, 0.9);
  EXPECT_GT(r.fit.chosen.coverage, 0.5);
  EXPECT_TRUE(r.state.accepted);
  EXPECT_GT(r.fit.cost_saved_share, 0.5);

  std::optional<DistillState> state = read_distill_state(task_.distill->artifact);
  ASSERT_TRUE(state.has_value());
  EXPECT_TRUE(state->accepted);
  EXPECT_EQ(state->teacher, "llm");
  EXPECT_DOUBLE_EQ(state->threshold, r.fit.chosen.threshold);
  EXPECT_EQ(state->records, 180u);
  EXPECT_EQ(state->held_out, 60u);
  // The artifact is the model that was checked: it answers the held-out texts the same way.
  auto model = models::text::TextClassifier::load(task_.distill->artifact);
  EXPECT_EQ(model->labels(), (std::vector<std::string>{"negative", "positive"}));
  EXPECT_EQ(model->labels()[model->predict("excellent bread number 5", 0).label], "positive");
  EXPECT_TRUE(std::filesystem::exists(r.training_csv));
}

TEST_F(DistillRun, AnUnlearnableTeacherIsWrittenNotAccepted) {
  write_records(240, false);
  task_.distill->agreement = 0.99;
  DistillResult r = distill_task(task_, {.min_kept = 30});
  EXPECT_FALSE(r.fit.target_met);
  EXPECT_FALSE(r.state.accepted);
  std::optional<DistillState> state = read_distill_state(task_.distill->artifact);
  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->accepted);
  EXPECT_TRUE(std::filesystem::exists(task_.distill->artifact));
}

TEST_F(DistillRun, TooFewAnswersSaysHowManyItFound) {
  write_records(60, true);
  try {
    distill_task(task_, {});
    FAIL() << "no error";
  } catch (const DistillError& e) {
    EXPECT_NE(std::string(e.what()).find("60 distinct answers of the teacher 'llm'"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("at least 100"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(task_.distill->artifact));
}

TEST_F(DistillRun, ATeacherWithOneLabelCannotBeDistilled) {
  std::ofstream out(task_.record);
  for (int i = 0; i < 120; ++i) out << record("t", "text " + std::to_string(i), "positive") << "\n";
  out.close();
  try {
    distill_task(task_, {});
    FAIL() << "no error";
  } catch (const DistillError& e) {
    EXPECT_NE(std::string(e.what()).find("one label"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tandem::tasks
