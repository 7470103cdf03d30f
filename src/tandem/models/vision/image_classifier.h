#pragma once
// A trained CNN image classifier (issue 4), loaded from a model artifact and ready to serve:
// top-k labels with calibrated probabilities for a 28 x 28 grey image (grey_image.h,
// image_decoding.h).
//
// The network is a dlib DNN (vision_network.h). A dlib network keeps per-forward state in its
// layers, so one copy cannot run two images at once: the classifier holds a small pool of copies
// (one per hardware thread), each behind its own mutex. A call takes the first free copy it finds
// (try_lock, starting at a slot chosen by the calling thread) and waits only when every copy is
// busy; there is no global lock. classify() is const and safe to call from any number of threads.
//
// Loading a classifier sets OpenBLAS to one thread for the whole process (blas_threads.h): with
// more, every single-image product is split across OpenBLAS's pool and concurrent callers queue
// for it (measured: 10x fewer images/s with four callers on two cores). Training sets its own
// thread count while it runs and restores the previous one.
//
// Probabilities are softmax(logits / T) with the temperature T fitted on a validation split held
// out from the training data (calibration.h), so that a probability of 0.9 is right about 90% of
// the time.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/datasets/idx.h"
#include "tandem/models/artifact.h"
#include "tandem/models/classification_metrics.h"
#include "tandem/models/vision/grey_image.h"
#include "tandem/models/vision/vision_error.h"

namespace tandem::models::vision {

inline constexpr const char* kArtifactKind = "vision";
inline constexpr int kPayloadVersion = 1;

struct LabelScore {
  std::uint32_t label = 0;
  float probability = 0;  // calibrated
};

class InferenceNet;  // vision_network.h

class ImageClassifier {
 public:
  // read_artifact(path, "vision", kPayloadVersion), then from_artifact. Throws ArtifactError
  // (missing, corrupt, another kind, a newer version) or VisionError (malformed payload), both
  // naming the file.
  static std::shared_ptr<const ImageClassifier> load(const std::string& path);
  // Throws VisionError naming `name_for_errors` when the artifact is not a vision one of a
  // version this code reads, or its payload is malformed.
  static std::shared_ptr<const ImageClassifier> from_artifact(const Artifact& artifact,
                                                              const std::string& name_for_errors);

  ~ImageClassifier();
  ImageClassifier(const ImageClassifier&) = delete;
  ImageClassifier& operator=(const ImageClassifier&) = delete;

  const std::vector<std::string>& labels() const { return labels_; }
  double temperature() const { return temperature_; }
  const ArtifactMeta& meta() const { return meta_; }

  // The k most probable labels (k is capped at the number of labels), most probable first, ties
  // to the lower label. Throws VisionError unless the image is 28 x 28 (check_model_size) or when
  // k is 0. Thread-safe.
  std::vector<LabelScore> classify(const GreyImage& image, std::size_t k = 3) const;

  // Calibrated probabilities of every label for `count` 28 x 28 images stored one after another
  // in `pixels` (count x 784 bytes, the layout of datasets::ImageSet): count x labels() values,
  // row-major. One batched forward pass per `batch` images, for evaluation and benchmarks.
  // Thread-safe.
  std::vector<float> probabilities(std::span<const std::uint8_t> pixels, std::size_t count,
                                   std::size_t batch = 256) const;
  // The same before calibration: the network's logits.
  std::vector<float> logits(std::span<const std::uint8_t> pixels, std::size_t count,
                            std::size_t batch = 256) const;

 private:
  ImageClassifier() = default;
  // Runs `use` on a free copy of the network (see the pool above).
  void with_net(const std::function<void(InferenceNet&)>& use) const;

  std::vector<std::string> labels_;
  double temperature_ = 1;
  ArtifactMeta meta_;
  struct Slot;
  std::vector<std::unique_ptr<Slot>> pool_;
};

// The payload (Artifact::payload, little-endian):
//   offset  size  field
//   0       8     magic "TDMVISCN"
//   8       4     u32 payload layout version: 1
//   12      4     u32 L, the number of labels (2 to 1000)
//   16      8     f64 temperature (finite, in [0.05, 20])
//   24            L times: u32 length (1 to 256), then the label's UTF-8 bytes
//                 u64 N, then N bytes: the network, serialised by dlib (inference form: batch
//                 norm folded into affine layers), whose last layer has L outputs
// Nothing may follow. A payload that breaks these rules is refused with a VisionError naming
// the field.
struct PayloadContents {
  std::vector<std::string> labels;
  double temperature = 1;
  std::string network;  // dlib's serialised bytes
};
std::string encode_payload(const PayloadContents& contents);
PayloadContents decode_payload(std::string_view payload);

// Accuracy, macro-F1, ECE and the confusion matrix of `model` on `test` (labels must be below
// model.labels().size(); VisionError otherwise, as for images that are not 28 x 28).
ClassificationReport evaluate_image_classifier(const ImageClassifier& model,
                                               const datasets::ImageSet& test);

}  // namespace tandem::models::vision
