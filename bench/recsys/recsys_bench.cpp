// The recommender's benchmark (issue 4): quality on ml-latest-small beside the popularity
// baseline, training time, in-process query latency and model size. bench/recsys/README.md has
// the measured figures and the command.
//
//   tandem-recsys-bench [--data=FILE] [--models=gibbs,sgd,implicit] [--queries=N]
//                       [--split-seed=S] [--verbose] [--factors=K] [--iterations=N] [--seed=S]
//                       [--init-std=X] [--burn-in=N] [--noise-precision=X] [--lr=X]
//                       [--lr-decay=X] [--reg=X] [--bias-reg=X] [--alpha=X] [--implicit-reg=X]
//
// Models: gibbs = explicit feedback, Bayesian MF (the default explicit model); sgd = explicit
// feedback, SGD; implicit = implicit feedback, ALS. Training options override the defaults
// (TrainOptions::explicit_defaults, sgd_defaults, implicit_defaults) of every model they apply
// to. Latency and size are measured for every model listed, trained on all the ratings.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tandem/datasets/data_files.h"
#include "tandem/datasets/dataset_error.h"
#include "tandem/datasets/ratings.h"
#include "tandem/models/artifact.h"
#include "tandem/models/recsys/mf_artifact.h"
#include "tandem/models/recsys/mf_model.h"
#include "tandem/models/recsys/mf_training.h"
#include "tandem/models/recsys/recsys_metrics.h"

namespace {

using namespace tandem::models::recsys;
using tandem::datasets::Rating;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string data;
  std::vector<std::string> models = {"gibbs", "sgd", "implicit"};
  std::size_t queries = 20000;
  std::uint64_t split_seed = 42;
  bool verbose = false;
  std::map<std::string, std::string> overrides;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "tandem-recsys-bench: %s\n"
               "usage: tandem-recsys-bench [--data=FILE] [--models=gibbs,sgd,implicit] "
               "[--queries=N] [--split-seed=S] [--verbose] [--factors=K] [--iterations=N] "
               "[--seed=S] [--init-std=X] [--burn-in=N] [--noise-precision=X] [--lr=X] "
               "[--lr-decay=X] [--reg=X] [--bias-reg=X] [--alpha=X] [--implicit-reg=X]\n",
               problem.c_str());
  std::exit(2);
}

double number(const std::string& key, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0') usage("--" + key + " needs a number, not '" + value + "'");
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: tandem-recsys-bench [--data=FILE] [--models=gibbs,sgd,implicit] [--queries=N] "
          "[--split-seed=S] [--verbose] [--factors=K] [--iterations=N] [--seed=S] "
          "[--init-std=X] [--burn-in=N] [--noise-precision=X] [--lr=X] [--lr-decay=X] [--reg=X] "
          "[--bias-reg=X] [--alpha=X] [--implicit-reg=X]\n"
          "  --data       ratings CSV (default: $TANDEM_DATA or ~/.cache/tandem/data, "
          "movielens_ratings.csv)\n"
          "  --models     which models to train and time, in order (default all three)\n"
          "  --queries    latency queries per measurement (default 20000; 0: no latency)\n"
          "  --split-seed seed of the random 80/20 split (default 42)\n"
          "  --verbose    print each training iteration's loss\n"
          "  the rest override the training defaults of the models they apply to\n");
      std::exit(0);
    }
    if (arg == "--verbose") {
      a.verbose = true;
      continue;
    }
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) usage("unknown argument " + arg);
    const std::string key = arg.substr(2, eq - 2);
    const std::string value = arg.substr(eq + 1);
    if (key == "data") {
      a.data = value;
    } else if (key == "models") {
      a.models.clear();
      std::size_t begin = 0;
      while (begin <= value.size()) {
        const std::size_t comma = std::min(value.find(',', begin), value.size());
        const std::string m = value.substr(begin, comma - begin);
        if (m != "gibbs" && m != "sgd" && m != "implicit") usage("unknown model '" + m + "'");
        a.models.push_back(m);
        begin = comma + 1;
      }
    } else if (key == "queries") {
      const double q = number(key, value);
      if (q < 0 || q > 1e9) usage("--queries must be 0 to 10^9");
      a.queries = static_cast<std::size_t>(q);
    } else if (key == "split-seed") {
      a.split_seed = static_cast<std::uint64_t>(number(key, value));
    } else if (key == "factors" || key == "iterations" || key == "seed" || key == "lr" ||
               key == "lr-decay" || key == "reg" || key == "bias-reg" || key == "init-std" ||
               key == "alpha" || key == "implicit-reg" || key == "burn-in" ||
               key == "noise-precision") {
      number(key, value);
      a.overrides[key] = value;
    } else {
      usage("unknown option --" + key);
    }
  }
  return a;
}

