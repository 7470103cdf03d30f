#include "tandem/models/text/fasttext_model.h"

#include <fasttext/args.h>
#include <fasttext/fasttext.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <system_error>

#include "tandem/datasets/word_vectors.h"
#include "tandem/models/byte_io.h"
#include "tandem/models/text/text_model_error.h"

namespace tandem::models::text {
namespace {

// fastText 0.9.2's file signature and the enum values this reader accepts.
constexpr std::int32_t kFastTextMagic = 793712314;
constexpr std::int32_t kFastTextVersion = 12;
constexpr std::int32_t kLossSoftmax = 3;
constexpr std::int32_t kModelSupervised = 3;
constexpr const char* kEos = "</s>";
constexpr const char* kLabelPrefix = "__label__";
// Hash arithmetic of Dictionary::addWordNgrams.
constexpr std::uint64_t kPairMultiplier = 116049371;

// A file in the temporary directory, made by mkstemp (unique, mode 0600) and removed on scope
// exit: fastText reads its training data and writes its model only through file names.
class TempFile {
 public:
  explicit TempFile(const char* stem) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (std::string(stem) + "-XXXXXX")).string();
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) {
      throw TextModelError("cannot create a temporary file in " +
                           std::filesystem::temp_directory_path().string() + ": " +
                           std::generic_category().message(errno));
    }
    ::close(fd);
    path_ = pattern;
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

void write_training_file(const std::string& path, std::span<const Tokens> texts,
                         std::span<const std::uint32_t> labels) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string line;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    line.assign(kLabelPrefix);
    line += std::to_string(labels[i]);
    for (std::size_t t = 0; t < texts[i].size(); ++t) {
      line.push_back(' ');
      line.append(texts[i][t]);
    }
    line.push_back('\n');
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
  }
  out.flush();
  if (!out) throw TextModelError("cannot write fastText's training file " + path);
}

// The training words that the word vectors know, in fastText's .vec text format. Returns the
// vectors' dimension.
int write_pretrained_file(const std::string& path, const std::filesystem::path& vectors_file,
                          std::span<const Tokens> texts) {
  datasets::WordVectors vectors;
  try {
    vectors = datasets::WordVectors::load(vectors_file);
  } catch (const std::exception& e) {
    throw TextModelError(std::string("word vectors: ") + e.what());
  }
  std::set<std::string_view> vocabulary;
  for (const Tokens& tokens : texts) {
    for (std::size_t t = 0; t < tokens.size(); ++t) vocabulary.insert(tokens[t]);
  }
  std::string body;
  std::size_t count = 0;
  char number[32];
  for (std::string_view word : vocabulary) {
    const auto row = vectors.find(word);
    if (!row) continue;
    ++count;
    body.append(word);
    for (float v : vectors.vector(*row)) {
      const auto [end, ec] = std::to_chars(number, number + sizeof number, v);
      body.push_back(' ');
      body.append(number, end);
    }
    body.push_back('\n');
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::string header = std::to_string(count) + " " + std::to_string(vectors.dim()) + "\n";
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(body.data(), static_cast<std::streamsize>(body.size()));
  out.flush();
  if (!out) throw TextModelError("cannot write the pretrained vectors file " + path);
  return static_cast<int>(vectors.dim());
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.eof() && in.fail()) throw TextModelError("cannot read fastText's model file " + path);
  return bytes;
}

void check_options(const FastTextOptions& o) {
  const auto fail = [](const std::string& what) { throw TextModelError("fastText: " + what); };
  if (o.dim < 1 || o.dim > 1024) fail("dim must be 1 to 1024");
  if (o.epochs < 1 || o.epochs > 10'000) fail("epochs must be 1 to 10,000");
  if (!(o.lr > 0) || !(o.lr <= 10)) fail("lr must be above 0 and at most 10");
  if (o.word_ngrams < 1 || o.word_ngrams > 2) fail("word_ngrams must be 1 or 2");
  if (o.bucket < 1 || o.bucket > 10'000'000) fail("bucket must be 1 to 10,000,000");
  if (o.min_count < 1) fail("min_count must be >= 1");
}

}  // namespace

std::uint32_t fasttext_hash(std::string_view word) noexcept {
  std::uint32_t h = 2166136261u;
  for (char c : word) {
    h ^= static_cast<std::uint32_t>(static_cast<std::int8_t>(c));
    h *= 16777619u;
  }
  return h;
}

