// The classifier end to end on real data (skipped when the prepared data is absent): a small
// network trained once per test binary on 1,250 MNIST digits, then its accuracy on held-out
// digits, calibrated top-k, artifacts, PNG/JPEG inputs and concurrent callers.
#include "tandem/models/vision/image_classifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include "tandem/datasets/data_files.h"
#include "tandem/datasets/dataset_error.h"
#include "tandem/models/vision/image_decoding.h"
#include "tandem/models/vision/vision_network.h"
#include "tandem/models/vision/vision_training.h"
#include "vision_test_support.h"

namespace tandem::models::vision {
namespace {

using datasets::ImageSet;
using testing::Codec;
using testing::TempDir;

const std::vector<std::string> kDigits = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

// Every `step`-th image from `offset` (the MNIST file is ordered by digit, so this takes every
// digit).
ImageSet every(const ImageSet& all, std::size_t offset, std::size_t step) {
  ImageSet out{all.rows, all.cols, {}, {}};
  for (std::size_t i = offset; i < all.size(); i += step) {
    const auto image = all.image(i);
    out.pixels.insert(out.pixels.end(), image.begin(), image.end());
    out.labels.push_back(all.labels[i]);
  }
  return out;
}

GreyImage image_of(const ImageSet& set, std::size_t i) {
  const auto p = set.image(i);
  return GreyImage{kImageSide, kImageSide, std::vector<std::uint8_t>(p.begin(), p.end())};
}

struct Digits {
  ImageSet train, held_out;
};

// The MNIST digits, loaded once per process; null when the prepared data is absent.
const Digits* digits() {
  static const std::unique_ptr<Digits> d = []() -> std::unique_ptr<Digits> {
    const std::filesystem::path dir = datasets::data_dir();
    const auto images = dir / datasets::files::kMnistDigitsImages;
    const auto labels = dir / datasets::files::kMnistDigitsLabels;
    if (dir.empty() || !std::filesystem::exists(images) || !std::filesystem::exists(labels)) {
      return nullptr;
    }
    const ImageSet all = datasets::load_idx_images(images, labels);
    return std::make_unique<Digits>(Digits{every(all, 0, 10),    // 1,000 digits
                                           every(all, 3, 20)});  // 500 others
  }();
  return d.get();
}

struct Trained {
  ImageSet train, held_out;
  Artifact artifact;
  VisionTrainReport report;
  std::shared_ptr<const ImageClassifier> model;
};

// Trained once per process (a few seconds); null when the data is absent.
const Trained* trained() {
  static const std::unique_ptr<Trained> t = []() -> std::unique_ptr<Trained> {
    const Digits* d = digits();
    if (d == nullptr) return nullptr;
    auto r = std::make_unique<Trained>();
    r->train = d->train;
    r->held_out = d->held_out;
    VisionTrainOptions options;
    options.label_names = kDigits;
    options.epochs = 2;
    options.batch_size = 32;
    options.learning_rate = 0.05;
    options.flip_augmentation = false;  // digits are not symmetric
    options.validation_fraction = 0.2;
    options.threads = 2;  // data-parallel: two copies of the network
    r->artifact = train_image_classifier(r->train, options, {}, &r->report);
    r->model = ImageClassifier::from_artifact(r->artifact, "digits");
    return r;
  }();
  return t.get();
}

#define SKIP_WITHOUT_DATA()                                                             \
  GTEST_SKIP() << (datasets::data_dir() / datasets::files::kMnistDigitsImages).string() \
               << " is absent: run scripts/setup_data.sh (or set TANDEM_DATA to its cache)"

#define REQUIRE_TRAINED(var)      \
  const Trained* var = trained(); \
  if (var == nullptr) {           \
    SKIP_WITHOUT_DATA();          \
  }

#define REQUIRE_DIGITS(var)                                    \
  const ImageSet* var = digits() ? &digits()->train : nullptr; \
  if (var == nullptr) {                                        \
    SKIP_WITHOUT_DATA();                                       \
  }

void LearnsDigitsWellAboveChanceOnHeldOutImages(const Trained* t) {
  const ClassificationReport report = evaluate_image_classifier(*t->model, t->held_out);
  EXPECT_EQ(report.examples, 500u);
  EXPECT_GT(report.accuracy, 0.8) << format_classification_report(report);  // chance: 0.1
  std::printf("held-out accuracy %.4f, macro-F1 %.4f, ECE %.4f\n", report.accuracy, report.macro_f1,
              report.ece);
  EXPECT_GT(report.macro_f1, 0.75);
  EXPECT_LT(report.ece, 0.15);
  // The report agrees with classify() one image at a time.
  std::size_t right = 0;
  for (std::size_t i = 0; i < t->held_out.size(); ++i) {
    right += t->model->classify(image_of(t->held_out, i), 1)[0].label == t->held_out.labels[i];
  }
  EXPECT_NEAR(static_cast<double>(right) / 500.0, report.accuracy, 1e-9);
}

void TrainingReportAndMetadata(const Trained* t) {
  EXPECT_EQ(t->report.train_examples, 800u);
  EXPECT_EQ(t->report.validation_examples, 200u);
  EXPECT_GT(t->report.validation_accuracy, 0.7);
  EXPECT_GE(t->report.temperature, 0.05);
  EXPECT_LE(t->report.temperature, 20);
  EXPECT_LE(t->report.validation_nll, t->report.validation_nll_raw + 1e-9);
  EXPECT_EQ(t->artifact.meta.kind, "vision");
  EXPECT_EQ(t->artifact.meta.version, kPayloadVersion);
  EXPECT_EQ(t->artifact.meta.metrics.at("temperature"), t->report.temperature);
  EXPECT_EQ(t->artifact.meta.params.at("epochs"), "2");
  EXPECT_EQ(t->model->labels(), kDigits);
  EXPECT_EQ(t->model->temperature(), t->report.temperature);
}

void TopKIsSortedAndProbabilitiesSumToOne(const Trained* t) {
  for (std::size_t i = 0; i < 20; ++i) {
    const auto all = t->model->classify(image_of(t->held_out, i), 10);
    ASSERT_EQ(all.size(), 10u);
    double sum = 0;
    std::vector<std::uint32_t> seen;
    for (std::size_t k = 0; k < all.size(); ++k) {
      sum += all[k].probability;
      EXPECT_GE(all[k].probability, 0.0f);
      if (k > 0) {
        EXPECT_GE(all[k - 1].probability, all[k].probability);
      }
      seen.push_back(all[k].label);
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
    const auto top3 = t->model->classify(image_of(t->held_out, i), 3);
    ASSERT_EQ(top3.size(), 3u);
    for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(top3[k].label, all[k].label);
    EXPECT_EQ(t->model->classify(image_of(t->held_out, i), 50).size(), 10u);  // capped
  }
  // The batched probabilities are the same numbers.
  const std::vector<float> probs = t->model->probabilities(t->held_out.image(0), 1);
  const auto top = t->model->classify(image_of(t->held_out, 0), 1);
  EXPECT_NEAR(probs[top[0].label], top[0].probability, 1e-5);
}

void BadInputsAreRefused(const Trained* t) {
  EXPECT_THROW(t->model->classify(GreyImage{27, 28, std::vector<std::uint8_t>(27 * 28)}),
               VisionError);
  EXPECT_THROW(t->model->classify(GreyImage{}), VisionError);
  EXPECT_THROW(t->model->classify(image_of(t->held_out, 0), 0), VisionError);
  EXPECT_THROW(t->model->probabilities(std::vector<std::uint8_t>(100), 1), VisionError);
  ImageSet wrong = t->held_out;
  wrong.labels[3] = 10;
  // load_idx_images would refuse this; a set built by hand is checked too.
  EXPECT_THROW(evaluate_image_classifier(*t->model, wrong), VisionError);
}

void ArtifactRoundTripGivesTheSameOutputs(const Trained* t) {
  TempDir dir;
  const std::string path = (dir / "digits.tandem").string();
  write_artifact(path, t->artifact);
  const auto loaded = ImageClassifier::load(path);
  EXPECT_EQ(loaded->labels(), t->model->labels());
  EXPECT_EQ(loaded->meta().data_sha256, t->artifact.meta.data_sha256);
  const auto first50 = std::span<const std::uint8_t>(t->held_out.pixels).first(50 * kImagePixels);
  EXPECT_EQ(t->model->probabilities(first50, 50), loaded->probabilities(first50, 50));
  const auto x = t->model->classify(image_of(t->held_out, 7), 10);
  const auto y = loaded->classify(image_of(t->held_out, 7), 10);
  for (std::size_t k = 0; k < 10; ++k) {
    EXPECT_EQ(x[k].label, y[k].label);
    EXPECT_EQ(x[k].probability, y[k].probability);
  }
}

void CorruptOrMismatchedArtifactsAreRefused(const Trained* t) {
  TempDir dir;
  const std::string path = (dir / "digits.tandem").string();
  write_artifact(path, t->artifact);
  {  // a flipped byte in the middle of the payload: the CRC catches it
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(path) / 2));
    f.put('\x5a');
  }
  try {
    ImageClassifier::load(path);
    ADD_FAILURE() << "a corrupt artifact was accepted";
  } catch (const ArtifactError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  Artifact other = t->artifact;
  other.meta.kind = "recsys";
  write_artifact(path, other);
  EXPECT_THROW(ImageClassifier::load(path), ArtifactError);
  try {
    ImageClassifier::from_artifact(other, "other.tandem");
    ADD_FAILURE() << "a recsys artifact was accepted";
  } catch (const VisionError& e) {
    EXPECT_EQ(std::string(e.what()),
              "other.tandem: a 'recsys' model, not an image classifier ('vision')");
  }
  Artifact newer = t->artifact;
  newer.meta.version = kPayloadVersion + 1;
  write_artifact(path, newer);
  EXPECT_THROW(ImageClassifier::load(path), ArtifactError);
  EXPECT_THROW(ImageClassifier::from_artifact(newer, "newer"), VisionError);
}

void MalformedPayloadsAreRefusedNamingTheField(const Trained* t) {
  const PayloadContents good = decode_payload(t->artifact.payload);
  EXPECT_EQ(good.labels, kDigits);
  const auto refuse = [&](const std::string& payload, const std::string& expected) {
    Artifact a = t->artifact;
    a.payload = payload;
    try {
      ImageClassifier::from_artifact(a, "m");
      ADD_FAILURE() << "accepted; expected " << expected;
    } catch (const VisionError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refuse("", "payload truncated at byte 0 (magic");
  refuse("TDMRECMF" + t->artifact.payload.substr(8), "not an image classifier");
  refuse(t->artifact.payload.substr(0, 30), "payload truncated");
  refuse(t->artifact.payload + "x", "the network is said to have");
  PayloadContents c = good;
  c.temperature = 100;
  refuse(encode_payload(c), "temperature 100");
  c = good;
  c.labels.push_back("ten");
  refuse(encode_payload(c), "11 labels but the network has 10 outputs");
  c = good;
  c.network = c.network.substr(0, c.network.size() / 2);
  refuse(encode_payload(c), "network:");
  c = good;
  c.network = "not a dlib network at all";
  refuse(encode_payload(c), "network: not a network of this architecture");
  std::string flipped = good.network;
  flipped[flipped.size() / 3] = static_cast<char>(flipped[flipped.size() / 3] ^ 0x40);
  c = good;
  c.network = flipped;
  // A flipped byte inside dlib's bytes may land in a weight (still a network) or in a size field
  // (refused): either way no crash, and a refusal names the network.
  Artifact a = t->artifact;
  a.payload = encode_payload(c);
  try {
    const auto m = ImageClassifier::from_artifact(a, "m");
    EXPECT_EQ(m->classify(image_of(t->held_out, 0), 10).size(), 10u);
  } catch (const VisionError& e) {
    EXPECT_NE(std::string(e.what()).find("network"), std::string::npos) << e.what();
  }
}

void PngAndJpegOfATestImageGetTheSameTopLabelAsItsPixels(const Trained* t) {
  TempDir dir;
  int jpeg_same = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    const GreyImage raw = image_of(t->held_out, i * 25);
    const auto expected = t->model->classify(raw, 1)[0];
    const auto array = testing::grey_array(28, 28, raw.pixels);
    const GreyImage png = decode_image(testing::encode(dir, array, Codec::kPng, "x.png"));
    EXPECT_EQ(png.pixels, raw.pixels) << "image " << i;
    const auto from_png = t->model->classify(png, 1)[0];
    EXPECT_EQ(from_png.label, expected.label);
    EXPECT_EQ(from_png.probability, expected.probability);
    const GreyImage jpeg = decode_image(testing::encode(dir, array, Codec::kJpeg, "x.jpg"));
    jpeg_same += t->model->classify(jpeg, 1)[0].label == expected.label;
  }
  EXPECT_GE(jpeg_same, 18);  // JPEG is lossy: a borderline image may flip
  // Raw pixel values from JSON take the same path.
  const GreyImage raw = image_of(t->held_out, 0);
  const std::vector<double> values(raw.pixels.begin(), raw.pixels.end());
  EXPECT_EQ(t->model->classify(image_from_pixels(values), 1)[0].label,
            t->model->classify(raw, 1)[0].label);
}

void ConcurrentCallersGetTheSameAnswersAsOne(const Trained* t) {
  constexpr std::size_t kImages = 20;
  std::vector<std::vector<LabelScore>> expected;
  for (std::size_t i = 0; i < kImages; ++i) {
    expected.push_back(t->model->classify(image_of(t->held_out, i), 3));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < kImages; ++i) {
          const std::size_t j = (i + static_cast<std::size_t>(th) * 7) % kImages;
          const auto got = t->model->classify(image_of(t->held_out, j), 3);
          for (std::size_t k = 0; k < 3; ++k) {
            if (got[k].label != expected[j][k].label ||
                got[k].probability != expected[j][k].probability) {
              ++mismatches;
            }
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// ctest runs every test in its own process, and each process trains the shared model once (a few
// seconds): the checks on the trained model are grouped into two tests to keep that cost down.

TEST(ImageClassifier, ClassifiesPixelsPngAndJpegWithCalibratedTopKFromAnyThread) {
  REQUIRE_TRAINED(t);
  TopKIsSortedAndProbabilitiesSumToOne(t);
  BadInputsAreRefused(t);
  ConcurrentCallersGetTheSameAnswersAsOne(t);
  PngAndJpegOfATestImageGetTheSameTopLabelAsItsPixels(t);
}

TEST(ImageClassifier, LearnsDigitsAndItsArtifactRoundTripsAndCorruptOnesAreRefused) {
  REQUIRE_TRAINED(t);
  LearnsDigitsWellAboveChanceOnHeldOutImages(t);
  TrainingReportAndMetadata(t);
  ArtifactRoundTripGivesTheSameOutputs(t);
  CorruptOrMismatchedArtifactsAreRefused(t);
  MalformedPayloadsAreRefusedNamingTheField(t);
}

TEST(VisionTraining, SameSeedSamePayloadOtherSeedOther) {
  REQUIRE_DIGITS(train);
  VisionTrainOptions options;
  options.label_names = kDigits;
  options.epochs = 1;
  options.batch_size = 16;
  options.learning_rate = 0.05;
  options.max_examples = 200;
  options.validation_fraction = 0.1;
  options.flip_augmentation = true;
  options.threads = 2;  // the two threads' gradients are summed in a fixed order
  const Artifact a = train_image_classifier(*train, options, {});
  const Artifact b = train_image_classifier(*train, options, {});
  EXPECT_TRUE(a.payload == b.payload);
  options.seed = 7;
  const Artifact c = train_image_classifier(*train, options, {});
  EXPECT_FALSE(a.payload == c.payload);
}

TEST(VisionTraining, BadOptionsAndFilesAreRefused) {
  VisionTrainOptions options;
  options.train_images = "/nonexistent/images.gz";
  options.train_labels = "/nonexistent/labels.gz";
  EXPECT_THROW(train_image_classifier(options, {}), datasets::DatasetError);
  const auto refused = [](VisionTrainOptions o, const std::string& expected) {
    o.train_images = "/nonexistent/images.gz";
    o.train_labels = "/nonexistent/labels.gz";
    try {
      train_image_classifier(o, {});
      ADD_FAILURE() << "accepted; expected " << expected;
    } catch (const VisionError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "expected a VisionError with '" << expected << "', got " << e.what();
    }
  };
  VisionTrainOptions o;
  o.validation_fraction = 0.6;
  refused(o, "validation fraction must be in (0, 0.5)");
  o = {};
  o.epochs = 0;
  refused(o, "epochs must be 1 to 1000");
  o = {};
  o.learning_rate = -1;
  refused(o, "learning rate must be in (0, 10]");
  o = {};
  o.label_names = {"only one"};
  refused(o, "1 label names; 2 to 1000 needed");
  o = {};
  o.threads = 0;
  refused(o, "threads must be 1 to 256");

  // Labels beyond the names, and too few images.
  ImageSet tiny{28, 28, std::vector<std::uint8_t>(30 * kImagePixels, 0),
                std::vector<std::uint8_t>(30, 0)};
  tiny.labels[29] = 3;
  VisionTrainOptions two;
  two.label_names = {"a", "b"};
  two.validation_fraction = 0.4;
  try {
    train_image_classifier(tiny, two, {});
    ADD_FAILURE() << "a label beyond the names was accepted";
  } catch (const VisionError& e) {
    EXPECT_EQ(std::string(e.what()), "training image 29 has label 3; there are 2 label names");
  }
  two.max_examples = 12;
  EXPECT_THROW(train_image_classifier(tiny, two, {}), VisionError);
  ImageSet wrong_size{20, 20, std::vector<std::uint8_t>(400 * 30, 0),
                      std::vector<std::uint8_t>(30, 0)};
  EXPECT_THROW(train_image_classifier(wrong_size, two, {}), VisionError);
}

TEST(VisionTraining, ProgressReportsEveryEpochAndTheTemperature) {
  REQUIRE_DIGITS(train);
  VisionTrainOptions options;
  options.label_names = kDigits;
  options.epochs = 2;
  options.max_examples = 100;
  options.batch_size = 30;
  options.validation_fraction = 0.1;
  options.threads = 1;
  std::vector<TrainProgress> seen;
  train_image_classifier(*train, options, [&](const TrainProgress& p) { seen.push_back(p); });
  ASSERT_FALSE(seen.empty());
  const auto has = [&](const std::string& phase, std::size_t done, std::size_t total) {
    return std::any_of(seen.begin(), seen.end(), [&](const TrainProgress& p) {
      return p.phase == phase && p.done == done && p.total == total;
    });
  };
  EXPECT_TRUE(has("epoch 1/2", 3, 3));  // 90 images in batches of 30
  EXPECT_TRUE(has("epoch 2/2", 3, 3));
  EXPECT_TRUE(has("fitting temperature", 1, 1));
  EXPECT_EQ(seen.back().phase, "fitting temperature");
}

}  // namespace
}  // namespace tandem::models::vision
