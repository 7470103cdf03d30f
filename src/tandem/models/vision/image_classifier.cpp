#include "tandem/models/vision/image_classifier.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "tandem/models/byte_io.h"
#include "tandem/models/calibration.h"
#include "tandem/models/vision/blas_threads.h"
#include "tandem/models/vision/vision_network.h"

namespace tandem::models::vision {
namespace {

constexpr std::string_view kPayloadMagic = "TDMVISCN";
constexpr std::uint32_t kMaxLabels = 1000;
constexpr std::uint32_t kMaxLabelBytes = 256;

// Reads the payload front to back; every read names the field it is for.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  std::string_view take(std::size_t n, const std::string& field) {
    if (bytes_.size() - at_ < n) {
      throw VisionError("payload truncated at byte " + std::to_string(at_) + " (" + field + ": " +
                        std::to_string(n) + " bytes needed, " +
                        std::to_string(bytes_.size() - at_) + " left)");
    }
    std::string_view out = bytes_.substr(at_, n);
    at_ += n;
    return out;
  }
  std::uint64_t uint(std::size_t n, const std::string& field) {
    const std::string_view b = take(n, field);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      v |= std::uint64_t{static_cast<unsigned char>(b[i])} << (8 * i);
    }
    return v;
  }
  std::size_t at() const { return at_; }
  std::size_t left() const { return bytes_.size() - at_; }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

// The k largest of `probs`, most probable first, ties to the lower label.
std::vector<LabelScore> top_k(std::span<const float> probs, std::size_t k) {
  std::vector<LabelScore> all(probs.size());
  for (std::size_t i = 0; i < probs.size(); ++i) {
    all[i] = {static_cast<std::uint32_t>(i), probs[i]};
  }
  k = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(),
                    [](const LabelScore& a, const LabelScore& b) {
                      return a.probability != b.probability ? a.probability > b.probability
                                                            : a.label < b.label;
                    });
  all.resize(k);
  return all;
}

}  // namespace

std::string encode_payload(const PayloadContents& c) {
  if (c.labels.size() < 2 || c.labels.size() > kMaxLabels) {
    throw VisionError("payload: " + std::to_string(c.labels.size()) + " labels; 2 to 1000 allowed");
  }
  ByteWriter w;
  w.bytes(kPayloadMagic);
  w.integer<std::uint32_t>(1);
  w.integer<std::uint32_t>(static_cast<std::uint32_t>(c.labels.size()));
  w.integer<std::uint64_t>(std::bit_cast<std::uint64_t>(c.temperature));
  for (const std::string& label : c.labels) {
    if (label.empty() || label.size() > kMaxLabelBytes) {
      throw VisionError("payload: label '" + label + "' must have 1 to 256 bytes");
    }
    w.integer<std::uint32_t>(static_cast<std::uint32_t>(label.size()));
    w.bytes(label);
  }
  w.blob(c.network);  // u64 length, then the bytes
  return w.take();
}

PayloadContents decode_payload(std::string_view payload) {
  Reader r(payload);
  if (r.take(kPayloadMagic.size(), "magic") != kPayloadMagic) {
    throw VisionError("payload: not an image classifier (magic is not TDMVISCN)");
  }
  const std::uint64_t layout = r.uint(4, "layout version");
  if (layout != 1) {
    throw VisionError("payload: layout version " + std::to_string(layout) +
                      "; this build reads version 1");
  }
  const std::uint64_t count = r.uint(4, "label count");
  if (count < 2 || count > kMaxLabels) {
    throw VisionError("payload: label count " + std::to_string(count) + "; 2 to 1000 allowed");
  }
  PayloadContents c;
  c.temperature = std::bit_cast<double>(r.uint(8, "temperature"));
  if (!std::isfinite(c.temperature) || c.temperature < 0.05 || c.temperature > 20) {
    throw VisionError("payload: temperature " + std::to_string(c.temperature) +
                      " is not in [0.05, 20]");
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::string field = "label " + std::to_string(i);
    const std::uint64_t length = r.uint(4, field + " length");
    if (length == 0 || length > kMaxLabelBytes) {
      throw VisionError("payload: " + field + " has length " + std::to_string(length) +
                        "; 1 to 256 bytes allowed");
    }
    c.labels.emplace_back(r.take(length, field));
  }
  const std::uint64_t net_size = r.uint(8, "network length");
  if (net_size != r.left()) {
    throw VisionError("payload: the network is said to have " + std::to_string(net_size) +
                      " bytes but " + std::to_string(r.left()) + " follow at byte " +
                      std::to_string(r.at()));
  }
  c.network = std::string(r.take(net_size, "network"));
  return c;
}

struct ImageClassifier::Slot {
  std::mutex mutex;
  std::unique_ptr<InferenceNet> net;
};

ImageClassifier::~ImageClassifier() = default;

std::shared_ptr<const ImageClassifier> ImageClassifier::load(const std::string& path) {
  return from_artifact(read_artifact(path, kArtifactKind, kPayloadVersion), path);
}

