// The dlib network definitions and the training loop. The only file of the library that
// includes dlib's DNN headers (they cost most of the library's compile time).
#include "tandem/models/vision/vision_network.h"

#include <dlib/dnn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <numbers>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "tandem/models/vision/grey_image.h"
#include "tandem/models/vision/vision_error.h"

namespace tandem::models::vision {
namespace {

using Pixels = dlib::matrix<unsigned char>;

// The training form (batch norm) and the inference form (affine) of the same network. The
// number of outputs (10 here) is only the default: it is set at run time to the label count.
// clang-format off
using TrainNet = dlib::loss_multiclass_log<
    dlib::fc<10,
    dlib::relu<dlib::bn_fc<dlib::fc<128,
    dlib::max_pool<2, 2, 2, 2, dlib::relu<dlib::bn_con<dlib::con<64, 3, 3, 1, 1,
    dlib::max_pool<2, 2, 2, 2, dlib::relu<dlib::bn_con<dlib::con<32, 5, 5, 1, 1,
    dlib::input<Pixels>>>>>>>>>>>>>>;
using InferNet = dlib::loss_multiclass_log<
    dlib::fc<10,
    dlib::relu<dlib::affine<dlib::fc<128,
    dlib::max_pool<2, 2, 2, 2, dlib::relu<dlib::affine<dlib::con<64, 3, 3, 1, 1,
    dlib::max_pool<2, 2, 2, 2, dlib::relu<dlib::affine<dlib::con<32, 5, 5, 1, 1,
    dlib::input<Pixels>>>>>>>>>>>>>>;
// clang-format on

void to_matrices(std::span<const std::uint8_t> pixels, std::size_t count,
                 std::vector<Pixels>& out) {
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    out[i].set_size(kImageSide, kImageSide);
    std::copy_n(pixels.data() + i * kImagePixels, kImagePixels, &out[i](0, 0));
  }
}

// dlib draws initial weights from std::rand() when a layer is first set up: seeding and setting
// up happen together under this lock, so two trainings in one process do not interleave draws.
std::mutex& rand_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

struct InferenceNet::Impl {
  InferNet net;
  std::vector<Pixels> batch;
};

InferenceNet::InferenceNet(std::string_view serialized) : impl_(std::make_unique<Impl>()) {
  try {
    std::istringstream in{std::string(serialized)};
    dlib::deserialize(impl_->net, in);
    if (in.peek() != std::char_traits<char>::eof()) {
      throw VisionError("network: " + std::to_string(serialized.size()) +
                        " bytes, but dlib's network ends before the last byte");
    }
  } catch (const dlib::serialization_error& e) {
    throw VisionError(std::string("network: not a network of this architecture (dlib: ") +
                      e.what() + ")");
  } catch (const std::bad_alloc&) {
    throw VisionError("network: corrupt (it claims more memory than there is)");
  }
  classes_ = impl_->net.subnet().layer_details().get_num_outputs();
  if (classes_ < 2) {
    throw VisionError("network: " + std::to_string(classes_) + " outputs; at least 2 needed");
  }
  // A forward pass on a black image checks that the layers' shapes fit together (dlib checks
  // each product's dimensions) before the network serves anything.
  std::vector<std::uint8_t> black(kImagePixels, 0);
  std::vector<float> out(classes_);
  try {
    logits(black, 1, out);
  } catch (const dlib::error& e) {
    throw VisionError(std::string("network: layers do not fit together (dlib: ") + e.what() + ")");
  }
  for (float v : out) {
    if (!std::isfinite(v)) throw VisionError("network: gives non-finite outputs");
  }
}

InferenceNet::InferenceNet(const InferenceNet& other)
    : impl_(std::make_unique<Impl>(Impl{other.impl_->net, {}})), classes_(other.classes_) {}

InferenceNet::~InferenceNet() = default;

void InferenceNet::logits(std::span<const std::uint8_t> pixels, std::size_t count,
                          std::span<float> out) {
  if (pixels.size() != count * kImagePixels || out.size() != count * classes_) {
    throw VisionError("logits: " + std::to_string(count) + " images need " +
                      std::to_string(count * kImagePixels) + " pixels and " +
                      std::to_string(count * classes_) + " outputs");
  }
  if (count == 0) return;
  to_matrices(pixels, count, impl_->batch);
  const dlib::tensor& result = impl_->net.subnet()(impl_->batch.begin(), impl_->batch.end());
  std::copy_n(result.host(), out.size(), out.data());
}

std::string train_network(std::span<const std::uint8_t> pixels,
                          std::span<const std::uint8_t> labels, std::size_t classes,
                          const NetworkTrainOptions& options, const ProgressFn& progress) {
  const std::size_t count = labels.size();
  if (pixels.size() != count * kImagePixels) {
    throw VisionError("training: " + std::to_string(count) + " labels but " +
                      std::to_string(pixels.size()) + " pixels (784 per image)");
  }
  if (count == 0) throw VisionError("training: no images");
  if (classes < 2) throw VisionError("training: at least 2 classes needed");
  for (std::size_t i = 0; i < count; ++i) {
    if (labels[i] >= classes) {
      throw VisionError("training: image " + std::to_string(i) + " has label " +
                        std::to_string(labels[i]) + "; labels must be below " +
                        std::to_string(classes));
    }
  }
  if (options.epochs < 1) throw VisionError("training: epochs must be at least 1");
  if (options.batch_size < 1) throw VisionError("training: batch size must be at least 1");
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    throw VisionError("training: the learning rate must be a positive number");
  }
  if (options.warmup_epochs < 0 || options.warmup_epochs >= options.epochs) {
    throw VisionError("training: warm-up epochs must be in [0, epochs)");
  }

