#include "tandem/models/recsys/mf_training.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <utility>
#include <vector>

#include "tandem/models/recsys/random.h"

namespace tandem::models::recsys {
namespace {

using datasets::Rating;
using Clock = std::chrono::steady_clock;

// The ratings with dense ids, grouped by user (compressed rows, items increasing in each row).
struct Indexed {
  std::vector<std::uint32_t> user_ids;
  std::vector<std::uint32_t> item_ids;
  std::vector<std::uint64_t> user_offsets;
  std::vector<std::uint32_t> items;
  std::vector<float> values;
  float min_value = 0;
  float max_value = 0;
  double mean = 0;
};

std::vector<std::uint32_t> sorted_unique(std::vector<std::uint32_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::uint32_t dense(const std::vector<std::uint32_t>& ids, std::uint32_t id) {
  return static_cast<std::uint32_t>(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin());
}

std::string describe(const Rating& r) {
  std::ostringstream s;
  s << "user " << r.user << ", item " << r.item;
  return s.str();
}

Indexed index_ratings(std::span<const Rating> ratings, Feedback feedback) {
  if (ratings.empty()) throw RecsysError("recsys training: no ratings");
  if (ratings.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw RecsysError("recsys training: more than 2^32 - 1 ratings");
  }
  Indexed x;
  std::vector<std::uint32_t> users;
  std::vector<std::uint32_t> items;
  users.reserve(ratings.size());
  items.reserve(ratings.size());
  x.min_value = std::numeric_limits<float>::max();
  x.max_value = std::numeric_limits<float>::lowest();
  double sum = 0;
  for (std::size_t k = 0; k < ratings.size(); ++k) {
    const Rating& r = ratings[k];
    if (!std::isfinite(r.rating)) {
      throw RecsysError("recsys training: rating " + std::to_string(k) + " (" + describe(r) +
                        ") is not a finite number");
    }
    if (feedback == Feedback::kImplicit && r.rating < 0) {
      throw RecsysError("recsys training: rating " + std::to_string(k) + " (" + describe(r) +
                        ") is negative; implicit feedback needs values >= 0");
    }
    users.push_back(r.user);
    items.push_back(r.item);
    x.min_value = std::min(x.min_value, r.rating);
    x.max_value = std::max(x.max_value, r.rating);
    sum += r.rating;
  }
  x.mean = sum / static_cast<double>(ratings.size());
  x.user_ids = sorted_unique(std::move(users));
  x.item_ids = sorted_unique(std::move(items));

  // Counting sort by user, then each row by item.
  x.user_offsets.assign(x.user_ids.size() + 1, 0);
  std::vector<std::uint32_t> user_of(ratings.size());
  for (std::size_t k = 0; k < ratings.size(); ++k) {
    user_of[k] = dense(x.user_ids, ratings[k].user);
    ++x.user_offsets[user_of[k] + 1];
  }
  std::partial_sum(x.user_offsets.begin(), x.user_offsets.end(), x.user_offsets.begin());
  std::vector<std::pair<std::uint32_t, float>> cells(ratings.size());
  std::vector<std::uint64_t> fill(x.user_offsets.begin(), x.user_offsets.end() - 1);
  for (std::size_t k = 0; k < ratings.size(); ++k) {
    cells[fill[user_of[k]]++] = {dense(x.item_ids, ratings[k].item), ratings[k].rating};
  }
  x.items.resize(ratings.size());
  x.values.resize(ratings.size());
  for (std::size_t u = 0; u < x.user_ids.size(); ++u) {
    const auto begin = cells.begin() + static_cast<std::ptrdiff_t>(x.user_offsets[u]);
    const auto end = cells.begin() + static_cast<std::ptrdiff_t>(x.user_offsets[u + 1]);
    std::sort(begin, end, [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto it = begin; it != end; ++it) {
      const auto k = static_cast<std::size_t>(it - cells.begin());
      if (it != begin && (it - 1)->first == it->first) {
        throw RecsysError("recsys training: user " + std::to_string(x.user_ids[u]) +
                          " rated item " + std::to_string(x.item_ids[it->first]) +
                          " more than once");
      }
      x.items[k] = it->first;
      x.values[k] = it->second;
    }
  }
  return x;
}

Eigen::MatrixXf random_matrix(Eigen::Index rows, Eigen::Index cols, float std_dev,
                              detail::Random& random) {
  Eigen::MatrixXf m(rows, cols);
  for (Eigen::Index c = 0; c < cols; ++c) {
    for (Eigen::Index r = 0; r < rows; ++r) {
      m(r, c) = static_cast<float>(random.normal()) * std_dev;
    }
  }
  return m;
}

MfParameters parameters_from(Indexed&& x, Feedback feedback, int factors) {
  MfParameters p;
  p.feedback = feedback;
  p.global_mean = feedback == Feedback::kExplicit ? static_cast<float>(x.mean) : 0.0f;
  p.min_rating = x.min_value;
  p.max_rating = x.max_value;
  const auto users = static_cast<Eigen::Index>(x.user_ids.size());
  const auto items = static_cast<Eigen::Index>(x.item_ids.size());
  p.user_factors = Eigen::MatrixXf::Zero(factors, users);
  p.item_factors = Eigen::MatrixXf::Zero(factors, items);
  p.user_bias = Eigen::VectorXf::Zero(users);
  p.item_bias = Eigen::VectorXf::Zero(items);
  p.user_ids = std::move(x.user_ids);
  p.item_ids = std::move(x.item_ids);
  p.user_offsets = std::move(x.user_offsets);
  p.rated_items = std::move(x.items);
  p.rated_values = std::move(x.values);
  return p;
}

std::string format_float(float v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One half-sweep of implicit ALS: every column of `solve` (users or items) given `fixed`, with
// the conjugate-gradient method warm-started from the current column (Takacs, Pilaszy, Tikk
// 2011), `cg_steps` steps each. Row e of the compressed rows lists e's interactions.
void implicit_half_sweep(Eigen::MatrixXf& solve, const Eigen::MatrixXf& fixed,
                         const std::vector<std::uint64_t>& offsets,
                         const std::vector<std::uint32_t>& index, const std::vector<float>& values,
                         float alpha, float lambda, int cg_steps) {
  const Eigen::Index k = fixed.rows();
  Eigen::MatrixXf gram = fixed * fixed.transpose();
  gram.diagonal().array() += lambda;
  Eigen::VectorXf r(k);
  Eigen::VectorXf p(k);
  Eigen::VectorXf ap(k);
  for (Eigen::Index e = 0; e < solve.cols(); ++e) {
    auto x = solve.col(e);
    const auto begin = static_cast<std::size_t>(offsets[static_cast<std::size_t>(e)]);
    const auto end = static_cast<std::size_t>(offsets[static_cast<std::size_t>(e) + 1]);
    // r = b - A x, with A = gram + sum (c - 1) y y^T and b = sum c y.
    r.noalias() = -(gram * x);
    for (std::size_t j = begin; j < end; ++j) {
      const auto y = fixed.col(index[j]);
      const float c = 1.0f + alpha * values[j];
      r += (c - (c - 1.0f) * y.dot(x)) * y;
    }
    p = r;
    float rs_old = r.squaredNorm();
    for (int step = 0; step < cg_steps && rs_old > 1e-20f; ++step) {
      ap.noalias() = gram * p;
      for (std::size_t j = begin; j < end; ++j) {
        const auto y = fixed.col(index[j]);
        const float c = 1.0f + alpha * values[j];
        ap += ((c - 1.0f) * y.dot(p)) * y;
      }
      const float step_size = rs_old / p.dot(ap);
      x += step_size * p;
      r -= step_size * ap;
      const float rs_new = r.squaredNorm();
      p = r + (rs_new / rs_old) * p;
      rs_old = rs_new;
    }
  }
}

// The interactions of a model's parameters by item (compressed rows by item, users increasing).
struct ItemRows {
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint32_t> index;
  std::vector<float> values;
};

ItemRows item_rows(const MfParameters& p) {
  ItemRows rows;
  const std::size_t items = p.item_ids.size();
  rows.offsets.assign(items + 1, 0);
  for (std::uint32_t i : p.rated_items) ++rows.offsets[i + 1];
  std::partial_sum(rows.offsets.begin(), rows.offsets.end(), rows.offsets.begin());
  rows.index.resize(p.rated_items.size());
  rows.values.resize(p.rated_items.size());
  std::vector<std::uint64_t> fill(rows.offsets.begin(), rows.offsets.end() - 1);
  for (std::size_t u = 0; u + 1 < p.user_offsets.size(); ++u) {
    for (std::uint64_t r = p.user_offsets[u]; r < p.user_offsets[u + 1]; ++r) {
      const std::uint64_t at = fill[p.rated_items[r]]++;
      rows.index[at] = static_cast<std::uint32_t>(u);
      rows.values[at] = p.rated_values[r];
    }
  }
  return rows;
}

struct GibbsScratch {
  explicit GibbsScratch(Eigen::Index d)
      : prior_mean(d), prior_precision(d, d), precision(d, d), rhs(d), z(d), noise(d) {}
  Eigen::VectorXd prior_mean;
  Eigen::MatrixXd prior_precision;
  Eigen::MatrixXd precision;
  Eigen::VectorXd rhs;
  Eigen::VectorXd z;
  Eigen::VectorXd noise;
  Eigen::LLT<Eigen::MatrixXd> llt;
};

void fill_normal(Eigen::VectorXd& v, detail::Random& random) {
  for (Eigen::Index i = 0; i < v.size(); ++i) v[i] = random.normal();
}

// Samples the mean and precision of the Gaussian prior of the vectors (the columns of `vecs`)
// from their Normal-Wishart posterior, with the hyperprior mu0 = 0, beta0 = 2, W0 = I, nu0 = d
// (BPMF's). Wishart by Bartlett's decomposition.
void sample_prior(const Eigen::MatrixXd& vecs, detail::Random& random, GibbsScratch& s) {
  const Eigen::Index d = vecs.rows();
  const double n = static_cast<double>(vecs.cols());
  constexpr double kBeta0 = 2.0;
  const double nu0 = static_cast<double>(d);
  const Eigen::VectorXd mean = vecs.rowwise().mean();
  const Eigen::MatrixXd centred = vecs.colwise() - mean;
  Eigen::MatrixXd w_inv = Eigen::MatrixXd::Identity(d, d);
  w_inv.noalias() += centred * centred.transpose();
  w_inv.noalias() += (kBeta0 * n / (kBeta0 + n)) * mean * mean.transpose();
  const Eigen::MatrixXd w = w_inv.llt().solve(Eigen::MatrixXd::Identity(d, d));
  const Eigen::MatrixXd w_chol = Eigen::LLT<Eigen::MatrixXd>(0.5 * (w + w.transpose())).matrixL();
  const double nu = nu0 + n;
  Eigen::MatrixXd bartlett = Eigen::MatrixXd::Zero(d, d);
  for (Eigen::Index i = 0; i < d; ++i) {
    bartlett(i, i) = std::sqrt(2.0 * random.gamma(0.5 * (nu - static_cast<double>(i))));
    for (Eigen::Index j = 0; j < i; ++j) bartlett(i, j) = random.normal();
  }
  const Eigen::MatrixXd la = w_chol * bartlett;
  s.prior_precision.noalias() = la * la.transpose();
  const double beta = kBeta0 + n;
  s.llt.compute(beta * s.prior_precision);
  fill_normal(s.noise, random);
  s.prior_mean = (n / beta) * mean + s.llt.matrixU().solve(s.noise);
}

// One half-sweep of the Gibbs sampler: every column of `solve` (factors, then bias) drawn from
// its Gaussian conditional given `fixed`, the interactions in compressed rows, and a prior drawn
// first from the current columns.
void gibbs_half_sweep(Eigen::MatrixXd& solve, const Eigen::MatrixXd& fixed,
                      const std::vector<std::uint64_t>& offsets,
                      const std::vector<std::uint32_t>& index, const std::vector<float>& values,
                      double mu, double alpha, detail::Random& random, GibbsScratch& s) {
  const Eigen::Index k = solve.rows() - 1;
  sample_prior(solve, random, s);
  const Eigen::VectorXd prior_term = s.prior_precision * s.prior_mean;
  for (Eigen::Index e = 0; e < solve.cols(); ++e) {
    s.precision = s.prior_precision;
    s.rhs = prior_term;
    const auto begin = static_cast<std::size_t>(offsets[static_cast<std::size_t>(e)]);
    const auto end = static_cast<std::size_t>(offsets[static_cast<std::size_t>(e) + 1]);
    for (std::size_t j = begin; j < end; ++j) {
      const auto other = fixed.col(index[j]);
      s.z.head(k) = other.head(k);
      s.z[k] = 1.0;
      const double target = values[j] - mu - other[k];
      s.precision.selfadjointView<Eigen::Lower>().rankUpdate(s.z, alpha);
      s.rhs += (alpha * target) * s.z;
    }
    s.llt.compute(s.precision);  // reads the lower triangle
    fill_normal(s.noise, random);
    solve.col(e) = s.llt.solve(s.rhs) + s.llt.matrixU().solve(s.noise);
  }
}

}  // namespace

TrainOptions TrainOptions::explicit_defaults() {
  TrainOptions o;
  o.feedback = Feedback::kExplicit;
  o.solver = ExplicitSolver::kGibbs;
  o.factors = 10;
  o.iterations = 180;
  o.burn_in = 30;
  o.noise_precision = 2.0f;
  o.init_std = 0.1f;
  return o;
}

TrainOptions TrainOptions::sgd_defaults() {
  TrainOptions o;
  o.feedback = Feedback::kExplicit;
  o.solver = ExplicitSolver::kSgd;
  o.factors = 128;
  o.iterations = 100;
  o.init_std = 0.01f;
  o.learning_rate = 0.01f;
  o.learning_rate_decay = 0.98f;
  o.regularization = 0.06f;
  o.bias_regularization = 0.02f;
  return o;
}

TrainOptions TrainOptions::implicit_defaults() {
  TrainOptions o;
  o.feedback = Feedback::kImplicit;
  o.factors = 32;
  o.iterations = 15;
  o.init_std = 0.01f;
  o.alpha = 3.0f;
  o.implicit_regularization = 1.0f;
  return o;
}

void TrainOptions::validate() const {
  const auto fail = [](const std::string& what) {
    throw RecsysError("recsys training options: " + what);
  };
  if (feedback != Feedback::kExplicit && feedback != Feedback::kImplicit) fail("unknown feedback");
  if (solver != ExplicitSolver::kGibbs && solver != ExplicitSolver::kSgd) fail("unknown solver");
  if (factors < 1 || factors > 1024)
    fail("factors must be 1 to 1024, not " + std::to_string(factors));
  if (iterations < 1 || iterations > 100000) {
    fail("iterations must be 1 to 100000, not " + std::to_string(iterations));
  }
  if (!(init_std >= 0 && std::isfinite(init_std))) fail("init_std must be finite and >= 0");
  if (feedback == Feedback::kExplicit && solver == ExplicitSolver::kGibbs) {
    if (burn_in < 0 || burn_in >= iterations) {
      fail("burn_in must be 0 to iterations - 1 (" + std::to_string(iterations - 1) + "), not " +
           std::to_string(burn_in));
    }
    if (!(noise_precision > 0 && std::isfinite(noise_precision))) {
      fail("noise_precision must be finite and > 0");
    }
  } else if (feedback == Feedback::kExplicit && solver == ExplicitSolver::kSgd) {
    if (!(learning_rate > 0 && learning_rate < 1)) fail("learning_rate must be in (0, 1)");
    if (!(learning_rate_decay > 0 && learning_rate_decay <= 1)) {
      fail("learning_rate_decay must be in (0, 1]");
    }
    if (!(regularization >= 0 && std::isfinite(regularization))) {
      fail("regularization must be finite and >= 0");
    }
    if (!(bias_regularization >= 0 && std::isfinite(bias_regularization))) {
      fail("bias_regularization must be finite and >= 0");
    }
  } else {
    if (!(alpha >= 0 && std::isfinite(alpha))) fail("alpha must be finite and >= 0");
    if (!(implicit_regularization > 0 && std::isfinite(implicit_regularization))) {
      fail("implicit_regularization must be finite and > 0");
    }
    if (!(init_std > 0)) fail("init_std must be > 0 in implicit mode (ALS starts from it)");
  }
}

std::map<std::string, std::string> TrainOptions::to_params() const {
  std::map<std::string, std::string> m;
  m["feedback"] = std::string(to_string(feedback));
  m["factors"] = std::to_string(factors);
  m["iterations"] = std::to_string(iterations);
  m["seed"] = std::to_string(seed);
  m["init_std"] = format_float(init_std);
  if (feedback == Feedback::kExplicit && solver == ExplicitSolver::kGibbs) {
    m["algorithm"] = "gibbs";
    m["burn_in"] = std::to_string(burn_in);
    m["noise_precision"] = format_float(noise_precision);
  } else if (feedback == Feedback::kExplicit) {
    m["algorithm"] = "sgd";
    m["learning_rate"] = format_float(learning_rate);
    m["learning_rate_decay"] = format_float(learning_rate_decay);
    m["regularization"] = format_float(regularization);
    m["bias_regularization"] = format_float(bias_regularization);
  } else {
    m["algorithm"] = "als-cg";
    m["alpha"] = format_float(alpha);
    m["regularization"] = format_float(implicit_regularization);
  }
  return m;
}

namespace {

MfModel train_sgd(std::span<const Rating> ratings, const TrainOptions& options,
                  const ProgressCallback& progress) {
  const Clock::time_point start = Clock::now();
  Indexed x = index_ratings(ratings, Feedback::kExplicit);
  MfParameters p = parameters_from(std::move(x), Feedback::kExplicit, options.factors);
  detail::Random random(options.seed);
  p.user_factors =
      random_matrix(p.user_factors.rows(), p.user_factors.cols(), options.init_std, random);
  p.item_factors =
      random_matrix(p.item_factors.rows(), p.item_factors.cols(), options.init_std, random);

  const std::size_t n = p.rated_items.size();
  std::vector<std::uint32_t> user_of(n);
  for (std::size_t u = 0; u + 1 < p.user_offsets.size(); ++u) {
    for (std::uint64_t r = p.user_offsets[u]; r < p.user_offsets[u + 1]; ++r) {
      user_of[r] = static_cast<std::uint32_t>(u);
    }
  }
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  const int k = options.factors;
  const float mu = p.global_mean;
  const float reg = options.regularization;
  const float breg = options.bias_regularization;
  float lr = options.learning_rate;
  float* bu = p.user_bias.data();
  float* bi = p.item_bias.data();
  for (int epoch = 0; epoch < options.iterations; ++epoch) {
    random.shuffle(order.data(), order.size());
    double squared = 0;
    for (std::uint32_t r : order) {
      const std::uint32_t u = user_of[r];
      const std::uint32_t i = p.rated_items[r];
      float* pu = p.user_factors.col(u).data();
      float* qi = p.item_factors.col(i).data();
      float dot = 0;
      for (int f = 0; f < k; ++f) dot += pu[f] * qi[f];
      const float e = p.rated_values[r] - (mu + bu[u] + bi[i] + dot);
      squared += static_cast<double>(e) * e;
      bu[u] += lr * (e - breg * bu[u]);
      bi[i] += lr * (e - breg * bi[i]);
      for (int f = 0; f < k; ++f) {
        const float puf = pu[f];
        pu[f] += lr * (e * qi[f] - reg * puf);
        qi[f] += lr * (e * puf - reg * qi[f]);
      }
    }
    if (!std::isfinite(squared)) {
      throw RecsysError("recsys training: SGD diverged in epoch " + std::to_string(epoch + 1) +
                        " (learning rate " + format_float(lr) + " is too large)");
    }
    lr *= options.learning_rate_decay;
    if (progress) {
      progress({epoch + 1, options.iterations, std::sqrt(squared / static_cast<double>(n)),
                seconds_since(start)});
    }
  }
  return MfModel(std::move(p));
}

MfModel train_gibbs(std::span<const Rating> ratings, const TrainOptions& options,
                    const ProgressCallback& progress) {
  const Clock::time_point start = Clock::now();
  Indexed x = index_ratings(ratings, Feedback::kExplicit);
  MfParameters p = parameters_from(std::move(x), Feedback::kExplicit, options.factors);
  detail::Random random(options.seed);
  const Eigen::Index k = options.factors;
  const Eigen::Index d = k + 1;  // the factors, then the bias
  const std::size_t users = p.user_ids.size();
  const std::size_t items = p.item_ids.size();
  Eigen::MatrixXd user_vec(d, static_cast<Eigen::Index>(users));
  Eigen::MatrixXd item_vec(d, static_cast<Eigen::Index>(items));
  for (Eigen::Index c = 0; c < user_vec.size(); ++c) {
    user_vec.data()[c] = random.normal() * options.init_std;
  }
  for (Eigen::Index c = 0; c < item_vec.size(); ++c) {
    item_vec.data()[c] = random.normal() * options.init_std;
  }
  const ItemRows by_item = item_rows(p);
  const double mu = p.global_mean;
  const double alpha = options.noise_precision;
  Eigen::MatrixXd user_sum = Eigen::MatrixXd::Zero(d, static_cast<Eigen::Index>(users));
  Eigen::MatrixXd item_sum = Eigen::MatrixXd::Zero(d, static_cast<Eigen::Index>(items));
  int samples = 0;
  GibbsScratch scratch(d);
  for (int it = 0; it < options.iterations; ++it) {
    gibbs_half_sweep(user_vec, item_vec, p.user_offsets, p.rated_items, p.rated_values, mu, alpha,
                     random, scratch);
    gibbs_half_sweep(item_vec, user_vec, by_item.offsets, by_item.index, by_item.values, mu, alpha,
                     random, scratch);
    if (!user_vec.allFinite() || !item_vec.allFinite()) {
      throw RecsysError("recsys training: Gibbs sampling diverged in sweep " +
                        std::to_string(it + 1));
    }
    if (it >= options.burn_in) {
      user_sum += user_vec;
      item_sum += item_vec;
      ++samples;
    }
    if (progress) {
      const bool averaged = samples > 0;
      const double scale = averaged ? 1.0 / samples : 1.0;
      const Eigen::MatrixXd& uv = averaged ? user_sum : user_vec;
      const Eigen::MatrixXd& iv = averaged ? item_sum : item_vec;
      double squared = 0;
      for (std::size_t u = 0; u < users; ++u) {
        for (std::uint64_t r = p.user_offsets[u]; r < p.user_offsets[u + 1]; ++r) {
          const auto ui = static_cast<Eigen::Index>(u);
          const auto ii = static_cast<Eigen::Index>(p.rated_items[r]);
          const double pred = mu + scale * (uv(k, ui) + iv(k, ii)) +
                              scale * scale * uv.col(ui).head(k).dot(iv.col(ii).head(k));
          const double e = pred - p.rated_values[r];
          squared += e * e;
        }
      }
      progress({it + 1, options.iterations,
                std::sqrt(squared / static_cast<double>(p.rated_items.size())),
                seconds_since(start)});
    }
  }
  // The model: the posterior mean of each vector (on this data as good as averaging the
  // samples' predictions, and one vector per user and item to serve).
  user_sum /= samples;
  item_sum /= samples;
  p.user_factors = user_sum.topRows(k).cast<float>();
  p.item_factors = item_sum.topRows(k).cast<float>();
  p.user_bias = user_sum.row(k).transpose().cast<float>();
  p.item_bias = item_sum.row(k).transpose().cast<float>();
  return MfModel(std::move(p));
}

}  // namespace

std::string_view to_string(ExplicitSolver solver) {
  return solver == ExplicitSolver::kSgd ? "sgd" : "gibbs";
}

ExplicitSolver solver_from_string(std::string_view name) {
  if (name == "gibbs") return ExplicitSolver::kGibbs;
  if (name == "sgd") return ExplicitSolver::kSgd;
  throw RecsysError("recsys: solver must be 'gibbs' or 'sgd', not '" + std::string(name) + "'");
}

MfModel train_explicit(std::span<const Rating> ratings, const TrainOptions& options,
                       const ProgressCallback& progress) {
  options.validate();
  if (options.feedback != Feedback::kExplicit) {
    throw RecsysError("recsys training: train_explicit called with implicit options");
  }
  return options.solver == ExplicitSolver::kSgd ? train_sgd(ratings, options, progress)
                                                : train_gibbs(ratings, options, progress);
}

MfModel train_implicit(std::span<const Rating> ratings, const TrainOptions& options,
                       const ProgressCallback& progress) {
  options.validate();
  if (options.feedback != Feedback::kImplicit) {
    throw RecsysError("recsys training: train_implicit called with explicit options");
  }
  const Clock::time_point start = Clock::now();
  Indexed x = index_ratings(ratings, Feedback::kImplicit);
  MfParameters p = parameters_from(std::move(x), Feedback::kImplicit, options.factors);
  detail::Random random(options.seed);
  p.user_factors =
      random_matrix(p.user_factors.rows(), p.user_factors.cols(), options.init_std, random);
  p.item_factors =
      random_matrix(p.item_factors.rows(), p.item_factors.cols(), options.init_std, random);

  const std::size_t users = p.user_ids.size();
  const std::size_t items = p.item_ids.size();
  const ItemRows by_item = item_rows(p);

  constexpr int kCgSteps = 3;
  const float alpha = options.alpha;
  const float lambda = options.implicit_regularization;
  for (int it = 0; it < options.iterations; ++it) {
    implicit_half_sweep(p.user_factors, p.item_factors, p.user_offsets, p.rated_items,
                        p.rated_values, alpha, lambda, kCgSteps);
    implicit_half_sweep(p.item_factors, p.user_factors, by_item.offsets, by_item.index,
                        by_item.values, alpha, lambda, kCgSteps);
    if (!p.user_factors.allFinite() || !p.item_factors.allFinite()) {
      throw RecsysError("recsys training: ALS diverged in iteration " + std::to_string(it + 1));
    }
    if (progress) {
      // sum over all pairs of c (pref - x.y)^2 = sum_u x_u^T (Y Y^T) x_u
      //   + sum over observed of [c (1 - s)^2 - s^2], s = x_u . y_i.
      const Eigen::MatrixXf gram = p.item_factors * p.item_factors.transpose();
      double loss = (gram * p.user_factors).cwiseProduct(p.user_factors).sum();
      for (std::size_t u = 0; u < users; ++u) {
        for (std::uint64_t r = p.user_offsets[u]; r < p.user_offsets[u + 1]; ++r) {
          const float s = p.user_factors.col(static_cast<Eigen::Index>(u))
                              .dot(p.item_factors.col(p.rated_items[r]));
          const float c = 1.0f + alpha * p.rated_values[r];
          loss += c * (1.0f - s) * (1.0f - s) - s * s;
        }
      }
      loss += lambda * (p.user_factors.squaredNorm() + p.item_factors.squaredNorm());
      progress({it + 1, options.iterations,
                loss / (static_cast<double>(users) * static_cast<double>(items)),
                seconds_since(start)});
    }
  }
  return MfModel(std::move(p));
}

MfModel train(std::span<const Rating> ratings, const TrainOptions& options,
              const ProgressCallback& progress) {
  return options.feedback == Feedback::kImplicit ? train_implicit(ratings, options, progress)
                                                 : train_explicit(ratings, options, progress);
}

}  // namespace tandem::models::recsys