std::string FastTextModel::train(std::span<const Tokens> texts,
                                 std::span<const std::uint32_t> labels, std::size_t classes,
                                 const FastTextOptions& options, std::uint64_t seed,
                                 const FastTextProgressFn& progress) {
  check_options(options);
  if (texts.size() != labels.size() || texts.empty()) {
    throw TextModelError("fastText: " + std::to_string(texts.size()) + " texts and " +
                         std::to_string(labels.size()) + " labels");
  }
  std::vector<bool> seen(classes, false);
  for (std::uint32_t label : labels) {
    if (label >= classes) throw TextModelError("fastText: a label is out of range");
    seen[label] = true;
  }
  // fastText numbers the labels it has seen; one without examples would have no output row.
  if (std::find(seen.begin(), seen.end(), false) != seen.end()) {
    throw TextModelError("fastText: every label needs at least one training text");
  }
  TempFile data("tandem-fasttext-train");
  write_training_file(data.path(), texts, labels);
  std::optional<TempFile> pretrained;

  fasttext::Args args;
  args.input = data.path();
  args.model = fasttext::model_name::sup;
  args.loss = fasttext::loss_name::softmax;
  args.dim = options.dim;
  args.epoch = options.epochs;
  args.lr = options.lr;
  args.wordNgrams = options.word_ngrams;
  args.bucket = options.bucket;
  args.minCount = options.min_count;
  args.minn = 0;
  args.maxn = 0;
  args.thread = 1;
  args.verbose = 0;
  args.seed = static_cast<int>(seed & 0x7fffffff);
  if (!options.word_vectors.empty()) {
    pretrained.emplace("tandem-fasttext-vectors");
    args.dim = write_pretrained_file(pretrained->path(), options.word_vectors, texts);
    args.pretrainedVectors = pretrained->path();
  }
  fasttext::FastText fasttext;
  fasttext::FastText::TrainCallback callback;
  if (progress) {
    callback = [&progress](float done, float loss, double, double, std::int64_t) {
      progress(done, loss);
    };
  }
  TempFile model("tandem-fasttext-model");
  try {
    fasttext.train(args, callback);
    fasttext.saveModel(model.path());
  } catch (const std::exception& e) {
    throw TextModelError(std::string("fastText training failed: ") + e.what());
  }
  return read_whole_file(model.path());
}

