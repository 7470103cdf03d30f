#include "tandem/models/vision/vision_training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <numeric>
#include <random>

#include "tandem/models/calibration.h"
#include "tandem/models/classification_metrics.h"
#include "tandem/models/vision/blas_threads.h"
#include "tandem/models/vision/vision_network.h"

namespace tandem::models::vision {
namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

std::string number_text(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

// Sets OpenBLAS's thread count and restores it however training ends.
class BlasThreadsScope {
 public:
  explicit BlasThreadsScope(int threads) : previous_(set_blas_threads(threads)) {}
  ~BlasThreadsScope() {
    if (previous_ > 0) set_blas_threads(previous_);
  }
  BlasThreadsScope(const BlasThreadsScope&) = delete;
  BlasThreadsScope& operator=(const BlasThreadsScope&) = delete;

 private:
  int previous_;
};

void check_options(const VisionTrainOptions& o, std::size_t classes) {
  if (!(o.validation_fraction > 0 && o.validation_fraction < 0.5)) {
    throw VisionError("validation fraction must be in (0, 0.5); got " +
                      number_text(o.validation_fraction));
  }
  if (o.threads < 1 || o.threads > 256) {
    throw VisionError("threads must be 1 to 256; got " + std::to_string(o.threads));
  }
  if (o.epochs < 1 || o.epochs > 1000) {
    throw VisionError("epochs must be 1 to 1000; got " + std::to_string(o.epochs));
  }
  if (o.batch_size < 1 || o.batch_size > 4096) {
    throw VisionError("batch size must be 1 to 4096; got " + std::to_string(o.batch_size));
  }
  if (!(o.learning_rate > 0 && o.learning_rate <= 10)) {
    throw VisionError("learning rate must be in (0, 10]; got " + number_text(o.learning_rate));
  }
  if (!(o.weight_decay >= 0 && o.weight_decay < 1)) {
    throw VisionError("weight decay must be in [0, 1); got " + number_text(o.weight_decay));
  }
  if (classes < 2 || classes > 1000) {
    throw VisionError(std::to_string(classes) + " label names; 2 to 1000 needed");
  }
}

}  // namespace

const std::vector<std::string>& fashion_mnist_labels() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

Artifact train_image_classifier(const VisionTrainOptions& options, const ProgressFn& progress,
                                VisionTrainReport* report) {
  const std::size_t classes =
      options.label_names.empty() ? fashion_mnist_labels().size() : options.label_names.size();
  check_options(options, classes);
  if (progress) progress({"loading images", 0, 0, options.train_images.string()});
  datasets::ImageSet data = datasets::load_idx_images(options.train_images, options.train_labels,
                                                      static_cast<unsigned>(classes));
  Artifact artifact = train_image_classifier(data, options, progress, report);
  artifact.meta.data_sha256 =
      sha256_files({options.train_images.string(), options.train_labels.string()});
  artifact.meta.params["train_images"] = options.train_images.string();
  artifact.meta.params["train_labels"] = options.train_labels.string();
  return artifact;
}

Artifact train_image_classifier(const datasets::ImageSet& data, const VisionTrainOptions& options,
                                const ProgressFn& progress, VisionTrainReport* report) {
  const std::vector<std::string> labels =
      options.label_names.empty() ? fashion_mnist_labels() : options.label_names;
  check_options(options, labels.size());
  if (data.rows != kImageSide || data.cols != kImageSide) {
    throw VisionError("training images are " + std::to_string(data.cols) + " x " +
                      std::to_string(data.rows) + "; the classifier takes 28 x 28");
  }
  const std::size_t total =
      options.max_examples == 0 ? data.size() : std::min(options.max_examples, data.size());
  const auto validation = static_cast<std::size_t>(
      std::llround(static_cast<double>(total) * options.validation_fraction));
  if (validation < 10 || total - validation < 10) {
    throw VisionError(std::to_string(total) + " images with validation fraction " +
                      number_text(options.validation_fraction) +
                      " leave too few for training or validation (10 each at least)");
  }
  for (std::size_t i = 0; i < total; ++i) {
    if (data.labels[i] >= labels.size()) {
      throw VisionError("training image " + std::to_string(i) + " has label " +
                        std::to_string(data.labels[i]) + "; there are " +
                        std::to_string(labels.size()) + " label names");
    }
  }

  // A seeded random split: the validation images first, the training images after.
  std::vector<std::size_t> order(total);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 split_rng(options.seed ^ 0x9e3779b97f4a7c15ull);
  std::shuffle(order.begin(), order.end(), split_rng);
  const auto gather = [&](std::size_t begin, std::size_t end, std::vector<std::uint8_t>& pixels,
                          std::vector<std::uint8_t>& y) {
    pixels.resize((end - begin) * kImagePixels);
    y.resize(end - begin);
    for (std::size_t i = begin; i < end; ++i) {
      const auto image = data.image(order[i]);
      std::copy(image.begin(), image.end(), pixels.begin() + (i - begin) * kImagePixels);
      y[i - begin] = data.labels[order[i]];
    }
  };
  std::vector<std::uint8_t> val_pixels, val_labels, train_pixels, train_labels;
  gather(0, validation, val_pixels, val_labels);
  gather(validation, total, train_pixels, train_labels);

  NetworkTrainOptions net_options;
  net_options.epochs = options.epochs;
  net_options.batch_size = options.batch_size;
  net_options.learning_rate = options.learning_rate;
  net_options.weight_decay = options.weight_decay;
  net_options.flip_augmentation = options.flip_augmentation;
  net_options.seed = options.seed;
  net_options.threads = options.threads;

  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds();
  std::string network;
  {
    BlasThreadsScope blas(1);  // the threads are the network's copies (vision_network.h)
    network = train_network(train_pixels, train_labels, labels.size(), net_options, progress);
  }
  const double train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  const double train_cpu = cpu_seconds() - cpu_start;

  // The temperature, on the validation split.
  if (progress) progress({"fitting temperature", 0, 1, ""});
  InferenceNet net(network);
  std::vector<float> logits(validation * labels.size());
  for (std::size_t begin = 0; begin < validation; begin += 256) {
    const std::size_t n = std::min<std::size_t>(256, validation - begin);
    net.logits(
        std::span<const std::uint8_t>(val_pixels).subspan(begin * kImagePixels, n * kImagePixels),
        n, std::span<float>(logits).subspan(begin * labels.size(), n * labels.size()));
  }
  const std::vector<std::uint32_t> truth(val_labels.begin(), val_labels.end());
  const double temperature = fit_temperature(logits, labels.size(), truth);
  const auto report_at = [&](double t) {
    std::vector<std::uint32_t> predicted(validation);
    std::vector<float> confidence(validation);
    std::vector<float> probs(labels.size());
    for (std::size_t i = 0; i < validation; ++i) {
      softmax(std::span<const float>(logits).subspan(i * labels.size(), labels.size()), t, probs);
      const auto best = std::max_element(probs.begin(), probs.end());
      predicted[i] = static_cast<std::uint32_t>(best - probs.begin());
      confidence[i] = std::clamp(*best, 0.0f, 1.0f);
    }
    return evaluate_classification(labels, truth, predicted, confidence);
  };
  const ClassificationReport raw = report_at(1.0);
  const ClassificationReport calibrated = report_at(temperature);
  if (progress) progress({"fitting temperature", 1, 1, "T = " + number_text(temperature)});

  VisionTrainReport r;
  r.train_examples = total - validation;
  r.validation_examples = validation;
  r.validation_accuracy = calibrated.accuracy;
  r.validation_ece_raw = raw.ece;
  r.validation_ece = calibrated.ece;
  r.validation_nll_raw = mean_nll(logits, labels.size(), truth, 1.0);
  r.validation_nll = mean_nll(logits, labels.size(), truth, temperature);
  r.temperature = temperature;
  r.train_seconds = train_seconds;
  r.train_cpu_seconds = train_cpu;
  if (report != nullptr) *report = r;

  Artifact artifact;
  artifact.meta.kind = kArtifactKind;
  artifact.meta.version = kPayloadVersion;
  artifact.meta.metrics = {{"validation_accuracy", r.validation_accuracy},
                           {"validation_macro_f1", calibrated.macro_f1},
                           {"validation_ece", r.validation_ece},
                           {"validation_ece_uncalibrated", r.validation_ece_raw},
                           {"validation_nll", r.validation_nll},
                           {"temperature", r.temperature},
                           {"train_seconds", r.train_seconds},
                           {"train_cpu_seconds", r.train_cpu_seconds}};
  artifact.meta.params = {{"epochs", std::to_string(options.epochs)},
                          {"batch_size", std::to_string(options.batch_size)},
                          {"learning_rate", number_text(options.learning_rate)},
                          {"weight_decay", number_text(options.weight_decay)},
                          {"flip_augmentation", options.flip_augmentation ? "true" : "false"},
                          {"validation_fraction", number_text(options.validation_fraction)},
                          {"seed", std::to_string(options.seed)},
                          {"threads", std::to_string(options.threads)},
                          {"train_examples", std::to_string(r.train_examples)},
                          {"validation_examples", std::to_string(r.validation_examples)},
                          {"architecture", "conv5x5x32-bn-pool-conv3x3x64-bn-pool-fc128-bn-fc"}};
  artifact.payload = encode_payload({labels, temperature, std::move(network)});
  return artifact;
}

}  // namespace tandem::models::vision
