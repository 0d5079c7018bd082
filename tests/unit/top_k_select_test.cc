// TopKIndices against a naive twin: a stable sort of the indices by score,
// descending, whose first k are taken and returned ascending (ties go to the
// lower index, as TopKIndices promises).
#include "engine/attention/top_k_select.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve {
namespace {

std::vector<int64_t> NaiveTopK(const std::vector<float>& scores, int64_t k) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&scores](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  order.resize(static_cast<size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

void ExpectMatchesNaive(const std::vector<float>& scores, int64_t k) {
  TopKScratch scratch;
  std::vector<int64_t> got;
  TopKIndices(scores.data(), static_cast<int64_t>(scores.size()), k, &scratch, &got);
  EXPECT_EQ(got, NaiveTopK(scores, k)) << "n=" << scores.size() << " k=" << k;
}

TEST(TopKSelectTest, RandomScoresEveryK) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int64_t n : {1, 2, 3, 17, 64, 512, 2049}) {
    std::vector<float> scores(static_cast<size_t>(n));
    for (float& s : scores) s = normal(rng);
    for (int64_t k : {int64_t{1}, n / 8 + 1, n / 2 + 1, n}) ExpectMatchesNaive(scores, k);
  }
}

TEST(TopKSelectTest, TiesZerosSignsAndInfinities) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> scores = {0.0f, -0.0f, 1.0f, 1.0f, -1.0f,  inf,     -inf, 1.0f,
                                     2.5f, -2.5f, 1.0f, 0.0f, 1e-30f, -1e-30f, 3.0f, 1.0f};
  for (int64_t k = 1; k <= static_cast<int64_t>(scores.size()); ++k) ExpectMatchesNaive(scores, k);
}

TEST(TopKSelectTest, AllEqualKeepsTheFirstK) {
  const std::vector<float> scores(300, 0.25f);
  TopKScratch scratch;
  std::vector<int64_t> got;
  TopKIndices(scores.data(), 300, 37, &scratch, &got);
  std::vector<int64_t> first(37);
  std::iota(first.begin(), first.end(), 0);
  EXPECT_EQ(got, first);
}

// Values that share their top 24 bits: the select must reach the last digit.
TEST(TopKSelectTest, NearlyEqualValuesResolveInTheLowBits) {
  std::vector<float> scores;
  for (int i = 0; i < 200; ++i) scores.push_back(std::nextafter(1.0f, 2.0f) + i * 1.2e-7f);
  std::shuffle(scores.begin(), scores.end(), std::mt19937(3));
  for (int64_t k : {1, 5, 100, 199, 200}) ExpectMatchesNaive(scores, k);
}

}  // namespace
}  // namespace attnserve
