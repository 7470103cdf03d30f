#pragma once
// The CNN itself, on dlib's DNN. All dlib code lives in vision_network.cpp (dlib's network types
// are deep templates: only that file pays their compile time); this header is plain C++.
//
// Architecture (28 x 28 x 1 input, "same" padding):
//   conv 5x5, 32 filters -> batch norm -> ReLU -> max pool 2x2      (14 x 14 x 32)
//   conv 3x3, 64 filters -> batch norm -> ReLU -> max pool 2x2      (7 x 7 x 64)
//   fully connected 128 -> batch norm -> ReLU -> fully connected L   (the logits)
// About 4.5 million multiply-adds per image; see bench/vision/README.md for how it was chosen.
// Training uses the batch-norm layers; the stored network has them folded into affine layers
// (dlib's inference form), which is faster and stateless between images.
//
// dlib's CPU layers run on one thread each; convolutions and fully connected layers are matrix
// products through BLAS (OpenBLAS here, blas_threads.h), which brings its own threads. Only about
// a third of a training step is in those products (measured with perf: the rest is dlib's
// im2col, pooling, batch norm and ReLU), and OpenBLAS's second thread spin-waits through the
// rest, so training splits each batch across threads instead (data parallelism), each with one
// BLAS thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "tandem/models/progress.h"

namespace tandem::models::vision {

// One copy of a trained network. Not thread-safe (dlib keeps per-forward state); copy it to run
// on several threads.
class InferenceNet {
 public:
  // Throws VisionError when the bytes are not a network of this architecture.
  explicit InferenceNet(std::string_view serialized);
  InferenceNet(const InferenceNet& other);
  InferenceNet& operator=(const InferenceNet&) = delete;
  ~InferenceNet();

  std::size_t classes() const { return classes_; }
  // The logits of `count` 28 x 28 images stored one after another in `pixels`, into `out`
  // (count x classes(), row-major). Both sizes must match (VisionError otherwise).
  void logits(std::span<const std::uint8_t> pixels, std::size_t count, std::span<float> out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t classes_ = 0;
};

struct NetworkTrainOptions {
  int epochs = 6;
  std::size_t batch_size = 128;
  double learning_rate = 0.1;  // peak, SGD with momentum; cosine decay to 0 over all steps
  double momentum = 0.9;
  double weight_decay = 5e-4;
  int warmup_epochs = 0;          // linear warm-up before the decay (fractional not needed)
  bool flip_augmentation = true;  // mirror each training image left-right with probability 1/2
  std::uint64_t seed = 42;
  // Data-parallel threads: each batch is split over this many copies of the network, one thread
  // each (set OpenBLAS to one thread meanwhile: blas_threads.h).
  int threads = 2;
};

// Trains on `count` 28 x 28 images (`pixels`, count x 784 bytes) with labels below `classes`
// and returns the network in its inference form, serialised (InferenceNet reads it). Reports
// "epoch e/E" with batches done and the running loss. Deterministic for a seed: dlib's weight
// initialisation draws from std::rand, which is seeded from `seed` (under a lock) just before
// the network is built; batches and flips come from our own generator; the threads' gradients
// are summed in a fixed order. A different thread count is a different (equally good) run: batch
// norm sees other parts of each batch.
std::string train_network(std::span<const std::uint8_t> pixels,
                          std::span<const std::uint8_t> labels, std::size_t classes,
                          const NetworkTrainOptions& options, const ProgressFn& progress);

}  // namespace tandem::models::vision
