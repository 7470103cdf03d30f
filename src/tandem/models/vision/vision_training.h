#pragma once
// Training the image classifier (issue 4) from IDX files (Fashion-MNIST's format) into a model
// artifact: a validation split is held out of the training images, the network is trained on
// the rest (vision_network.h), and the softmax temperature is fitted on the validation split
// (calibration.h) -- never on a test set.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tandem/datasets/idx.h"
#include "tandem/models/artifact.h"
#include "tandem/models/progress.h"
#include "tandem/models/vision/image_classifier.h"

namespace tandem::models::vision {

// Fashion-MNIST's class names, by label: "T-shirt/top", "Trouser", ..., "Ankle boot".
const std::vector<std::string>& fashion_mnist_labels();

struct VisionTrainOptions {
  std::filesystem::path train_images, train_labels;  // IDX (gzip or plain), 28 x 28 images
  double validation_fraction = 1.0 / 12;             // for the temperature (5,000 of 60,000)
  std::uint64_t seed = 42;
  // Training threads, each with a copy of the network and a part of every batch (OpenBLAS runs
  // one thread meanwhile; vision_network.h says why). A different count is a different run.
  int threads = 2;
  std::vector<std::string> label_names;  // default: fashion_mnist_labels()
  // The schedule (defaults measured to reach >= 0.92 test accuracy on Fashion-MNIST on two
  // cores; bench/vision/README.md).
  int epochs = 6;
  std::size_t batch_size = 128;
  double learning_rate = 0.1;  // peak; SGD with momentum 0.9, cosine decay
  double weight_decay = 5e-4;
  bool flip_augmentation = true;
  // Use only the first this many images of the file (0: all); for tests and quick runs.
  std::size_t max_examples = 0;
};

// What train_image_classifier measured on the validation split.
struct VisionTrainReport {
  std::size_t train_examples = 0;
  std::size_t validation_examples = 0;
  double validation_accuracy = 0;
  double validation_ece_raw = 0;  // before temperature scaling
  double validation_ece = 0;      // after
  double validation_nll_raw = 0;
  double validation_nll = 0;
  double temperature = 1;
  double train_seconds = 0;      // wall time of the network's training
  double train_cpu_seconds = 0;  // CPU time of the process over the same span
};

// Trains and returns the artifact: kind "vision", version kPayloadVersion, payload as in
// image_classifier.h, data_sha256 of the two training files, metrics (validation accuracy, ECE
// before and after calibration, NLL, temperature, training seconds) and params (the options).
// The same options and data give the same payload (tested); metrics differ only in the timings.
// Throws VisionError on bad options and datasets::DatasetError on bad files.
Artifact train_image_classifier(const VisionTrainOptions& options, const ProgressFn& progress,
                                VisionTrainReport* report = nullptr);

// The same from images already in memory; data_sha256 is left for the caller to set.
Artifact train_image_classifier(const datasets::ImageSet& data, const VisionTrainOptions& options,
                                const ProgressFn& progress, VisionTrainReport* report = nullptr);

}  // namespace tandem::models::vision
