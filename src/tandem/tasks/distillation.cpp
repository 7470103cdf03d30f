#include "tandem/tasks/distillation.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <unordered_map>

#include "tandem/models/artifact.h"
#include "tandem/models/recsys/random.h"
#include "tandem/models/text/text_classifier.h"
#include "tandem/models/text/text_training.h"
#include "tandem/routing/cascade_fit.h"

namespace tandem::tasks {

namespace json = boost::json;

namespace {

std::string at_line(const std::string& source, std::uint64_t line, const std::string& why) {
  return source + ":" + std::to_string(line) + ": " + why;
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

// A recorded cost: the gateway writes a decimal string ("0.0000015"); a number is taken too.
double cost_of(const json::object& entry) {
  const json::value* v = entry.if_contains("cost_usd");
  if (v == nullptr) return 0;
  if (v->is_number()) return std::max(0.0, v->to_number<double>());
  if (v->is_string()) {
    std::string s(v->get_string());
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() && *end == '\0' && std::isfinite(d) && d > 0) return d;
  }
  return 0;
}

// The teacher's label in one record, or nullptr when it gave none (the last ok answer wins when
// it ran more than once, e.g. as a fallback too).
const json::object* teacher_entry(const json::array& variants, const std::string& teacher) {
  const json::object* found = nullptr;
  for (const json::value& v : variants) {
    const json::object* e = v.if_object();
    if (e == nullptr) continue;
    const json::value* name = e->if_contains("variant");
    if (name == nullptr || !name->is_string() || name->get_string() != teacher) continue;
    const json::value* ok = e->if_contains("ok");
    if (ok == nullptr || !ok->is_bool() || !ok->get_bool()) continue;
    const json::value* output = e->if_contains("output");
    if (output == nullptr || !output->is_object()) continue;
    const json::value* label = output->get_object().if_contains("label");
    if (label == nullptr || !label->is_string()) continue;
    found = e;
  }
  return found;
}

// The Wilson score interval's lower bound at 95%.
double wilson_low(double p, std::size_t n) {
  if (n == 0) return 0;
  const double z = 1.959963984540054;
  const double z2 = z * z;
  const auto nd = static_cast<double>(n);
  const double centre = p + z2 / (2 * nd);
  const double spread = z * std::sqrt(p * (1 - p) / nd + z2 / (4 * nd * nd));
  return std::max(0.0, (centre - spread) / (1 + z2 / nd));
}

void write_csv_field(std::ostream& out, std::string_view s) {
  out << '"';
  for (char c : s) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

}  // namespace

DistillRecords read_distill_records(std::istream& in, const std::string& source,
                                    const config::TaskConfig& task, const std::string& teacher) {
  DistillRecords r;
  const std::string field = task.input_fields.empty() ? "text" : task.input_fields.front();
  std::unordered_map<std::string, std::size_t> by_text;  // text -> index in r.examples
  std::string line;
  std::uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const bool last_without_break = in.eof();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (blank(line)) continue;
    ++r.lines;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      if (last_without_break) {
        r.truncated_last_line = true;
        break;
      }
      throw DistillError(
          at_line(source, number, ec ? "not JSON (" + ec.message() + ")" : "not a JSON object"));
    }
    const json::object& record = v.get_object();
    const json::value* name = record.if_contains("task");
    if (name == nullptr || !name->is_string()) {
      throw DistillError(at_line(source, number, "no \"task\" name"));
    }
    if (name->get_string() != task.name) {
      ++r.other_tasks;
      continue;
    }
    ++r.task_records;
    const json::value* input = record.if_contains("input");
    if (input == nullptr || !input->is_object()) {
      throw DistillError(at_line(source, number, "no \"input\" object"));
    }
    const json::value* variants = record.if_contains("variants");
    if (variants == nullptr || !variants->is_array()) {
      throw DistillError(at_line(source, number, "no \"variants\" array"));
    }
    const json::object* answer = teacher_entry(variants->get_array(), teacher);
    if (answer == nullptr) {
      ++r.without_teacher;
      continue;
    }
    std::string label(answer->at("output").get_object().at("label").get_string());
    if (std::find(task.labels.begin(), task.labels.end(), label) == task.labels.end()) {
      ++r.outside_labels;
      continue;
    }
    // The text as a tailored model reads it (task_input.cpp): the first field, JSON if not text.
    const json::value* first = input->get_object().if_contains(field);
    std::string text;
    if (first != nullptr) {
      text = first->is_string() ? std::string(first->get_string()) : json::serialize(*first);
    }
    if (first == nullptr || first->is_null() || blank(text)) {
      ++r.without_text;
      continue;
    }
    DistillExample example{std::move(text), std::move(label), cost_of(*answer), number};
    if (example.teacher_cost_usd > 0) r.costs_recorded = true;
    auto [it, inserted] = by_text.try_emplace(example.text, r.examples.size());
    if (inserted) {
      r.examples.push_back(std::move(example));
    } else {
      ++r.replaced;
      r.examples[it->second] = std::move(example);
    }
  }
  if (in.bad()) throw DistillError(source + ": read error after line " + std::to_string(number));
  return r;
}