FastTextModel FastTextModel::decode(std::string_view bytes, std::size_t classes) {
  ByteReader<TextModelError> r(bytes, "fastText model");
  if (r.integer<std::int32_t>("magic") != kFastTextMagic) {
    r.fail(0, "not a fastText model (wrong magic number)");
  }
  const auto version = r.integer<std::int32_t>("version");
  if (version != kFastTextVersion) {
    r.fail(4, "fastText format version " + std::to_string(version) + " (this code reads 12)");
  }
  // Args::save: dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate
  // (int32 each), then t (double).
  const std::size_t args_at = r.offset();
  std::int32_t a[12];
  for (std::int32_t& v : a) v = r.integer<std::int32_t>("arguments");
  r.take(8, "arguments");
  const std::int32_t dim = a[0], word_ngrams = a[5], loss = a[6], model = a[7], bucket = a[8],
                     minn = a[9], maxn = a[10];
  if (dim < 1 || dim > 1024) r.fail(args_at, "dim " + std::to_string(dim) + " not in 1..1024");
  if (word_ngrams < 1 || word_ngrams > 2) {
    r.fail(args_at + 20, "wordNgrams " + std::to_string(word_ngrams) + " (1 or 2 are read)");
  }
  if (loss != kLossSoftmax) r.fail(args_at + 24, "the loss is not softmax");
  if (model != kModelSupervised) r.fail(args_at + 28, "not a supervised model");
  if (bucket < 0 || bucket > 10'000'000 || (word_ngrams > 1 && bucket < 1)) {
    r.fail(args_at + 32, "bucket " + std::to_string(bucket) + " out of range");
  }
  if (minn != 0 || maxn != 0) r.fail(args_at + 36, "character n-grams are not supported");

  // Dictionary::save.
  const std::size_t dict_at = r.offset();
  const auto size = r.integer<std::int32_t>("dictionary size");
  const auto nwords = r.integer<std::int32_t>("word count");
  const auto nlabels = r.integer<std::int32_t>("label count");
  r.integer<std::int64_t>("token count");
  const auto pruned = r.integer<std::int64_t>("pruned index size");
  if (nwords < 1 || nlabels < 0 || size != nwords + nlabels ||
      static_cast<std::size_t>(nlabels) != classes) {
    r.fail(dict_at, std::to_string(nwords) + " words and " + std::to_string(nlabels) +
                        " labels in a dictionary of " + std::to_string(size) + " (expected " +
                        std::to_string(classes) + " labels)");
  }
  if (pruned != -1) r.fail(dict_at + 20, "quantized (pruned) models are not supported");
  FastTextModel m;
  m.classes_ = classes;
  m.dim_ = dim;
  m.word_ngrams_ = word_ngrams;
  m.bucket_ = static_cast<std::uint32_t>(bucket);
  // An entry is at least 10 bytes: checked before reserving.
  if (static_cast<std::uint64_t>(size) * 10 > r.remaining()) {
    r.fail(dict_at, "the dictionary claims more entries than the model has bytes");
  }
  m.word_ends_.reserve(static_cast<std::size_t>(nwords));
  std::vector<std::uint32_t> output_label(static_cast<std::size_t>(nlabels));
  std::vector<bool> label_seen(classes, false);
  for (std::int32_t i = 0; i < size; ++i) {
    const std::size_t at = r.offset();
    std::size_t length = 0;
    while (true) {
      const char c = r.take(1, "a dictionary word")[0];
      if (c == 0) break;
      ++length;
    }
    const std::string_view word = bytes.substr(at, length);
    r.integer<std::int64_t>("a word count");
    const auto type = r.integer<std::int8_t>("an entry type");
    if (word.empty()) r.fail(at, "an empty dictionary word");
    if (i < nwords) {
      if (type != 0) r.fail(at, "entry " + std::to_string(i) + " should be a word");
      m.vocabulary_.append(word);
      m.word_ends_.push_back(static_cast<std::uint32_t>(m.vocabulary_.size()));
      if (word == kEos) m.eos_ = i;
    } else {
      if (type != 1) r.fail(at, "entry " + std::to_string(i) + " should be a label");
      std::uint32_t label = 0;
      const std::string_view digits = word.substr(std::min(word.size(), std::strlen(kLabelPrefix)));
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), label);
      if (!word.starts_with(kLabelPrefix) || ec != std::errc{} ||
          end != digits.data() + digits.size() || label >= classes || label_seen[label]) {
        r.fail(at, "label '" + std::string(word) + "' is not one of __label__0 .. __label__" +
                       std::to_string(classes - 1) + " (each once)");
      }
      label_seen[label] = true;
      output_label[static_cast<std::size_t>(i - nwords)] = label;
    }
  }
  if (r.integer<std::uint8_t>("quantized flag") != 0) {
    r.fail(r.offset() - 1, "quantized models are not supported");
  }
  const std::size_t input_at = r.offset();
  const auto rows = r.integer<std::int64_t>("input rows");
  const auto cols = r.integer<std::int64_t>("input columns");
  if (rows != std::int64_t{nwords} + bucket || cols != dim) {
    r.fail(input_at, "the input matrix is " + std::to_string(rows) + " x " + std::to_string(cols) +
                         ", expected " + std::to_string(std::int64_t{nwords} + bucket) + " x " +
                         std::to_string(dim));
  }
  const std::string_view input =
      r.take(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols) * 4, "input matrix");
  if (r.integer<std::uint8_t>("quantized output flag") != 0) {
    r.fail(r.offset() - 1, "quantized models are not supported");
  }
  const std::size_t output_at = r.offset();
  const auto out_rows = r.integer<std::int64_t>("output rows");
  const auto out_cols = r.integer<std::int64_t>("output columns");
  if (out_rows != nlabels || out_cols != dim) {
    r.fail(output_at, "the output matrix is " + std::to_string(out_rows) + " x " +
                          std::to_string(out_cols) + ", expected " + std::to_string(nlabels) +
                          " x " + std::to_string(dim));
  }
  // Output rows reordered to our label numbering.
  std::vector<double> output(classes * static_cast<std::size_t>(dim));
  for (std::size_t row = 0; row < classes; ++row) {
    for (std::int32_t d = 0; d < dim; ++d) {
      output[output_label[row] * static_cast<std::size_t>(dim) + static_cast<std::size_t>(d)] =
          r.f32("the output matrix");
    }
  }
  r.expect_end();

  // P = input x output^T, row by row straight from the bytes.
  m.projected_.resize(static_cast<std::size_t>(rows) * classes);
  std::vector<float> row_values(static_cast<std::size_t>(dim));
  for (std::size_t row = 0; row < static_cast<std::size_t>(rows); ++row) {
    std::memcpy(row_values.data(), input.data() + row * row_values.size() * 4,
                row_values.size() * 4);
    for (float v : row_values) {
      if (!std::isfinite(v)) {
        r.fail(input_at + 16 + row * row_values.size() * 4,
               "the input matrix has a non-finite value");
      }
    }
    for (std::size_t c = 0; c < classes; ++c) {
      double sum = 0;
      const double* o = output.data() + c * row_values.size();
      for (std::size_t d = 0; d < row_values.size(); ++d) sum += row_values[d] * o[d];
      m.projected_[row * classes + c] = static_cast<float>(sum);
    }
  }

  std::size_t slots = 16;
  while (slots < 2 * m.word_ends_.size()) slots *= 2;
  m.slots_.assign(slots, 0);
  for (std::size_t id = 0; id < m.word_ends_.size(); ++id) {
    const std::uint32_t begin = id == 0 ? 0 : m.word_ends_[id - 1];
    const std::string_view word =
        std::string_view(m.vocabulary_).substr(begin, m.word_ends_[id] - begin);
    if (m.word_id(word, fasttext_hash(word)) >= 0) {
      r.fail(dict_at, "the word '" + std::string(word) + "' appears twice");
    }
    std::size_t slot = fasttext_hash(word) & (slots - 1);
    while (m.slots_[slot] != 0) slot = (slot + 1) & (slots - 1);
    m.slots_[slot] = static_cast<std::uint32_t>(id + 1);
  }
  return m;
}

