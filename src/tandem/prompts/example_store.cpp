#include "tandem/prompts/example_store.h"

// hnswlib's SSE path prefetches through the entry after a link list's last one, a read past the
// list's allocation that AddressSanitizer reports (harmless: only a prefetch address). The
// sanitizer build takes hnswlib's plain path instead.
#if defined(__SANITIZE_ADDRESS__) && !defined(NO_MANUAL_VECTORIZATION)
#define NO_MANUAL_VECTORIZATION
#endif
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cmath>
#include <fstream>
#include <mutex>
#include <variant>

#include "tandem/core/json_util.h"
#include "tandem/datasets/data_files.h"
#include "tandem/datasets/word_vectors.h"

namespace tandem::prompts {

namespace {

// Example inputs are request-shaped; the gateway refuses deeper request bodies too.
constexpr int kMaxExampleDepth = 64;

Example example_from(const boost::json::value& input, const boost::json::value& output,
                     const std::string& where) {
  if (!input.is_object()) {
    throw PromptError(where + ": \"input\" must be an object, got " + core::json_kind_name(input));
  }
  return Example{input.get_object(), output};
}

boost::json::value parse_or_throw(std::string_view text, const std::string& where) {
  auto parsed = core::parse_json(text, kMaxExampleDepth);
  if (auto* err = std::get_if<core::JsonParseError>(&parsed)) {
    throw PromptError(where + ": " + err->message);
  }
  return std::move(std::get<boost::json::value>(parsed));
}

}  // namespace

std::vector<Example> examples_from_config(std::span<const config::ExampleConfig> examples,
                                          const std::string& what) {
  std::vector<Example> out;
  out.reserve(examples.size());
  for (std::size_t i = 0; i < examples.size(); ++i) {
    std::string where = what + ": example " + std::to_string(i + 1);
    boost::json::value input = parse_or_throw(examples[i].input_json, where + ": input");
    boost::json::value output = parse_or_throw(examples[i].output_json, where + ": output");
    out.push_back(example_from(input, output, where));
  }
  return out;
}

std::vector<Example> load_examples_jsonl(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw PromptError(file.string() + ": cannot open the examples file");
  std::vector<Example> out;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string where = file.string() + ":" + std::to_string(number);
    boost::json::value v = parse_or_throw(line, where);
    if (!v.is_object()) {
      throw PromptError(where + ": expected an object {\"input\": {...}, \"output\": ...}, got " +
                        core::json_kind_name(v));
    }
    const auto& o = v.get_object();
    for (const auto& [key, value] : o) {
      if (key != "input" && key != "output") {
        throw PromptError(where + ": unknown key \"" + std::string(key) +
                          "\" (an example has \"input\" and \"output\")");
      }
    }
    const auto* input = o.if_contains("input");
    const auto* output = o.if_contains("output");
    if (input == nullptr) throw PromptError(where + ": \"input\" is missing");
    if (output == nullptr) throw PromptError(where + ": \"output\" is missing");
    out.push_back(example_from(*input, *output, where));
  }
  if (in.bad()) throw PromptError(file.string() + ": read error");
  return out;
}

std::vector<std::vector<float>> SentenceEmbedder::embed_batch(std::span<const std::string> texts,
                                                              EmbeddingSpend*) const {
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(embed(t));
  return out;
}

// ---- GloVe ----

GloveEmbedder::GloveEmbedder(std::shared_ptr<const datasets::WordVectors> vectors)
    : vectors_(std::move(vectors)) {
  if (!vectors_ || vectors_->dim() == 0) throw PromptError("GloVe embedder: no word vectors");
}

std::shared_ptr<const GloveEmbedder> GloveEmbedder::load_default() {
  // ~140 MB: one copy per process, kept while any variant uses it.
  static std::mutex mutex;
  static std::weak_ptr<const GloveEmbedder> shared;
  std::lock_guard lock(mutex);
  if (auto existing = shared.lock()) return existing;
  std::filesystem::path dir = datasets::data_dir();
  if (dir.empty()) {
    throw PromptError("GloVe embedder: neither TANDEM_DATA nor HOME is set, so " +
                      std::string(datasets::files::kGlove100d) + " cannot be found");
  }
  std::filesystem::path file = dir / datasets::files::kGlove100d;
  std::shared_ptr<const datasets::WordVectors> vectors;
  try {
    vectors = std::make_shared<const datasets::WordVectors>(datasets::WordVectors::load(file));
  } catch (const std::exception& e) {
    throw PromptError("GloVe embedder: " + std::string(e.what()) +
                      " (scripts/setup_data.sh prepares it)");
  }
  auto embedder = std::make_shared<const GloveEmbedder>(std::move(vectors));
  shared = embedder;
  return embedder;
}

std::vector<float> GloveEmbedder::embed(std::string_view text) const {
  const std::uint32_t dim = vectors_->dim();
  std::vector<float> sum(dim, 0.0f);
  std::string word;
  std::size_t known = 0;
  auto flush = [&] {
    if (word.empty()) return;
    if (auto row = vectors_->find(word)) {
      auto v = vectors_->vector(*row);
      for (std::uint32_t i = 0; i < dim; ++i) sum[i] += v[i];
      ++known;
    }
    word.clear();
  };
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    // Letters and digits form words; bytes of UTF-8 sequences too (GloVe has "café").
    if (std::isalnum(u) || u >= 0x80) {
      word += static_cast<char>(u < 0x80 ? std::tolower(u) : u);
      if (word.size() > 64) word.clear();  // no word is that long; skip the run
    } else {
      flush();
    }
  }
  flush();
  if (known == 0) return sum;
  double norm = 0;
  for (float x : sum) norm += static_cast<double>(x) * x;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& x : sum) x = static_cast<float>(x / norm);
  }
  return sum;
}