TrainOptions options_for(const std::string& model, const Args& args) {
  TrainOptions o = model == "gibbs" ? TrainOptions::explicit_defaults()
                   : model == "sgd" ? TrainOptions::sgd_defaults()
                                    : TrainOptions::implicit_defaults();
  const Feedback feedback = o.feedback;
  for (const auto& [key, value] : args.overrides) {
    const double v = std::strtod(value.c_str(), nullptr);
    if (key == "factors") o.factors = static_cast<int>(v);
    if (key == "iterations") o.iterations = static_cast<int>(v);
    if (key == "seed") o.seed = static_cast<std::uint64_t>(v);
    if (key == "init-std") o.init_std = static_cast<float>(v);
    if (model == "gibbs") {
      if (key == "burn-in") o.burn_in = static_cast<int>(v);
      if (key == "noise-precision") o.noise_precision = static_cast<float>(v);
    } else if (feedback == Feedback::kExplicit) {
      if (key == "lr") o.learning_rate = static_cast<float>(v);
      if (key == "lr-decay") o.learning_rate_decay = static_cast<float>(v);
      if (key == "reg") o.regularization = static_cast<float>(v);
      if (key == "bias-reg") o.bias_regularization = static_cast<float>(v);
    } else {
      if (key == "alpha") o.alpha = static_cast<float>(v);
      if (key == "implicit-reg") o.implicit_regularization = static_cast<float>(v);
    }
  }
  return o;
}

std::string describe(const TrainOptions& o) {
  std::string s;
  for (const auto& [k, v] : o.to_params()) s += (s.empty() ? "" : " ") + k + "=" + v;
  return s;
}

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
  double mean = 0;
};