DistillRecords read_distill_records(const std::string& path, const config::TaskConfig& task,
                                    const std::string& teacher) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw DistillError("cannot read the records '" + path + "'" +
                       (std::filesystem::exists(path) ? "" : " (no such file)"));
  }
  return read_distill_records(in, path, task, teacher);
}

DistillSplit split_by_label(const std::vector<DistillExample>& examples,
                            const std::vector<std::string>& labels, double holdout,
                            std::uint64_t seed) {
  models::recsys::detail::Random random(seed);
  DistillSplit split;
  for (const std::string& label : labels) {
    std::vector<std::size_t> mine;
    for (std::size_t i = 0; i < examples.size(); ++i) {
      if (examples[i].label == label) mine.push_back(i);
    }
    if (mine.empty()) continue;
    // By text first, so that the split depends on the answers and the seed, not on the order
    // in which concurrent requests were recorded.
    std::sort(mine.begin(), mine.end(),
              [&](std::size_t a, std::size_t b) { return examples[a].text < examples[b].text; });
    random.shuffle(mine.data(), mine.size());
    auto held = static_cast<std::size_t>(std::llround(holdout * static_cast<double>(mine.size())));
    held = std::min(held, mine.size());
    if (mine.size() - held < 2) {
      held = mine.size();
      split.unlearnable.push_back(label);
    }
    split.held_out.insert(split.held_out.end(), mine.begin(), mine.begin() + held);
    split.train.insert(split.train.end(), mine.begin() + held, mine.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.held_out.begin(), split.held_out.end());
  return split;
}

AgreementFit fit_agreement_threshold(const std::vector<HeldOutAnswer>& answers, double target,
                                     std::size_t min_kept) {
  if (answers.empty()) throw DistillError("no held-out answers to fit a threshold on");
  if (!(target > 0 && target <= 1)) throw DistillError("the agreement target must be in (0, 1]");
  for (const auto& a : answers) {
    if (!(a.confidence >= 0 && a.confidence <= 1)) {
      throw DistillError("a confidence outside [0, 1]: " + std::to_string(a.confidence));
    }
  }
  const std::size_t n = answers.size();
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return answers[a].confidence > answers[b].confidence;
  });
  // One point per distinct confidence, from the most confident down.
  std::vector<AgreementPoint> points;
  std::size_t agree = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const HeldOutAnswer& a = answers[order[i]];
    agree += a.agrees ? 1 : 0;
    if (i + 1 < n && answers[order[i + 1]].confidence == a.confidence) continue;
    AgreementPoint p;
    p.threshold = a.confidence;
    p.kept = i + 1;
    p.agreed = agree;
    p.coverage = static_cast<double>(p.kept) / static_cast<double>(n);
    p.agreement = static_cast<double>(agree) / static_cast<double>(p.kept);
    points.push_back(p);
  }

  AgreementFit fit;
  fit.held_out = n;
  fit.target = target;
  fit.agreement_all = points.back().agreement;
  const std::size_t least = std::min(std::max<std::size_t>(min_kept, 1), n);
  const AgreementPoint* chosen = nullptr;
  const AgreementPoint* best = nullptr;
  for (const AgreementPoint& p : points) {
    if (p.kept < least) continue;
    // agree / kept >= target, without rounding a 19/20 against a 0.95.
    if (static_cast<double>(p.agreed) >= target * static_cast<double>(p.kept) - 1e-9) {
      chosen = &p;
    }
    if (best == nullptr || p.agreement >= best->agreement) best = &p;
  }
  fit.target_met = chosen != nullptr;
  fit.chosen = chosen != nullptr ? *chosen : *best;
  fit.agreement_low95 = wilson_low(fit.chosen.agreement, fit.chosen.kept);
  for (int decile = 1; decile <= 10; ++decile) {
    for (const AgreementPoint& p : points) {
      if (p.coverage >= decile / 10.0 - 1e-12) {
        if (fit.curve.empty() || fit.curve.back().kept != p.kept) fit.curve.push_back(p);
        break;
      }
    }
  }

  bool costs = std::any_of(answers.begin(), answers.end(),
                           [](const HeldOutAnswer& a) { return a.teacher_cost_usd > 0; });
  std::vector<routing::CascadeSample> samples;
  samples.reserve(n);
  double teacher_cost = 0;
  for (const HeldOutAnswer& a : answers) {
    const double cost = costs ? a.teacher_cost_usd : 1.0;
    teacher_cost += cost;
    samples.push_back({routing::StageOutcome{a.confidence, a.agrees, 0.0, true},
                       routing::StageOutcome{1.0, true, cost, true}});
  }
  routing::CascadeResult cascade = routing::simulate_cascade(samples, {fit.chosen.threshold});
  fit.cascade_agreement = cascade.accuracy;
  fit.teacher_cost_per_request = teacher_cost / static_cast<double>(n);
  fit.cascade_cost_per_request = cascade.mean_cost;
  fit.cost_saved_share =
      fit.teacher_cost_per_request > 0 ? 1 - cascade.mean_cost / fit.teacher_cost_per_request : 0;
  return fit;
}

