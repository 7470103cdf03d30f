// The image classifier's benchmark (issue 4): trains the CNN on Fashion-MNIST (or loads a trained
// artifact with --model) and prints test accuracy, macro-F1 and calibration error beside a
// multinomial logistic regression on the raw pixels, the training wall and CPU time, the latency
// of classify() on one image (p50/p99, with one and with several BLAS threads), and batched and
// concurrent throughput. bench/vision/README.md has the measured figures and the command.
//
//   tandem-vision-bench [--data=DIR] [--model=FILE] [--out=FILE] [--epochs=N] [--lr=X]
//                       [--batch=N] [--weight-decay=X] [--no-flip] [--max-examples=N]
//                       [--seed=S] [--threads=N] [--queries=N] [--no-baseline] [--report]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tandem/datasets/data_files.h"
#include "tandem/datasets/dataset_error.h"
#include "tandem/datasets/idx.h"
#include "tandem/models/artifact.h"
#include "tandem/models/calibration.h"
#include "tandem/models/classification_metrics.h"
#include "tandem/models/vision/blas_threads.h"
#include "tandem/models/vision/image_classifier.h"
#include "tandem/models/vision/vision_training.h"

namespace {

using namespace tandem::models;
using namespace tandem::models::vision;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string data;
  std::string model;
  std::string out;
  VisionTrainOptions train;
  std::size_t queries = 5000;
  bool baseline = true;
  bool report = false;
};

constexpr const char* kUsage =
    "usage: tandem-vision-bench [--data=DIR] [--model=FILE] [--out=FILE] [--epochs=N] [--lr=X] "
    "[--batch=N] [--weight-decay=X] [--no-flip] [--max-examples=N] [--seed=S] [--threads=N] "
    "[--queries=N] [--no-baseline] [--report]\n";

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr, "tandem-vision-bench: %s\n%s", problem.c_str(), kUsage);
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
          "%s"
          "  --data          folder with fashion-mnist/*.gz (default: $TANDEM_DATA or "
          "~/.cache/tandem/data)\n"
          "  --model         evaluate this artifact instead of training one\n"
          "  --out           where the trained artifact goes (default "
          "~/.cache/tandem/models/fashion-mnist-cnn.tandem)\n"
          "  --epochs, --lr, --batch, --weight-decay, --no-flip, --max-examples, --seed, "
          "--threads: training options (VisionTrainOptions; defaults are the library's)\n"
          "  --queries       single-image classify() calls per latency figure (default 5000)\n"
          "  --no-baseline   skip the logistic regression on pixels\n"
          "  --report        print the per-label table and confusion matrix\n",
          kUsage);
      std::exit(0);
    }
    if (arg == "--no-flip") {
      a.train.flip_augmentation = false;
      continue;
    }
    if (arg == "--no-baseline") {
      a.baseline = false;
      continue;
    }
    if (arg == "--report") {
      a.report = true;
      continue;
    }
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) usage("unknown argument '" + arg + "'");
    const std::string key = arg.substr(2, eq - 2);
    const std::string value = arg.substr(eq + 1);
    if (key == "data") {
      a.data = value;
    } else if (key == "model") {
      a.model = value;
    } else if (key == "out") {
      a.out = value;
    } else if (key == "epochs") {
      a.train.epochs = static_cast<int>(number(key, value));
    } else if (key == "lr") {
      a.train.learning_rate = number(key, value);
    } else if (key == "batch") {
      a.train.batch_size = static_cast<std::size_t>(number(key, value));
    } else if (key == "weight-decay") {
      a.train.weight_decay = number(key, value);
    } else if (key == "max-examples") {
      a.train.max_examples = static_cast<std::size_t>(number(key, value));
    } else if (key == "seed") {
      a.train.seed = static_cast<std::uint64_t>(number(key, value));
    } else if (key == "threads") {
      a.train.threads = static_cast<int>(number(key, value));
    } else if (key == "queries") {
      a.queries = static_cast<std::size_t>(number(key, value));
    } else {
      usage("unknown option '--" + key + "'");
    }
  }
  return a;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Multinomial logistic regression on the 784 pixels / 255 (plus a bias), SGD with a decaying
