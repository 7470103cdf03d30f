#pragma once
// A small seeded random number generator whose integers and shuffles do not depend on the
// standard library (std::uniform_int_distribution, std::normal_distribution and std::shuffle
// differ between libstdc++ and libc++), so that a seed names one split and one model wherever the
// code is built. SplitMix64 (Steele, Lea, Flood 2014).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace tandem::models::recsys::detail {

class Random {
 public:
  explicit Random(std::uint64_t seed) noexcept : state_(seed) {}

  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1), 53 bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Uniform in [0, bound), without modulo bias: values below 2^64 mod bound are drawn again.
  std::uint64_t below(std::uint64_t bound) noexcept {
    if (bound <= 1) return 0;
    const std::uint64_t threshold = (0 - bound) % bound;
    std::uint64_t r = next();
    while (r < threshold) r = next();
    return r % bound;
  }

  // Standard normal (Box-Muller; one value per call, the second is dropped for simplicity).
  double normal() noexcept {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // Gamma(shape, 1) for shape >= 1 (Marsaglia and Tsang 2000); shape < 1 is raised to 1.
  double gamma(double shape) noexcept {
    const double d = (shape < 1.0 ? 1.0 : shape) - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = 0;
      double v = 0;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = uniform();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
      if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
    }
  }

  // Fisher-Yates.
  template <typename T>
  void shuffle(T* data, std::size_t size) noexcept {
    for (std::size_t i = size; i > 1; --i) {
      std::swap(data[i - 1], data[below(i)]);
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace tandem::models::recsys::detail