DistillResult distill_task(const config::TaskConfig& task, const DistillOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (!task.distill) {
    throw DistillError("task '" + task.name + "' has no [tasks." + task.name + ".distill] section");
  }
  const config::DistillConfig& d = *task.distill;
  if (task.contract != "labels" || task.labels.size() < 2) {
    throw DistillError("task '" + task.name + "': distillation needs a labels task");
  }
  if (!(options.holdout > 0 && options.holdout < 1)) {
    throw DistillError("the held-out share must be between 0 and 1");
  }
  DistillResult result;
  result.records_path = options.records.empty() ? task.record : options.records;
  if (result.records_path.empty()) {
    throw DistillError("task '" + task.name +
                       "' records nothing (set `record`) and no records "
                       "file was given");
  }
  result.records = read_distill_records(result.records_path, task, d.teacher);
  const std::vector<DistillExample>& examples = result.records.examples;
  for (const std::string& label : task.labels) {
    result.label_counts.emplace_back(
        label, static_cast<std::size_t>(
                   std::count_if(examples.begin(), examples.end(),
                                 [&](const DistillExample& e) { return e.label == label; })));
  }
  if (examples.size() < d.min_records) {
    throw DistillError(result.records_path + ": " + std::to_string(examples.size()) +
                       " distinct answers of the teacher '" + d.teacher + "' for task '" +
                       task.name + "' (in " + std::to_string(result.records.task_records) +
                       " records of the task); at least " + std::to_string(d.min_records) +
                       " (min_records) are needed");
  }
  result.split = split_by_label(examples, task.labels, options.holdout, options.seed);
  result.train = result.split.train.size();
  std::size_t trained_labels = 0;
  for (const auto& [label, count] : result.label_counts) {
    if (count > 0 && std::find(result.split.unlearnable.begin(), result.split.unlearnable.end(),
                               label) == result.split.unlearnable.end()) {
      ++trained_labels;
    }
  }
  if (trained_labels < 2) {
    throw DistillError("the teacher '" + d.teacher + "' gave " +
                       (trained_labels == 1 ? "one label" : "no label") +
                       " often enough to learn: a classifier needs at least two");
  }

  // The training part, as `tandem train text` reads it: kept beside the artifact, so that the
  // artifact's data_sha256 names a file that can be trained on again.
  result.artifact = d.artifact;
  result.training_csv = d.artifact + ".train.csv";
  std::filesystem::path folder = std::filesystem::path(d.artifact).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder);
  {
    std::ofstream csv(result.training_csv, std::ios::binary | std::ios::trunc);
    if (!csv) throw DistillError("cannot write '" + result.training_csv + "'");
    csv << "text,label\n";
    // In text order: the model depends on the answers and the seed, not on the records' order.
    std::vector<std::size_t> rows = result.split.train;
    std::sort(rows.begin(), rows.end(),
              [&](std::size_t a, std::size_t b) { return examples[a].text < examples[b].text; });
    for (std::size_t i : rows) {
      write_csv_field(csv, examples[i].text);
      csv << ',';
      write_csv_field(csv, examples[i].label);
      csv << '\n';
    }
    if (!csv.flush()) throw DistillError("cannot write '" + result.training_csv + "'");
  }

  models::text::TextTrainOptions train;
  train.train_csv = result.training_csv;
  train.word_vectors = options.word_vectors;
  train.seed = options.seed;
  train.threads = std::max(1, options.threads);
  models::Artifact artifact;
  std::shared_ptr<const models::text::TextClassifier> model;
  try {
    artifact = models::text::train_text_classifier(train, options.progress);
    artifact.meta.params["distilled_from"] = d.teacher;
    artifact.meta.params["distilled_task"] = task.name;
    model = models::text::TextClassifier::from_artifact(artifact, d.artifact);
  } catch (const std::exception& e) {
    throw DistillError(std::string("training the distilled model failed: ") + e.what());
  }

  // The held-out answers, predicted exactly as the gateway will (the same model, its confidence).
  std::vector<HeldOutAnswer> answers;
  answers.reserve(result.split.held_out.size());
  for (std::size_t i : result.split.held_out) {
    const DistillExample& e = examples[i];
    HeldOutAnswer a;
    a.teacher_cost_usd = e.teacher_cost_usd;
    try {
      models::text::TextPrediction p = model->predict(e.text, 0);
      a.confidence = p.confidence;
      a.agrees = model->labels()[p.label] == e.label;
    } catch (const models::text::TextModelError&) {
      // A text the classifier cannot read (no word in it): it never answers such a request.
      a.confidence = 0;
      a.agrees = false;
    }
    answers.push_back(a);
  }
  result.fit = fit_agreement_threshold(answers, d.agreement, options.min_kept);
  const AgreementFit& fit = result.fit;
  artifact.meta.metrics["distill_agreement_all"] = fit.agreement_all;
  artifact.meta.metrics["distill_agreement"] = fit.chosen.agreement;
  artifact.meta.metrics["distill_coverage"] = fit.chosen.coverage;
  artifact.meta.metrics["distill_threshold"] = fit.chosen.threshold;
  artifact.meta.metrics["distill_held_out"] = static_cast<double>(fit.held_out);

  DistillState& s = result.state;
  s.teacher = d.teacher;
  s.threshold = fit.chosen.threshold;
  s.agreement = fit.chosen.agreement;
  s.coverage = fit.chosen.coverage;
  s.records = result.train;
  s.held_out = fit.held_out;
  s.accepted = fit.target_met && fit.chosen.coverage > 0;
  s.created_utc = models::utc_now_iso8601();
  try {
    // Not accepted first: a reload between these writes keeps the cascade as configured rather
    // than pairing the new model with the previous threshold.
    DistillState off = s;
    off.accepted = false;
    write_distill_state(d.artifact, off);
    models::write_artifact(d.artifact, artifact);
    if (s.accepted) write_distill_state(d.artifact, s);
  } catch (const std::exception& e) {
    throw DistillError(std::string("writing the distilled model failed: ") + e.what());
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace tandem::tasks