Percentiles percentiles(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  Percentiles p;
  const auto at = [&](double q) {
    return us[std::min(us.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  double sum = 0;
  for (double v : us) sum += v;
  p.mean = sum / static_cast<double>(us.size());
  return p;
}

// Times `query(k)` for k = 0 .. n-1 one by one, in microseconds; `sink` keeps the results alive.
template <typename Query>
Percentiles time_queries(std::size_t n, Query query) {
  std::vector<double> us;
  us.reserve(n);
  std::size_t sink = 0;
  for (std::size_t k = 0; k < std::min<std::size_t>(n, 200); ++k) sink += query(k);  // warm-up
  for (std::size_t k = 0; k < n; ++k) {
    const Clock::time_point start = Clock::now();
    sink += query(k);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  if (sink == 0) std::printf("(no results)\n");
  return percentiles(std::move(us));
}

void print_quality(const char* name, const ProtocolReport& r, const TrainOptions& o) {
  const auto& rs = r.random_split;
  const auto& lo = r.leave_last_out;
  std::printf("\n%s (%s)\n", name, describe(o).c_str());
  std::printf("  training: %.2f s on the 80%% split, %.2f s on the leave-last-out split\n",
              r.train_seconds_random, r.train_seconds_last);
  std::printf("  | model | RMSE | MAE | P@10 | R@10 | NDCG@10 | HR@10 | P@10 | R@10 | NDCG@10 |\n");
  std::printf("  |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::printf("  |   | 80/20 | 80/20 | last | last | last | last | 80/20 | 80/20 | 80/20 |\n");
  const auto row = [](const char* who, const std::optional<RatingErrors>& e,
                      const RankingScores& last, const RankingScores& rnd) {
    char rmse[32] = "n/a";
    char mae[32] = "n/a";
    if (e) {
      std::snprintf(rmse, sizeof rmse, "%.4f", e->rmse);
      std::snprintf(mae, sizeof mae, "%.4f", e->mae);
    }
    std::printf("  | %s | %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n", who, rmse,
                mae, last.precision, last.recall, last.ndcg, last.hit_rate, rnd.precision,
                rnd.recall, rnd.ndcg);
  };
  row(name, rs.model_errors, lo.model_ranking, rs.model_ranking);
  row("popularity", rs.baseline_errors, lo.baseline_ranking, rs.baseline_ranking);
  std::printf(
      "  (80/20: %zu test ratings, %zu with an unknown user, %zu with an unknown item; "
      "leave-last-out: %zu users)\n",
      rs.baseline_errors.count, rs.baseline_errors.unknown_users, rs.baseline_errors.unknown_items,
      lo.model_ranking.users);
}

void print_latency(const char* name, const std::vector<Rating>& ratings, const TrainOptions& o,
                   std::size_t queries) {
  const Clock::time_point start = Clock::now();
  const MfModel model = train(ratings, o);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::string payload = encode_payload(model);
  const std::string path =
      (std::filesystem::temp_directory_path() / "tandem-recsys-bench.tandem").string();
  save_model(path, model, o);
  const auto file_bytes = std::filesystem::file_size(path);
  const Clock::time_point load_start = Clock::now();
  const MfModel loaded = load_model(path);
  const double load_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - load_start).count();
  std::filesystem::remove(path);

  const auto& users = model.parameters().user_ids;
  const auto& items = model.parameters().item_ids;
  const Percentiles top = time_queries(queries, [&](std::size_t k) {
    return loaded.top_n(users[(k * 7919) % users.size()], 10).size();
  });
  const Percentiles sim = time_queries(queries, [&](std::size_t k) {
    return loaded.similar_items(items[(k * 7919) % items.size()], 10).size();
  });
  const Percentiles fallback = time_queries(queries, [&](std::size_t k) {
    return loaded.recommend(1000000 + static_cast<std::uint32_t>(k), 10).items.size();
  });
  const Percentiles expl = time_queries(queries, [&](std::size_t k) {
    const std::uint32_t user = users[(k * 7919) % users.size()];
    return loaded.explain(user, items[(k * 104729) % items.size()], 3).size() + 1;
  });
  std::printf("\n%s trained on all %zu ratings in %.2f s: %zu users, %zu items, %d factors\n", name,
              ratings.size(), seconds, model.num_users(), model.num_items(), model.factors());
  std::printf(
      "  model: payload %zu bytes, artifact file %ju bytes, %zu bytes in memory, loaded "
      "in %.1f ms\n",
      payload.size(), static_cast<std::uintmax_t>(file_bytes), loaded.memory_bytes(), load_ms);
  std::printf("  latency over %zu queries, one thread (microseconds):\n", queries);
  std::printf("  | query | p50 | p99 | mean |\n  |---|---:|---:|---:|\n");
  std::printf("  | top-10 over all %zu items (rated excluded) | %.1f | %.1f | %.1f |\n",
              model.num_items(), top.p50, top.p99, top.mean);
  std::printf("  | 10 similar items | %.1f | %.1f | %.1f |\n", sim.p50, sim.p99, sim.mean);
  std::printf("  | unknown user: popularity fallback | %.2f | %.2f | %.2f |\n", fallback.p50,
              fallback.p99, fallback.mean);
  std::printf("  | explain (3 reasons) | %.1f | %.1f | %.1f |\n", expl.p50, expl.p99, expl.mean);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  std::string path = args.data;
  if (path.empty()) {
    const auto dir = tandem::datasets::data_dir();
    if (dir.empty()) usage("no --data and neither TANDEM_DATA nor HOME is set");
    path = (dir / tandem::datasets::files::kMovieLensRatings).string();
  }
  try {
    const Clock::time_point load_start = Clock::now();
    const std::vector<Rating> ratings = tandem::datasets::load_ratings_csv(path);
    std::printf("%s: %zu ratings, loaded in %.0f ms\n", path.c_str(), ratings.size(),
                std::chrono::duration<double, std::milli>(Clock::now() - load_start).count());
    ProtocolOptions protocol;
    protocol.split_seed = args.split_seed;
    const ProgressCallback progress = [&](const TrainProgress& p) {
      if (args.verbose) {
        std::printf("    iteration %d/%d: loss %.5f (%.2f s)\n", p.iteration, p.iterations, p.loss,
                    p.seconds);
      }
    };
    for (const std::string& model : args.models) {
      const TrainOptions o = options_for(model, args);
      const ProtocolReport report = run_protocol(ratings, o, protocol, progress);
      print_quality(model.c_str(), report, o);
    }
    if (args.queries > 0) {
      for (const std::string& model : args.models) {
        print_latency(model.c_str(), ratings, options_for(model, args), args.queries);
      }
    }
  } catch (const tandem::datasets::DatasetError& e) {
    std::fprintf(stderr,
                 "tandem-recsys-bench: %s\n(run scripts/setup_data.sh to prepare the data)\n",
                 e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem-recsys-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
