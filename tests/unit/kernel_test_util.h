// Inputs and error measures shared by the kernel tests against naive twins.
#ifndef ATTNSERVE_TESTS_UNIT_KERNEL_TEST_UTIL_H_
#define ATTNSERVE_TESTS_UNIT_KERNEL_TEST_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve::kernel_test {

// n draws of N(0, scale^2), reproducible from `seed`.
inline std::vector<float> RandomVector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Largest |a - b| relative to max(1, |b|).
inline double MaxRelError(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double{a[i]} - b[i]) / std::max(1.0, std::abs(double{b[i]})));
  }
  return worst;
}

}  // namespace attnserve::kernel_test

#endif  // ATTNSERVE_TESTS_UNIT_KERNEL_TEST_UTIL_H_