  TrainNet net;
  net.subnet().layer_details().set_num_outputs(static_cast<long>(classes));
  {
    std::lock_guard lock(rand_mutex());
    std::srand(static_cast<unsigned>(options.seed ^ (options.seed >> 32)));
    std::vector<Pixels> first;
    to_matrices(pixels.first(kImagePixels), 1, first);
    dlib::resizable_tensor x;
    net.to_tensor(first.begin(), first.end(), x);
    net.subnet().forward(x);  // sets every layer up (draws the initial weights)
  }

  // Data parallelism: each batch is split into `replicas` contiguous parts, one per copy of the
  // network and thread; the parts' gradients are averaged (weighted by their sizes) into copy 0,
  // which takes the step, and its parameters are copied back to the others. Each copy's batch
  // norm sees only its part of the batch, as on several GPUs. Sums run in a fixed order, so the
  // result does not depend on thread timing.
  const std::size_t replicas = static_cast<std::size_t>(std::max(1, options.threads));
  std::vector<TrainNet> nets;
  nets.reserve(replicas);
  nets.push_back(std::move(net));
  for (std::size_t r = 1; r < replicas; ++r) nets.push_back(nets[0]);
  struct Part {
    std::vector<Pixels> images;
    std::vector<unsigned long> labels;
    dlib::resizable_tensor x;
    double loss = 0;
    std::exception_ptr error;
  };
  std::vector<Part> parts(replicas);

  std::vector<dlib::sgd> solvers(
      TrainNet::num_computational_layers,
      dlib::sgd(static_cast<float>(options.weight_decay), static_cast<float>(options.momentum)));
  std::mt19937_64 rng(options.seed);
  std::vector<std::size_t> order(count);
  for (std::size_t i = 0; i < count; ++i) order[i] = i;
  std::vector<char> flips;

