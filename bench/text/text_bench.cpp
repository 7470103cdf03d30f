// The text classifier's benchmark (issue 4): on the Fine Foods sentiment data (4,000 train /
// 1,000 test reviews, labels great/other), the ensemble's accuracy, macro-F1 and calibration
// error (ECE), its training time and the in-process latency of predict() (with and without an
// explanation), beside stock fastText alone (libfasttext trained on the same tokens with the same
// settings, predicting through FastText::predictLine). bench/text/README.md has the figures.
//
//   tandem-text-bench [--data-dir=DIR] [--seed=S] [--rounds=N] [--vectors] [--threads=N]
//                     [--cv=FOLDS] [--validation=X] [--refit=0|1] [--features=0|1] [--l2=X]
//                     [--min-df=N] [--max-iterations=N] [--dim=N] [--epochs=N] [--lr=X]
//                     [--word-ngrams=N] [--bucket=N] [--min-count=N]
//
// --cv=FOLDS evaluates by cross-validation on the training file alone (the test file is not
// read): how the defaults were chosen.
#include <fasttext/fasttext.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tandem/datasets/data_files.h"
#include "tandem/datasets/text_dataset.h"
#include "tandem/models/artifact.h"
#include "tandem/models/classification_metrics.h"
#include "tandem/models/text/fasttext_model.h"
#include "tandem/models/text/text_classifier.h"
#include "tandem/models/text/text_training.h"
#include "tandem/models/text/tokenizer.h"

namespace {

using namespace tandem::models::text;
using tandem::datasets::TextDataset;
using Clock = std::chrono::steady_clock;

struct Args {
  std::filesystem::path data_dir;
  std::uint64_t seed = 42;
  int rounds = 5;
  int cv = 0;
  bool vectors = false;
  TextTrainOptions options;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "tandem-text-bench: %s\n"
               "usage: tandem-text-bench [--data-dir=DIR] [--seed=S] [--rounds=N] [--vectors] "
               "[--threads=N] [--cv=FOLDS] [--validation=X] [--refit=0|1] [--features=0|1] "
               "[--l2=X] [--min-df=N] [--max-iterations=N] [--dim=N] [--epochs=N] [--lr=X] "
               "[--word-ngrams=N] [--bucket=N] [--min-count=N]\n",
               problem.c_str());
  std::exit(2);
}

double number(const std::string& key, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0') usage("--" + key + " needs a number, not '" + value + "'");
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: tandem-text-bench [options]\n"
          "  --data-dir=DIR     prepared data (default: $TANDEM_DATA or ~/.cache/tandem/data)\n"
          "  --seed=S           training seed: validation split and fastText (default 42)\n"
          "  --rounds=N         latency: passes over the 1,000 test texts (default 5)\n"
          "  --vectors          start fastText from the GloVe vectors (glove_100d.bin)\n"
          "  --threads=N        training threads (1: models in turn; 2: at once)\n"
          "  --cv=FOLDS         cross-validate on the training file only (no test set)\n"
          "  --validation=X     fraction held out to fit the weight and temperature (0.1)\n"
          "  --refit=0|1        train both models again on all the data afterwards (1)\n"
          "  --features=0|1     linear model: 0 TF-IDF multinomial LR, 1 NB-LR (default)\n"
          "  model settings (defaults: TextTrainOptions): --l2 --min-df --max-iterations "
          "(linear); --dim --epochs --lr --word-ngrams --bucket --min-count (fastText)\n");
      std::exit(0);
    }
    if (arg == "--vectors") {
      a.vectors = true;
      continue;
    }
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) usage("unknown argument " + arg);
    const std::string key = arg.substr(2, eq - 2), value = arg.substr(eq + 1);
    if (key == "data-dir") {
      a.data_dir = value;
    } else if (key == "seed") {
      a.seed = static_cast<std::uint64_t>(number(key, value));
    } else if (key == "rounds") {
      a.rounds = static_cast<int>(number(key, value));
    } else if (key == "cv") {
      a.cv = static_cast<int>(number(key, value));
    } else if (key == "threads") {
      a.options.threads = static_cast<int>(number(key, value));
    } else if (key == "l2") {
      a.options.linear.l2 = number(key, value);
    } else if (key == "validation") {
      a.options.validation_fraction = number(key, value);
    } else if (key == "refit") {
      a.options.refit = number(key, value) != 0;
    } else if (key == "features") {
      a.options.linear.features = static_cast<LinearFeatures>(number(key, value));
    } else if (key == "min-df") {
      a.options.linear.min_df = static_cast<std::uint32_t>(number(key, value));
    } else if (key == "max-iterations") {
      a.options.linear.max_iterations = static_cast<int>(number(key, value));
    } else if (key == "dim") {
      a.options.fasttext.dim = static_cast<int>(number(key, value));
    } else if (key == "epochs") {
      a.options.fasttext.epochs = static_cast<int>(number(key, value));
    } else if (key == "lr") {
      a.options.fasttext.lr = number(key, value);
    } else if (key == "word-ngrams") {
      a.options.fasttext.word_ngrams = static_cast<int>(number(key, value));
    } else if (key == "bucket") {
      a.options.fasttext.bucket = static_cast<int>(number(key, value));
    } else if (key == "min-count") {
      a.options.fasttext.min_count = static_cast<int>(number(key, value));
    } else {
      usage("unknown option --" + key);
    }
  }
  if (a.rounds < 1) usage("--rounds must be >= 1");
  return a;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Latency {
  double p50_us = 0, p99_us = 0, mean_us = 0;
};