// ---- the store ----

struct ExampleStore::Index {
  explicit Index(std::size_t dim, std::size_t count) : space(dim), hnsw(&space, count, 16, 200) {}
  hnswlib::InnerProductSpace space;  // 1 - dot: cosine distance on unit vectors
  hnswlib::HierarchicalNSW<float> hnsw;
  std::mutex search;  // setEf writes a member that searches read
};

ExampleStore::ExampleStore(std::vector<Example> examples, std::vector<std::string> input_fields,
                           std::shared_ptr<const SentenceEmbedder> embedder)
    : examples_(std::move(examples)),
      fields_(std::move(input_fields)),
      embedder_(std::move(embedder)) {
  if (fields_.empty()) fields_.push_back("text");
  if (!embedder_ || examples_.empty()) return;
  std::vector<std::string> texts;
  texts.reserve(examples_.size());
  for (const auto& e : examples_) texts.push_back(text_of(e.input));
  // All at once: an embedder behind an API sends them in a few large requests, not one each.
  std::vector<std::vector<float>> vectors = unit_embeddings(texts, &load_spend_);
  std::vector<float> flat;
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    const std::vector<float>& v = vectors[i];
    if (i == 0) {
      dim_ = v.size();
      if (dim_ == 0) throw PromptError("example store: the embedder returned an empty vector");
      flat.reserve(dim_ * examples_.size());
    } else if (v.size() != dim_) {
      throw PromptError("example store: the embedder returned " + std::to_string(v.size()) +
                        " dimensions for example " + std::to_string(i + 1) + ", " +
                        std::to_string(dim_) + " before");
    }
    flat.insert(flat.end(), v.begin(), v.end());
  }
  if (examples_.size() <= kExactSearchLimit) {
    vectors_ = std::move(flat);
    return;
  }
  index_ = std::make_unique<Index>(dim_, examples_.size());
  for (std::size_t i = 0; i < examples_.size(); ++i) {
    index_->hnsw.addPoint(flat.data() + i * dim_, i);
  }
}

ExampleStore::~ExampleStore() = default;
ExampleStore::ExampleStore(ExampleStore&&) noexcept = default;
ExampleStore& ExampleStore::operator=(ExampleStore&&) noexcept = default;

std::string ExampleStore::text_of(const boost::json::object& input) const {
  std::string out;
  for (const auto& f : fields_) {
    const auto* v = input.if_contains(f);
    if (v == nullptr) continue;
    if (!out.empty()) out += '\n';
    if (v->is_string()) {
      out += v->get_string();
    } else {
      out += boost::json::serialize(*v);
    }
  }
  return out;
}

std::vector<std::vector<float>> ExampleStore::unit_embeddings(std::span<const std::string> texts,
                                                              EmbeddingSpend* spend) const {
  std::vector<std::vector<float>> vectors = embedder_->embed_batch(texts, spend);
  if (vectors.size() != texts.size()) {
    throw PromptError("example store: the embedder returned " + std::to_string(vectors.size()) +
                      " vectors for " + std::to_string(texts.size()) + " texts");
  }
  for (std::vector<float>& v : vectors) {
    double norm = 0;
    for (float x : v) {
      if (!std::isfinite(x)) {
        throw PromptError("example store: the embedder returned a non-number");
      }
      norm += static_cast<double>(x) * x;
    }
    norm = std::sqrt(norm);
    if (norm > 0) {
      for (float& x : v) x = static_cast<float>(x / norm);
    }
  }
  return vectors;
}

std::vector<ExampleStore::Match> ExampleStore::select(const boost::json::object& input,
                                                      std::size_t k, EmbeddingSpend* spend) const {
  k = std::min(k, examples_.size());
  if (k == 0) return {};
  if (!embedder_) throw PromptError("example store: no embedder to select examples with");
  const std::string text = text_of(input);
  std::vector<float> q = std::move(unit_embeddings(std::span(&text, 1), spend).front());
  if (q.size() != dim_) {
    throw PromptError("example store: the embedder returned " + std::to_string(q.size()) +
                      " dimensions for the input, " + std::to_string(dim_) + " for the examples");
  }
  std::vector<Match> out;
  if (index_) {
    // The search width grows with k so that the k found are the k nearest with high recall.
    auto found = [&] {
      std::lock_guard lock(index_->search);
      index_->hnsw.setEf(std::max<std::size_t>(64, 2 * k));
      return index_->hnsw.searchKnn(q.data(), k);
    }();
    while (!found.empty()) {
      out.push_back({found.top().second, 1.0f - found.top().first});
      found.pop();
    }
    // The queue pops farthest first: already least similar first. Ties: file order, reversed
    // so the earlier example sits nearer the question, as in the exact search below.
    std::stable_sort(out.begin(), out.end(), [](const Match& a, const Match& b) {
      return a.similarity < b.similarity || (a.similarity == b.similarity && a.index > b.index);
    });
    return out;
  }
  out.reserve(examples_.size());
  for (std::size_t i = 0; i < examples_.size(); ++i) {
    const float* v = vectors_.data() + i * dim_;
    double dot = 0;
    for (std::size_t d = 0; d < dim_; ++d) dot += static_cast<double>(v[d]) * q[d];
    out.push_back({i, static_cast<float>(dot)});
  }
  auto nearer = [](const Match& a, const Match& b) {
    return a.similarity > b.similarity || (a.similarity == b.similarity && a.index < b.index);
  };
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), nearer);
  out.resize(k);
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace tandem::prompts
