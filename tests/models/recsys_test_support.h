#pragma once
// Small synthetic data and hand-made models for the recommender's tests.
#include <cmath>
#include <cstdint>
#include <vector>

#include "tandem/datasets/ratings.h"
#include "tandem/models/recsys/mf_model.h"
#include "tandem/models/recsys/random.h"

namespace tandem::models::recsys::testing {

using datasets::Rating;

// Ratings from a known model: rating = 3 + b_u + b_i + p_u . q_i + noise, with `factors`-long
// vectors of N(0, 0.6^2) entries, biases N(0, 0.4^2), noise N(0, noise^2), each (user, item)
// observed with probability `density`. Users are 1..users, items 101..100+items.
inline std::vector<Rating> low_rank_ratings(int users, int items, int factors, double density,
                                            double noise, std::uint64_t seed) {
  detail::Random random(seed);
  std::vector<std::vector<double>> p(users, std::vector<double>(factors));
  std::vector<std::vector<double>> q(items, std::vector<double>(factors));
  std::vector<double> bu(users);
  std::vector<double> bi(items);
  for (auto& v : p) {
    for (double& x : v) x = 0.6 * random.normal();
  }
  for (auto& v : q) {
    for (double& x : v) x = 0.6 * random.normal();
  }
  for (double& b : bu) b = 0.4 * random.normal();
  for (double& b : bi) b = 0.4 * random.normal();
  std::vector<Rating> out;
  for (int u = 0; u < users; ++u) {
    for (int i = 0; i < items; ++i) {
      if (random.uniform() >= density) continue;
      double r = 3.0 + bu[u] + bi[i] + noise * random.normal();
      for (int f = 0; f < factors; ++f) r += p[u][f] * q[i][f];
      out.push_back({static_cast<std::uint32_t>(u + 1), static_cast<std::uint32_t>(101 + i),
                     static_cast<float>(r), 1000 + static_cast<std::int64_t>(out.size())});
    }
  }
  return out;
}

// Implicit data with `groups` taste groups: user u belongs to group u % groups and interacts with
// items of its own group (item i belongs to group i % groups) with probability `in_group`, with
// others with probability `out_group`. Value 1 for every interaction, at a random time. Users
// 1..users, items 1..items.
inline std::vector<Rating> grouped_interactions(int users, int items, int groups, double in_group,
                                                double out_group, std::uint64_t seed) {
  detail::Random random(seed);
  std::vector<Rating> out;
  for (int u = 0; u < users; ++u) {
    for (int i = 0; i < items; ++i) {
      const double chance = (u % groups == i % groups) ? in_group : out_group;
      if (random.uniform() < chance) {
        out.push_back({static_cast<std::uint32_t>(u + 1), static_cast<std::uint32_t>(i + 1), 1.0f,
                       static_cast<std::int64_t>(random.below(1000000))});
      }
    }
  }
  return out;
}

// A hand-made explicit model: 3 users (ids 10, 20, 30), 5 items (ids 1, 2, 3, 5, 8), 2 factors.
//   item factors: 1 (1, 0), 2 (0.9, 0.1), 3 (0, 1), 5 (-1, 0), 8 (0.5, 0.5)
//   user 10 (1, 0): rated items 1 (5.0) and 3 (2.0)
//   user 20 (0, 1): rated item 2 (4.0)
//   user 30 (1, 1): rated nothing
// Biases zero except item 8 (+0.25); global mean 3; ratings clamped to [0.5, 5].
inline MfParameters tiny_parameters() {
  MfParameters p;
  p.feedback = Feedback::kExplicit;
  p.global_mean = 3.0f;
  p.min_rating = 0.5f;
  p.max_rating = 5.0f;
  p.user_ids = {10, 20, 30};
  p.item_ids = {1, 2, 3, 5, 8};
  p.user_factors.resize(2, 3);
  p.user_factors << 1, 0, 1,  //
      0, 1, 1;
  p.item_factors.resize(2, 5);
  p.item_factors << 1, 0.9f, 0, -1, 0.5f,  //
      0, 0.1f, 1, 0, 0.5f;
  p.user_bias = Eigen::VectorXf::Zero(3);
  p.item_bias = Eigen::VectorXf::Zero(5);
  p.item_bias[4] = 0.25f;
  p.user_offsets = {0, 2, 3, 3};
  p.rated_items = {0, 2, 1};  // dense indices: items 1, 3 | item 2
  p.rated_values = {5.0f, 2.0f, 4.0f};
  return p;
}

}  // namespace tandem::models::recsys::testing