// step, 10 epochs; the reference a CNN has to beat by a margin. Calibrated the same way (its
// temperature on the last twelfth of the training images).
ClassificationReport logistic_baseline(const tandem::datasets::ImageSet& train,
                                       const tandem::datasets::ImageSet& test,
                                       const std::vector<std::string>& labels, double* seconds) {
  const auto start = Clock::now();
  constexpr std::size_t kIn = 785;
  const std::size_t classes = labels.size();
  const std::size_t validation = train.size() / 12;
  const std::size_t fit = train.size() - validation;
  std::vector<float> w(classes * kIn, 0.0f);
  std::vector<float> x(kIn), z(classes), p(classes);
  const auto features = [&](std::span<const std::uint8_t> image) {
    for (std::size_t j = 0; j < 784; ++j) x[j] = image[j] / 255.0f;
    x[784] = 1;
  };
  const auto scores = [&]() {
    for (std::size_t c = 0; c < classes; ++c) {
      float s = 0;
      for (std::size_t j = 0; j < kIn; ++j) s += w[c * kIn + j] * x[j];
      z[c] = s;
    }
  };
  std::mt19937_64 rng(7);
  std::vector<std::size_t> order(fit);
  for (std::size_t i = 0; i < fit; ++i) order[i] = i;
  const int epochs = 10;
  for (int e = 0; e < epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    const float lr = 0.05f / (1.0f + static_cast<float>(e));
    for (std::size_t i : order) {
      features(train.image(i));
      scores();
      softmax(z, 1.0, p);
      p[train.labels[i]] -= 1;
      for (std::size_t c = 0; c < classes; ++c) {
        const float g = lr * p[c];
        for (std::size_t j = 0; j < kIn; ++j) w[c * kIn + j] -= g * x[j];
      }
    }
  }
  const auto logits_of = [&](const tandem::datasets::ImageSet& set, std::size_t begin,
                             std::size_t end) {
    std::vector<float> out;
    for (std::size_t i = begin; i < end; ++i) {
      features(set.image(i));
      scores();
      out.insert(out.end(), z.begin(), z.end());
    }
    return out;
  };
  const std::vector<float> val_logits = logits_of(train, fit, train.size());
  const std::vector<std::uint32_t> val_truth(train.labels.begin() + static_cast<long>(fit),
                                             train.labels.end());
  const double t = fit_temperature(val_logits, classes, val_truth);
  const std::vector<float> test_logits = logits_of(test, 0, test.size());
  std::vector<std::uint32_t> truth(test.size()), predicted(test.size());
  std::vector<float> confidence(test.size());
  for (std::size_t i = 0; i < test.size(); ++i) {
    softmax(std::span<const float>(test_logits).subspan(i * classes, classes), t, p);
    const auto best = std::max_element(p.begin(), p.end());
    truth[i] = test.labels[i];
    predicted[i] = static_cast<std::uint32_t>(best - p.begin());
    confidence[i] = std::clamp(*best, 0.0f, 1.0f);
  }
  *seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return evaluate_classification(labels, truth, predicted, confidence);
}

struct Latency {
  double p50_us = 0;
  double p99_us = 0;
};

Latency classify_latency(const ImageClassifier& model, const tandem::datasets::ImageSet& test,
                         std::size_t queries) {
  std::vector<double> us;
  us.reserve(queries);
  GreyImage image{kImageSide, kImageSide, {}};
  for (std::size_t q = 0; q < queries; ++q) {
    const auto pixels = test.image(q % test.size());
    image.pixels.assign(pixels.begin(), pixels.end());
    const auto t0 = Clock::now();
    const auto top = model.classify(image, 3);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (top.empty()) std::abort();
  }
  return {percentile(us, 0.5), percentile(us, 0.99)};
}

// Images per second with `threads` threads each calling classify() on single images.
double concurrent_throughput(const ImageClassifier& model, const tandem::datasets::ImageSet& test,
                             int threads, std::size_t per_thread) {
  std::vector<std::thread> pool;
  const auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      GreyImage image{kImageSide, kImageSide, {}};
      for (std::size_t q = 0; q < per_thread; ++q) {
        const auto pixels = test.image((q * 7 + static_cast<std::size_t>(t)) % test.size());
        image.pixels.assign(pixels.begin(), pixels.end());
        if (model.classify(image, 1).empty()) std::abort();
      }
    });
  }
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return static_cast<double>(per_thread) * threads / s;
}

