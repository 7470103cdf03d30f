#pragma once
// Temperature scaling (Guo et al., 2017): one scalar T divides a classifier's logits before the
// softmax, fitted on a held-out split to minimise the negative log-likelihood, so that a
// confidence of 0.9 is right about 90% of the time. It never changes which label wins.
//
// Logits are row-major, one row of `classes` values per example. A model that gives
// probabilities instead (fastText) passes their logarithms: softmax(log p / T) is p sharpened
// (T < 1) or flattened (T > 1).
#include <cstddef>
#include <cstdint>
#include <span>

namespace tandem::models {

// The temperature in [0.05, 20] minimising the mean NLL of `labels` under softmax(logits / T)
// (golden-section search on log T; the NLL is convex in 1/T). Throws std::invalid_argument on
// mismatched sizes, no examples, a label out of range or a non-finite logit.
double fit_temperature(std::span<const float> logits, std::size_t classes,
                       std::span<const std::uint32_t> labels);

// Mean negative log-likelihood of `labels` under softmax(logits / temperature).
double mean_nll(std::span<const float> logits, std::size_t classes,
                std::span<const std::uint32_t> labels, double temperature);

// out = softmax(logits / temperature) for one example (out.size() == logits.size()). Stable for
// large logits; -infinity logits (log of a zero probability) get probability 0.
void softmax(std::span<const float> logits, double temperature, std::span<float> out);

}  // namespace tandem::models