Latency summarise(std::vector<double> ns) {
  std::sort(ns.begin(), ns.end());
  Latency l;
  l.p50_us = ns[ns.size() / 2] / 1000;
  l.p99_us = ns[std::min(ns.size() - 1, ns.size() * 99 / 100)] / 1000;
  double sum = 0;
  for (double v : ns) sum += v;
  l.mean_us = sum / static_cast<double>(ns.size()) / 1000;
  return l;
}

template <typename F>
Latency time_each(const TextDataset& test, int rounds, F&& call) {
  std::vector<double> ns;
  ns.reserve(test.examples.size() * static_cast<std::size_t>(rounds));
  for (const auto& e : test.examples) call(e.text);  // warm-up: caches, thread-local buffers
  for (int r = 0; r < rounds; ++r) {
    for (const auto& e : test.examples) {
      const auto start = Clock::now();
      call(e.text);
      ns.push_back(static_cast<double>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count()));
    }
  }
  return summarise(std::move(ns));
}

// Stock fastText: libfasttext's own model object and FastText::predictLine.
class StockFastText {
 public:
  explicit StockFastText(const std::string& bytes) {
    const auto path = std::filesystem::temp_directory_path() / "tandem-text-bench-stock.bin";
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    model_.loadModel(path.string());
    std::filesystem::remove(path);
  }
  // (label index, probability) for `text`, tokenised as the ensemble does.
  std::pair<std::uint32_t, float> predict(const std::string& text) const {
    const Tokens tokens = tokenize(text);
    std::string line;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) line.push_back(' ');
      line.append(tokens[i]);
    }
    line.push_back('\n');
    std::istringstream in(line);
    std::vector<std::pair<fasttext::real, std::string>> predictions;
    model_.predictLine(in, predictions, 1, 0.0);
    const auto label = static_cast<std::uint32_t>(std::stoul(predictions.at(0).second.substr(9)));
    // predictLine's score is exp(log(p + 1e-5)), the probability plus 1e-5.
    return {label, std::clamp(predictions[0].first - 1e-5f, 0.0f, 1.0f)};
  }

 private:
  fasttext::FastText model_;
};