int run(const Args& args) {
  const std::filesystem::path dir =
      args.data.empty() ? tandem::datasets::data_dir() : std::filesystem::path(args.data);
  namespace files = tandem::datasets::files;
  std::printf("machine: %u hardware threads, load average %s (1/5/15 min) at start\n",
              std::thread::hardware_concurrency(), load_average().c_str());
  std::printf("BLAS: %s\n", blas_description().c_str());
  const auto test = tandem::datasets::load_idx_images(dir / files::kFashionTestImages,
                                                      dir / files::kFashionTestLabels);
  std::shared_ptr<const ImageClassifier> model;
  std::string path = args.model;
  if (path.empty()) {
    VisionTrainOptions options = args.train;
    options.train_images = dir / files::kFashionTrainImages;
    options.train_labels = dir / files::kFashionTrainLabels;
    path = args.out;
    if (path.empty()) {
      const char* home = std::getenv("HOME");
      path = std::string(home ? home : ".") + "/.cache/tandem/models/fashion-mnist-cnn.tandem";
    }
    std::string last_phase;
    auto phase_start = Clock::now();
    const auto train_start = Clock::now();
    const ProgressFn progress = [&](const TrainProgress& p) {
      if (p.done == p.total && p.total > 0 && p.phase != last_phase) {
        last_phase = p.phase;
        const double s = std::chrono::duration<double>(Clock::now() - phase_start).count();
        const double all = std::chrono::duration<double>(Clock::now() - train_start).count();
        std::fprintf(stderr, "  %-20s %6.1f s (%.0f s in all)  %s  load %s\n", p.phase.c_str(), s,
                     all, p.detail.c_str(), load_average().c_str());
        phase_start = Clock::now();
      }
    };
    VisionTrainReport report;
    std::printf(
        "training: %d epochs, batch %zu, lr %g, weight decay %g, flip %s, seed %llu, "
        "%d training threads%s\n",
        options.epochs, options.batch_size, options.learning_rate, options.weight_decay,
        options.flip_augmentation ? "on" : "off", static_cast<unsigned long long>(options.seed),
        options.threads,
        options.max_examples
            ? (", first " + std::to_string(options.max_examples) + " images").c_str()
            : "");
    const Artifact artifact = train_image_classifier(options, progress, &report);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_artifact(path, artifact);
    std::printf(
        "trained on %zu images (%zu held out for the temperature): %.1f s wall, %.1f s "
        "CPU (%.2f cores busy); load average %s at the end\n",
        report.train_examples, report.validation_examples, report.train_seconds,
        report.train_cpu_seconds, report.train_cpu_seconds / report.train_seconds,
        load_average().c_str());
    std::printf(
        "validation: accuracy %.4f, temperature %.3f, ECE %.4f -> %.4f, NLL %.4f -> "
        "%.4f\n",
        report.validation_accuracy, report.temperature, report.validation_ece_raw,
        report.validation_ece, report.validation_nll_raw, report.validation_nll);
    std::printf("artifact: %s (%ju bytes)\n", path.c_str(),
                static_cast<std::uintmax_t>(std::filesystem::file_size(path)));
  }
  model = ImageClassifier::load(path);

  const auto eval_start = Clock::now();
  const ClassificationReport report = evaluate_image_classifier(*model, test);
  const double eval_s = std::chrono::duration<double>(Clock::now() - eval_start).count();
  std::printf("\nFashion-MNIST test (%zu images)   accuracy  macro-F1  ECE     train s\n",
              report.examples);
  std::printf("  CNN (this model)                %.4f    %.4f    %.4f\n", report.accuracy,
              report.macro_f1, report.ece);
  if (args.baseline) {
    const auto train = tandem::datasets::load_idx_images(dir / files::kFashionTrainImages,
                                                         dir / files::kFashionTrainLabels);
    double seconds = 0;
    const ClassificationReport base = logistic_baseline(train, test, model->labels(), &seconds);
    std::printf("  logistic regression on pixels   %.4f    %.4f    %.4f  %.1f\n", base.accuracy,
                base.macro_f1, base.ece, seconds);
  }
  if (args.report) std::printf("\n%s\n", format_classification_report(report).c_str());

  std::printf(
      "\nbatched inference (256 per forward, 1 thread): %.0f images/s (%.1f us per "
      "image)\n",
      static_cast<double>(test.size()) / eval_s, eval_s * 1e6 / static_cast<double>(test.size()));
  if (args.queries > 0) {
    const int default_threads = blas_threads();
    for (const int blas : {1, std::max(2, default_threads)}) {
      set_blas_threads(blas);
      classify_latency(*model, test, std::min<std::size_t>(200, args.queries));  // warm-up
      const double cpu0 = cpu_seconds();
      const auto wall0 = Clock::now();
      const Latency l = classify_latency(*model, test, args.queries);
      const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
      const double cpu = cpu_seconds() - cpu0;
      std::printf(
          "classify() one image, %d BLAS thread%s: p50 %.0f us, p99 %.0f us "
          "(CPU %.0f us per call)\n",
          blas, blas == 1 ? "" : "s", l.p50_us, l.p99_us,
          cpu * 1e6 / static_cast<double>(args.queries));
      (void)wall;
      for (const int threads : {2, 4}) {
        const double ips = concurrent_throughput(*model, test, threads, args.queries / 2);
        std::printf("  %d threads calling classify() at once: %.0f images/s\n", threads, ips);
      }
    }
    set_blas_threads(default_threads);
  }
  std::printf("load average at the end: %s\n", load_average().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // OpenBLAS does not know this CPU and would use its slowest kernels (blas_threads.h).
  reexec_for_openblas_core(argv);
  const Args args = parse(argc, argv);
  try {
    return run(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem-vision-bench: %s\n", e.what());
    return 1;
  }
}