  const std::size_t batches_per_epoch = (count + options.batch_size - 1) / options.batch_size;
  const double total_steps = static_cast<double>(batches_per_epoch) * options.epochs;
  const double warmup_steps = static_cast<double>(batches_per_epoch) * options.warmup_epochs;
  std::size_t step = 0;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    std::size_t loss_count = 0;
    const std::string phase =
        "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(options.epochs);
    for (std::size_t b = 0; b < batches_per_epoch; ++b, ++step) {
      const std::size_t begin = b * options.batch_size;
      const std::size_t end = std::min(count, begin + options.batch_size);
      const std::size_t n = end - begin;
      flips.resize(n);
      for (char& f : flips) f = options.flip_augmentation && (rng() & 1) != 0;
      const std::size_t used = std::min(replicas, n);
      const auto part_begin = [&](std::size_t r) { return begin + n * r / used; };
      const auto work = [&](std::size_t r) {
        Part& part = parts[r];
        try {
          const std::size_t from = part_begin(r);
          const std::size_t to = part_begin(r + 1);
          part.images.resize(to - from);
          part.labels.resize(to - from);
          for (std::size_t i = from; i < to; ++i) {
            const std::uint8_t* src = pixels.data() + order[i] * kImagePixels;
            Pixels& m = part.images[i - from];
            m.set_size(kImageSide, kImageSide);
            const bool flip = flips[i - begin] != 0;
            for (int row = 0; row < kImageSide; ++row) {
              for (int col = 0; col < kImageSide; ++col) {
                m(row, col) = src[row * kImageSide + (flip ? kImageSide - 1 - col : col)];
              }
            }
            part.labels[i - from] = labels[order[i]];
          }
          nets[r].to_tensor(part.images.begin(), part.images.end(), part.x);
          part.loss = nets[r].compute_parameter_gradients(part.x, part.labels.begin());
        } catch (...) {
          part.error = std::current_exception();
        }
      };
      std::vector<std::thread> threads;
      for (std::size_t r = 1; r < used; ++r) threads.emplace_back(work, r);
      work(0);
      for (std::thread& t : threads) t.join();
      double loss = 0;
      for (std::size_t r = 0; r < used; ++r) {
        if (parts[r].error) std::rethrow_exception(parts[r].error);
        loss += parts[r].loss * static_cast<double>(part_begin(r + 1) - part_begin(r)) /
                static_cast<double>(n);
      }
      if (!std::isfinite(loss)) {
        throw VisionError("training diverged (loss " + std::to_string(loss) + " at " + phase +
                          "); lower the learning rate");
      }
      if (used > 1) {
        std::vector<dlib::tensor*> sum;
        dlib::visit_layer_parameter_gradients(
            nets[0], [&](std::size_t, dlib::tensor& t) { sum.push_back(&t); });
        const float w0 = static_cast<float>(part_begin(1) - part_begin(0)) / n;
        for (dlib::tensor* t : sum) {
          for (float* p = t->host(); p != t->host() + t->size(); ++p) *p *= w0;
        }
        for (std::size_t r = 1; r < used; ++r) {
          const float w = static_cast<float>(part_begin(r + 1) - part_begin(r)) / n;
          std::size_t k = 0;
          dlib::visit_layer_parameter_gradients(nets[r], [&](std::size_t, dlib::tensor& t) {
            float* into = sum[k++]->host();
            const float* from = t.host();
            for (std::size_t i = 0; i < t.size(); ++i) into[i] += w * from[i];
          });
        }
      }
      const double s = static_cast<double>(step);
      double lr = options.learning_rate;
      if (s < warmup_steps) {
        lr *= (s + 1) / warmup_steps;
      } else {
        const double t = (s - warmup_steps) / std::max(1.0, total_steps - warmup_steps);
        lr *= 0.5 * (1 + std::cos(std::numbers::pi * t));
      }
      nets[0].update_parameters(solvers, lr);
      if (replicas > 1) {
        std::vector<const dlib::tensor*> params;
        dlib::visit_layer_parameters(nets[0],
                                     [&](std::size_t, dlib::tensor& t) { params.push_back(&t); });
        for (std::size_t r = 1; r < replicas; ++r) {
          std::size_t k = 0;
          dlib::visit_layer_parameters(nets[r], [&](std::size_t, dlib::tensor& t) {
            const dlib::tensor& from = *params[k++];
            std::copy(from.host(), from.host() + from.size(), t.host());
          });
        }
      }
      loss_sum += loss;
      ++loss_count;
      if (progress && (b % 20 == 0 || b + 1 == batches_per_epoch)) {
        char detail[64];
        std::snprintf(detail, sizeof detail, "loss %.4f", loss_sum / loss_count);
        progress({phase, b + 1, batches_per_epoch, detail});
      }
    }
  }
  TrainNet& net0 = nets[0];
  net0.clean();
  // Through the inference form: dlib reads a batch-norm layer's serialisation into an affine
  // layer (its running statistics folded into a scale and shift).
  std::ostringstream trained;
  dlib::serialize(net0, trained);
  InferNet inference;
  std::istringstream in(trained.str());
  dlib::deserialize(inference, in);
  std::ostringstream out;
  dlib::serialize(inference, out);
  return out.str();
}

}  // namespace tandem::models::vision