std::shared_ptr<const ImageClassifier> ImageClassifier::from_artifact(
    const Artifact& artifact, const std::string& name_for_errors) {
  if (artifact.meta.kind != kArtifactKind) {
    throw VisionError(name_for_errors + ": a '" + artifact.meta.kind +
                      "' model, not an image classifier ('vision')");
  }
  if (artifact.meta.version < 1 || artifact.meta.version > kPayloadVersion) {
    throw VisionError(name_for_errors + ": payload version " +
                      std::to_string(artifact.meta.version) + "; this build reads 1 to " +
                      std::to_string(kPayloadVersion));
  }
  std::shared_ptr<ImageClassifier> model(new ImageClassifier());
  // Serving: one BLAS thread (blas_threads.h). Measured: four threads calling classify() at once
  // got 10x fewer images/s with OpenBLAS splitting each small product over two threads.
  set_blas_threads(1);
  try {
    PayloadContents c = decode_payload(artifact.payload);
    auto first = std::make_unique<InferenceNet>(c.network);
    if (first->classes() != c.labels.size()) {
      throw VisionError("payload: " + std::to_string(c.labels.size()) +
                        " labels but the network has " + std::to_string(first->classes()) +
                        " outputs");
    }
    model->labels_ = std::move(c.labels);
    model->temperature_ = c.temperature;
    model->meta_ = artifact.meta;
    const std::size_t copies = std::max(1u, std::thread::hardware_concurrency());
    model->pool_.reserve(copies);
    for (std::size_t i = 0; i < copies; ++i) {
      auto slot = std::make_unique<Slot>();
      slot->net = i == 0 ? std::move(first) : std::make_unique<InferenceNet>(*model->pool_[0]->net);
      model->pool_.push_back(std::move(slot));
    }
  } catch (const VisionError& e) {
    throw VisionError(name_for_errors + ": " + e.what());
  }
  return model;
}

void ImageClassifier::with_net(const std::function<void(InferenceNet&)>& use) const {
  // Each thread starts at its own slot, so threads that call often tend to keep to theirs.
  const std::size_t n = pool_.size();
  const std::size_t start = std::hash<std::thread::id>{}(std::this_thread::get_id()) % n;
  for (std::size_t i = 0; i < n; ++i) {
    Slot& slot = *pool_[(start + i) % n];
    std::unique_lock lock(slot.mutex, std::try_to_lock);
    if (lock.owns_lock()) {
      use(*slot.net);
      return;
    }
  }
  Slot& slot = *pool_[start];
  std::lock_guard lock(slot.mutex);
  use(*slot.net);
}

std::vector<LabelScore> ImageClassifier::classify(const GreyImage& image, std::size_t k) const {
  check_model_size(image);
  if (k == 0) throw VisionError("k must be at least 1");
  std::vector<float> logits(labels_.size());
  with_net([&](InferenceNet& net) { net.logits(image.pixels, 1, logits); });
  std::vector<float> probs(labels_.size());
  softmax(logits, temperature_, probs);
  return top_k(probs, k);
}

std::vector<float> ImageClassifier::logits(std::span<const std::uint8_t> pixels, std::size_t count,
                                           std::size_t batch) const {
  if (pixels.size() != count * kImagePixels) {
    throw VisionError(std::to_string(count) + " images need " +
                      std::to_string(count * kImagePixels) + " pixels; got " +
                      std::to_string(pixels.size()));
  }
  batch = std::max<std::size_t>(1, batch);
  const std::size_t classes = labels_.size();
  std::vector<float> out(count * classes);
  with_net([&](InferenceNet& net) {
    for (std::size_t begin = 0; begin < count; begin += batch) {
      const std::size_t n = std::min(batch, count - begin);
      net.logits(pixels.subspan(begin * kImagePixels, n * kImagePixels), n,
                 std::span<float>(out).subspan(begin * classes, n * classes));
    }
  });
  return out;
}

std::vector<float> ImageClassifier::probabilities(std::span<const std::uint8_t> pixels,
                                                  std::size_t count, std::size_t batch) const {
  std::vector<float> out = logits(pixels, count, batch);
  const std::size_t classes = labels_.size();
  std::vector<float> row(classes);
  for (std::size_t i = 0; i < count; ++i) {
    std::span<float> r = std::span<float>(out).subspan(i * classes, classes);
    std::copy(r.begin(), r.end(), row.begin());
    softmax(row, temperature_, r);
  }
  return out;
}

ClassificationReport evaluate_image_classifier(const ImageClassifier& model,
                                               const datasets::ImageSet& test) {
  if (test.rows != kImageSide || test.cols != kImageSide) {
    throw VisionError("test images are " + std::to_string(test.cols) + " x " +
                      std::to_string(test.rows) + "; the classifier takes 28 x 28");
  }
  const std::size_t classes = model.labels().size();
  for (std::size_t i = 0; i < test.size(); ++i) {
    if (test.labels[i] >= classes) {
      throw VisionError("test image " + std::to_string(i) + " has label " +
                        std::to_string(test.labels[i]) + "; the model has " +
                        std::to_string(classes) + " labels");
    }
  }
  const std::vector<float> probs = model.probabilities(test.pixels, test.size());
  std::vector<std::uint32_t> truth(test.size());
  std::vector<std::uint32_t> predicted(test.size());
  std::vector<float> confidence(test.size());
  for (std::size_t i = 0; i < test.size(); ++i) {
    const std::span<const float> row(probs.data() + i * classes, classes);
    const auto best = std::max_element(row.begin(), row.end());
    truth[i] = test.labels[i];
    predicted[i] = static_cast<std::uint32_t>(best - row.begin());
    confidence[i] = std::clamp(*best, 0.0f, 1.0f);
  }
  return evaluate_classification(model.labels(), truth, predicted, confidence);
}

}  // namespace tandem::models::vision