std::string quote_csv(const std::string& field) {
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

int cross_validate(const Args& args, const std::filesystem::path& train_file) {
  const TextDataset data = tandem::datasets::load_text_csv(train_file);
  const auto folds = static_cast<std::size_t>(args.cv);
  if (folds < 2) usage("--cv needs at least 2 folds");
  // Fold of each example: i mod folds in a seeded order (the same for every setting).
  std::vector<std::size_t> order(data.examples.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::uint64_t state = 12345;
  for (std::size_t i = order.size(); i > 1; --i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    std::swap(order[i - 1], order[(state >> 33) % i]);
  }
  std::vector<std::size_t> fold_of(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) fold_of[order[i]] = i % folds;
  double accuracy = 0, ece = 0, linear = 0, fast = 0, weight = 0, seconds = 0;
  const auto temp = std::filesystem::temp_directory_path() / "tandem-text-bench-cv.csv";
  for (std::size_t f = 0; f < folds; ++f) {
    TextDataset held_out;
    held_out.labels = data.labels;
    {
      std::ofstream out(temp, std::ios::trunc);
      out << "text,label\n";
      for (std::size_t i = 0; i < data.examples.size(); ++i) {
        if (fold_of[i] == f) {
          held_out.examples.push_back(data.examples[i]);
        } else {
          out << quote_csv(data.examples[i].text) << ',' << data.labels[data.examples[i].label]
              << '\n';
        }
      }
    }
    TextTrainOptions options = args.options;
    options.train_csv = temp;
    options.seed = args.seed;
    const auto start = Clock::now();
    const tandem::models::Artifact artifact = train_text_classifier(options, {});
    seconds += seconds_since(start);
    const auto model = TextClassifier::from_artifact(artifact, "cv");
    const auto report = evaluate_text_classifier(*model, held_out);
    // The sub-models alone on the held-out fold.
    std::size_t linear_right = 0, fast_right = 0;
    std::vector<float> logits(data.labels.size());
    for (const auto& e : held_out.examples) {
      const Tokens tokens = tokenize(e.text);
      model->linear().logits(tokens, logits);
      linear_right += std::max_element(logits.begin(), logits.end()) - logits.begin() ==
                      static_cast<std::ptrdiff_t>(e.label);
      model->fasttext().logits(tokens, logits);
      fast_right += std::max_element(logits.begin(), logits.end()) - logits.begin() ==
                    static_cast<std::ptrdiff_t>(e.label);
    }
    const double n = static_cast<double>(held_out.examples.size());
    std::printf("fold %zu: accuracy %.4f ece %.4f | linear %.4f fastText %.4f | w %.2f T %.3f\n", f,
                report.accuracy, report.ece, linear_right / n, fast_right / n,
                artifact.meta.metrics.at("fasttext_weight"),
                artifact.meta.metrics.at("temperature"));
    std::fflush(stdout);
    accuracy += report.accuracy;
    ece += report.ece;
    linear += linear_right / n;
    fast += fast_right / n;
    weight += artifact.meta.metrics.at("fasttext_weight");
  }
  std::filesystem::remove(temp);
  const double k = static_cast<double>(folds);
  std::printf(
      "cv mean: accuracy %.4f ece %.4f | linear %.4f fastText %.4f | w %.2f | %.1f s per fold\n",
      accuracy / k, ece / k, linear / k, fast / k, weight / k, seconds / k);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  if (args.data_dir.empty()) args.data_dir = tandem::datasets::data_dir();
  const auto train_file = args.data_dir / tandem::datasets::files::kFineFoodsTrain;
  const auto test_file = args.data_dir / tandem::datasets::files::kFineFoodsTest;
  if (!std::filesystem::exists(train_file) || !std::filesystem::exists(test_file)) {
    usage("the Fine Foods files are not in " + args.data_dir.string() +
          ": run scripts/setup_data.sh");
  }
  if (args.vectors) args.options.word_vectors = args.data_dir / tandem::datasets::files::kGlove100d;
  try {
    if (args.cv > 0) return cross_validate(args, train_file);

    const TextDataset test = tandem::datasets::load_text_csv(test_file);
    TextTrainOptions options = args.options;
    options.train_csv = train_file;
    options.seed = args.seed;

    // The ensemble: train, save, load back, evaluate.
    auto start = Clock::now();
    const tandem::models::Artifact artifact = train_text_classifier(options, {});
    const double train_s = seconds_since(start);
    const auto artifact_path = std::filesystem::temp_directory_path() / "tandem-text-bench.tdm";
    tandem::models::write_artifact(artifact_path.string(), artifact);
    const auto artifact_bytes = std::filesystem::file_size(artifact_path);
    start = Clock::now();
    const auto model = TextClassifier::load(artifact_path.string());
    const double load_s = seconds_since(start);
    std::filesystem::remove(artifact_path);
    const auto report = evaluate_text_classifier(*model, test);
    std::size_t linear_right = 0, fast_right = 0;
    std::vector<float> logits(test.labels.size());
    for (const auto& e : test.examples) {
      const Tokens tokens = tokenize(e.text);
      model->linear().logits(tokens, logits);
      linear_right += std::max_element(logits.begin(), logits.end()) - logits.begin() ==
                      static_cast<std::ptrdiff_t>(e.label);
      model->fasttext().logits(tokens, logits);
      fast_right += std::max_element(logits.begin(), logits.end()) - logits.begin() ==
                    static_cast<std::ptrdiff_t>(e.label);
    }
    const Latency plain = time_each(
        test, args.rounds, [&](const std::string& text) { return model->predict(text, 0).label; });
    const Latency explained = time_each(test, args.rounds, [&](const std::string& text) {
      return model->predict(text, 5).explanation.size();
    });
    // Where the time of a prediction goes.
    Tokens scratch;
    std::vector<float> out(test.labels.size());
    const Latency checking = time_each(test, args.rounds, [&](const std::string& text) {
      check_text(text);
      return 0;
    });
    const Latency tokenising = time_each(test, args.rounds, [&](const std::string& text) {
      tokenize(text, scratch);
      return scratch.size();
    });
    std::vector<Tokens> test_tokens;
    for (const auto& e : test.examples) test_tokens.push_back(tokenize(e.text));
    std::size_t next = 0;
    const Latency linear_only = time_each(test, args.rounds, [&](const std::string&) {
      model->linear().logits(test_tokens[next++ % test_tokens.size()], out);
      return out[0];
    });
    next = 0;
    const Latency fasttext_only = time_each(test, args.rounds, [&](const std::string&) {
      model->fasttext().logits(test_tokens[next++ % test_tokens.size()], out);
      return out[0];
    });

    // Stock fastText on all 4,000 training reviews, same tokens and settings.
    std::vector<Tokens> texts;
    std::vector<std::uint32_t> labels;
    const TextDataset train = tandem::datasets::load_text_csv(train_file);
    for (const auto& e : train.examples) {
      texts.push_back(tokenize(e.text));
      labels.push_back(e.label);
    }
    FastTextOptions fasttext_options = options.fasttext;
    fasttext_options.word_vectors = options.word_vectors;
    start = Clock::now();
    const std::string stock_bytes =
        FastTextModel::train(texts, labels, train.labels.size(), fasttext_options, options.seed);
    const double stock_train_s = seconds_since(start);
    const StockFastText stock(stock_bytes);
    std::vector<std::uint32_t> truth, predicted;
    std::vector<float> confidence;
    for (const auto& e : test.examples) {
      const auto [label, probability] = stock.predict(e.text);
      truth.push_back(e.label);
      predicted.push_back(label);
      confidence.push_back(probability);
    }
    const auto stock_report =
        tandem::models::evaluate_classification(test.labels, truth, predicted, confidence);
    const Latency stock_latency = time_each(
        test, args.rounds, [&](const std::string& text) { return stock.predict(text).first; });

    const auto& m = artifact.meta.metrics;
    std::printf("Fine Foods sentiment: %zu train / %zu test reviews (majority class %.3f)\n",
                train.examples.size(), test.examples.size(),
                static_cast<double>(std::max(test.count("great"), test.count("other"))) /
                    static_cast<double>(test.examples.size()));
    std::printf(
        "ensemble: fastText weight %.2f, temperature %.3f; validation (%g reviews) "
        "accuracy %.4f, ECE %.4f; %g linear features, %g fastText words\n",
        m.at("fasttext_weight"), m.at("temperature"), m.at("validation_examples"),
        m.at("validation_accuracy"), m.at("validation_ece"), m.at("linear_features"),
        m.at("fasttext_words"));
    std::printf(
        "\n| model | accuracy | macro-F1 | ECE | training | p50 predict | p99 predict | "
        "p50 with explanation | p99 with explanation | size |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    std::printf(
        "| ensemble (fastText + NB logistic regression, calibrated) | %.4f | %.4f | "
        "%.4f | %.1f s | %.1f us | %.1f us | %.1f us | %.1f us | %.1f MB |\n",
        report.accuracy, report.macro_f1, report.ece, train_s, plain.p50_us, plain.p99_us,
        explained.p50_us, explained.p99_us, static_cast<double>(artifact_bytes) / 1e6);
    std::printf(
        "| stock fastText (libfasttext predictLine) | %.4f | %.4f | %.4f | %.1f s | "
        "%.1f us | %.1f us | n/a | n/a | %.1f MB |\n",
        stock_report.accuracy, stock_report.macro_f1, stock_report.ece, stock_train_s,
        stock_latency.p50_us, stock_latency.p99_us, static_cast<double>(stock_bytes.size()) / 1e6);
    const double n = static_cast<double>(test.examples.size());
    std::printf("\nthe ensemble's parts alone on the test set (%s): linear %.4f, fastText %.4f\n",
                options.refit ? "refit on all the training reviews" : "trained on the 90% split",
                linear_right / n, fast_right / n);
    std::printf("artifact load %.3f s; mean predict %.1f us, with explanation %.1f us\n", load_s,
                plain.mean_us, explained.mean_us);
    std::printf(
        "p50 of the steps: check_text %.1f us, tokenize %.1f us, linear logits %.1f us, "
        "fastText logits %.1f us\n\n",
        checking.p50_us, tokenising.p50_us, linear_only.p50_us, fasttext_only.p50_us);
    std::printf("%s", tandem::models::format_classification_report(report).c_str());
    const auto example = model->predict(test.examples[0].text, 5);
    std::printf("\nexample: \"%.80s...\" -> %s (%.3f):", test.examples[0].text.c_str(),
                model->labels()[example.label].c_str(), example.confidence);
    for (const auto& t : example.explanation) std::printf(" [%s %+.3f]", t.token.c_str(), t.weight);
    std::printf("\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem-text-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