std::int32_t FastTextModel::word_id(std::string_view word, std::uint32_t hash) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const std::uint32_t entry = slots_[slot];
    if (entry == 0) return -1;
    const std::uint32_t id = entry - 1;
    const std::uint32_t begin = id == 0 ? 0 : word_ends_[id - 1];
    if (std::string_view(vocabulary_).substr(begin, word_ends_[id] - begin) == word) {
      return static_cast<std::int32_t>(id);
    }
  }
}

void FastTextModel::inputs_of(const Tokens& tokens, std::vector<Input>& inputs) const {
  // As Dictionary::getLine: every known word's id, then "</s>", then a hashed row for each pair
  // of adjacent tokens (unknown words included) from the tokens' hashes, "</s>" last.
  thread_local std::vector<std::int32_t> hashes;
  inputs.clear();
  hashes.clear();
  const auto n = static_cast<std::uint32_t>(tokens.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t h = fasttext_hash(tokens[i]);
    if (const std::int32_t id = word_id(tokens[i], h); id >= 0) {
      inputs.push_back({static_cast<std::uint32_t>(id), i, false});
    }
    hashes.push_back(static_cast<std::int32_t>(h));
  }
  if (eos_ >= 0) inputs.push_back({static_cast<std::uint32_t>(eos_), n, false});
  hashes.push_back(static_cast<std::int32_t>(fasttext_hash(kEos)));
  if (word_ngrams_ < 2) return;
  const auto words = static_cast<std::uint32_t>(word_ends_.size());
  for (std::uint32_t i = 0; i + 1 < hashes.size(); ++i) {
    // int32 -> uint64 sign-extends, exactly as fastText's `uint64_t h = hashes[i]`.
    const std::uint64_t h =
        static_cast<std::uint64_t>(static_cast<std::int64_t>(hashes[i])) * kPairMultiplier +
        static_cast<std::uint64_t>(static_cast<std::int64_t>(hashes[i + 1]));
    inputs.push_back({words + static_cast<std::uint32_t>(h % bucket_), i, true});
  }
}

void FastTextModel::logits(const Tokens& tokens, std::span<float> out) const {
  thread_local std::vector<Input> inputs;
  inputs_of(tokens, inputs);
  std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(classes_), 0.0f);
  if (inputs.empty()) return;
  for (const Input& in : inputs) {
    const float* p = projected_.data() + std::size_t{in.row} * classes_;
    for (std::size_t c = 0; c < classes_; ++c) out[c] += p[c];
  }
  const float scale = 1.0f / static_cast<float>(inputs.size());
  for (std::size_t c = 0; c < classes_; ++c) out[c] *= scale;
}

void FastTextModel::explain(const Tokens& tokens, std::uint32_t label,
                            std::vector<FeatureWeight>& out) const {
  thread_local std::vector<Input> inputs;
  inputs_of(tokens, inputs);
  if (inputs.empty()) return;
  const float scale = 1.0f / static_cast<float>(inputs.size());
  const float others = 1.0f / static_cast<float>(classes_ - 1);
  const auto n = static_cast<std::uint32_t>(tokens.size());
  for (const Input& in : inputs) {
    // The end-of-text token, and the pair of the last word with it, act as a bias.
    if (in.position + (in.pair ? 1u : 0u) >= n) continue;
    const float* p = projected_.data() + std::size_t{in.row} * classes_;
    float rest = 0;
    for (std::size_t c = 0; c < classes_; ++c) {
      if (c != label) rest += p[c];
    }
    const std::uint64_t key =
        in.pair ? pair_key(word_key(tokens[in.position]), word_key(tokens[in.position + 1]))
                : word_key(tokens[in.position]);
    out.push_back({key, in.position, in.pair, scale * (p[label] - rest * others)});
  }
}

}  // namespace tandem::models::text
