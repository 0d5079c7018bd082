// The pattern kernels (sliding_window, strided, block_sparse, longformer,
// bigbird, segment_memory) against the naive reference restricted to the same
// allowed(i, j) pattern, written here independently of the kernels, over many
// shapes with fused-QKV strides and padding; plus full budgets equal dense.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/attention/reference/naive_attention.h"
#include "engine/attention/registry.h"
#include "engine/attention/sparse_pattern.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

using Allowed = std::function<bool(int64_t, int64_t)>;

enum class Padding { kNone, kEveryThird, kTail };

struct Shape {
  int64_t n;
  int heads;
  int head_dim;
  Padding padding;
};

// Random fused [n, 3 * width] QKV rows, as the encoder lays them out, and the
// same Q, K, V unfused for the reference.
struct Problem {
  int64_t n = 0;
  int heads = 0, head_dim = 0;
  std::vector<float> qkv, q, k, v;
  std::vector<uint8_t> valid;
  bool padded = false;

  explicit Problem(const Shape& s) : n(s.n), heads(s.heads), head_dim(s.head_dim) {
    const int64_t width = int64_t{heads} * head_dim;
    std::mt19937 rng(static_cast<uint32_t>(n * 131 + width));
    std::normal_distribution<float> dist(0.0f, 1.0f);
    qkv.resize(n * 3 * width);
    for (float& x : qkv) x = dist(rng);
    q.resize(n * width);
    k.resize(n * width);
    v.resize(n * width);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t c = 0; c < width; ++c) {
        q[i * width + c] = qkv[i * 3 * width + c];
        k[i * width + c] = qkv[i * 3 * width + width + c];
        v[i * width + c] = qkv[i * 3 * width + 2 * width + c];
      }
    }
    valid.assign(n, 1);
    if (s.padding == Padding::kEveryThird) {
      for (int64_t j = 1; j < n; j += 3) valid[j] = 0;
    } else if (s.padding == Padding::kTail) {
      for (int64_t j = std::max<int64_t>(1, n - n * 3 / 10); j < n; ++j) valid[j] = 0;
    }
    padded = s.padding != Padding::kNone;
  }

  float scale() const { return 1.0f / std::sqrt(static_cast<float>(head_dim)); }

  // Runs `kernel` with `params`; returns the output, fills stats and mass.
  std::vector<float> Run(const std::string& kernel,
                         const std::map<std::string, std::string>& params, AttentionStats* stats,
                         std::vector<float>* mass) const {
    absl::StatusOr<ResolvedAttention> resolved = ResolveAttention(kernel, params);
    EXPECT_TRUE(resolved.ok()) << resolved.status();
    if (!resolved.ok()) return {};
    const int64_t width = int64_t{heads} * head_dim;
    AttentionInputs in;
    in.n_q = in.n_kv = n;
    in.num_heads = heads;
    in.head_dim = head_dim;
    in.scale = scale();
    in.q = qkv.data();
    in.k = qkv.data() + width;
    in.v = qkv.data() + 2 * width;
    in.q_stride = in.k_stride = in.v_stride = 3 * width;
    std::vector<float> out(n * width, NAN);
    in.out = out.data();
    in.out_stride = width;
    in.key_valid = padded ? valid.data() : nullptr;
    if (mass != nullptr) {
      mass->assign(n, 0.0f);
      in.key_mass = mass->data();
    }
    const absl::Status status = resolved->kernel->Run(in, resolved->params, stats);
    EXPECT_TRUE(status.ok()) << status;
    return out;
  }
};

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double diff = std::abs(double{a[i]} - b[i]);
    if (!(diff <= worst)) worst = diff;  // NaN sticks
  }
  return worst;
}

bool Contains(const std::vector<int64_t>& xs, int64_t x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

// Random key blocks per query block: the documented draw of block_sparse and
// bigbird (its own properties are tested below).
Allowed RandomBlockPattern(int64_t n, int64_t block, int64_t count, uint64_t seed) {
  const int64_t blocks = (n + block - 1) / block;
  auto table = std::make_shared<std::vector<std::vector<int64_t>>>();
  for (int64_t b = 0; b < blocks; ++b)
    table->push_back(sparse::RandomBlocks(seed, b, blocks, count));
  return [table, block](int64_t i, int64_t j) { return Contains((*table)[i / block], j / block); };
}

// A kernel, its parameters, and the pattern they mean for a given n.
struct PatternCase {
  std::string label;
  std::string kernel;
  std::map<std::string, std::string> params;
  std::function<Allowed(int64_t n)> pattern;
};

std::vector<PatternCase> Cases() {
  std::vector<PatternCase> cases;
  for (int64_t w : {0, 5, 32}) {
    cases.push_back({absl::StrCat("sliding_window_w", w),
                     "sliding_window",
                     {{"window", std::to_string(w)}},
                     [w](int64_t) -> Allowed {
                       return [w](int64_t i, int64_t j) { return std::abs(i - j) <= w; };
                     }});
  }
  cases.push_back(
      {"strided_w3_s7", "strided", {{"window", "3"}, {"stride", "7"}}, [](int64_t) -> Allowed {
         return [](int64_t i, int64_t j) { return std::abs(i - j) <= 3 || j % 7 == 0; };
       }});
  cases.push_back(
      {"strided_w20_s50", "strided", {{"window", "20"}, {"stride", "50"}}, [](int64_t) -> Allowed {
         return [](int64_t i, int64_t j) { return std::abs(i - j) <= 20 || j % 50 == 0; };
       }});
  for (auto [b, r] : {std::pair<int64_t, int64_t>{16, 0}, {7, 2}, {64, 3}}) {
    cases.push_back(
        {absl::StrCat("block_sparse_b", b, "_r", r),
         "block_sparse",
         {{"block", std::to_string(b)}, {"random_blocks", std::to_string(r)}, {"seed", "5"}},
         [b, r](int64_t n) -> Allowed {
           Allowed random = RandomBlockPattern(n, b, r, 5);
           return [b, random](int64_t i, int64_t j) { return i / b == j / b || random(i, j); };
         }});
  }
  for (auto [w, g] : {std::pair<int64_t, int64_t>{4, 3}, {40, 70}}) {
    cases.push_back({absl::StrCat("longformer_w", w, "_g", g),
                     "longformer",
                     {{"window", std::to_string(w)}, {"global", std::to_string(g)}},
                     [w, g](int64_t) -> Allowed {
                       return [w, g](int64_t i, int64_t j) {
                         return std::abs(i - j) <= w || i < g || j < g;
                       };
                     }});
  }
  cases.push_back(
      {"bigbird_w6_g2_b10_r2",
       "bigbird",
       {{"window", "6"}, {"global", "2"}, {"block", "10"}, {"random_blocks", "2"}, {"seed", "9"}},
       [](int64_t n) -> Allowed {
         Allowed random = RandomBlockPattern(n, 10, 2, 9);
         return [random](int64_t i, int64_t j) {
           return std::abs(i - j) <= 6 || i < 2 || j < 2 || random(i, j);
         };
       }});
  cases.push_back({"bigbird_defaults", "bigbird", {}, [](int64_t n) -> Allowed {
                     Allowed random = RandomBlockPattern(n, 64, 2, 0);
                     return [random](int64_t i, int64_t j) {
                       return std::abs(i - j) <= 64 || i < 8 || j < 8 || random(i, j);
                     };
                   }});
  for (int64_t s : {1, 9, 100}) {
    cases.push_back({absl::StrCat("segment_memory_s", s),
                     "segment_memory",
                     {{"segment", std::to_string(s)}},
                     [s](int64_t) -> Allowed {
                       return [s](int64_t i, int64_t j) {
                         return j / s == i / s || j / s == i / s - 1;
                       };
                     }});
  }
  return cases;
}

// One case per kernel for the longer shapes: the reference is O(n^2 d).
std::vector<PatternCase> LongCases() {
  const std::vector<std::string> labels = {"sliding_window_w32", "strided_w20_s50",
                                           "block_sparse_b7_r2", "longformer_w40_g70",
                                           "bigbird_defaults",   "segment_memory_s9"};
  std::vector<PatternCase> cases;
  for (const PatternCase& c : Cases()) {
    if (std::find(labels.begin(), labels.end(), c.label) != labels.end()) cases.push_back(c);
  }
  return cases;
}

class PatternKernelTest : public ::testing::TestWithParam<std::tuple<PatternCase, Shape>> {};

TEST_P(PatternKernelTest, MatchesMaskedReference) {
  const auto& [pc, shape] = GetParam();
  const Problem p(shape);
  const Allowed allowed = pc.pattern(p.n);
  AttentionStats stats;
  std::vector<float> mass;
  const std::vector<float> out = p.Run(pc.kernel, pc.params, &stats, &mass);
  const std::vector<float> expected =
      reference::NaiveAttention(p.q, p.k, p.v, p.n, p.n, p.heads, p.head_dim, p.scale(),
                                p.padded ? &p.valid : nullptr, allowed);
  EXPECT_LT(MaxAbsDiff(out, expected), 1e-5);

  // Stats: every kept pair was scored, nothing beyond the real pairs was, and
  // each query row with a kept real key spreads mass 1 over kept keys only.
  int64_t real = 0, kept = 0, live_rows = 0;
  for (int64_t j = 0; j < p.n; ++j) real += p.valid[j];
  std::vector<double> expected_mass_support(p.n, 0.0);
  for (int64_t i = 0; i < p.n; ++i) {
    int64_t row = 0;
    for (int64_t j = 0; j < p.n; ++j) row += p.valid[j] && allowed(i, j);
    kept += row;
    live_rows += row > 0;
  }
  EXPECT_EQ(stats.pairs_total, p.n * real * p.heads);
  EXPECT_GE(stats.pairs_scored, kept * p.heads);
  EXPECT_LE(stats.pairs_scored, stats.pairs_total);
  double total = 0;
  for (int64_t j = 0; j < p.n; ++j) {
    total += mass[j];
    if (!p.valid[j]) {
      EXPECT_EQ(mass[j], 0.0f) << j;
    }
  }
  EXPECT_NEAR(total, double(live_rows) * p.heads, 1e-3 * std::max<int64_t>(live_rows, 1) * p.heads);
}

std::string ShapeName(const Shape& s) {
  const char* pad[] = {"", "_pad3", "_padtail"};
  return absl::StrCat("n", s.n, "_h", s.heads, "_d", s.head_dim, pad[static_cast<int>(s.padding)]);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PatternKernelTest,
    ::testing::Combine(
        ::testing::ValuesIn(Cases()),
        ::testing::Values(Shape{1, 1, 8, Padding::kNone}, Shape{2, 2, 4, Padding::kNone},
                          Shape{7, 3, 16, Padding::kEveryThird}, Shape{63, 4, 64, Padding::kNone},
                          Shape{64, 2, 32, Padding::kTail}, Shape{65, 4, 64, Padding::kEveryThird},
                          Shape{130, 2, 16, Padding::kTail})),
    [](const auto& info) {
      return absl::StrCat(std::get<0>(info.param).label, "_", ShapeName(std::get<1>(info.param)));
    });

INSTANTIATE_TEST_SUITE_P(
    LongShapes, PatternKernelTest,
    ::testing::Combine(::testing::ValuesIn(LongCases()),
                       ::testing::Values(Shape{500, 2, 24, Padding::kTail},
                                         Shape{1100, 1, 32, Padding::kEveryThird})),
    [](const auto& info) {
      return absl::StrCat(std::get<0>(info.param).label, "_", ShapeName(std::get<1>(info.param)));
    });

// One sequence of several thousand tokens, kept cheap: one head, d = 8.
TEST(PatternKernelLongTest, SlidingWindowAndBigBirdAtSeveralThousand) {
  const Problem p(Shape{3001, 1, 8, Padding::kTail});
  for (const char* kernel : {"sliding_window", "bigbird"}) {
    const std::map<std::string, std::string> params = {{"window", "40"}};
    const std::vector<float> out = p.Run(kernel, params, nullptr, nullptr);
    Allowed allowed = [](int64_t i, int64_t j) { return std::abs(i - j) <= 40; };
    if (std::string(kernel) == "bigbird") {
      Allowed random = RandomBlockPattern(p.n, 64, 2, 0);
      allowed = [random](int64_t i, int64_t j) {
        return std::abs(i - j) <= 40 || i < 8 || j < 8 || random(i, j);
      };
    }
    const auto expected = reference::NaiveAttention(p.q, p.k, p.v, p.n, p.n, p.heads, p.head_dim,
                                                    p.scale(), &p.valid, allowed);
    EXPECT_LT(MaxAbsDiff(out, expected), 1e-5) << kernel;
  }
}

// A budget that covers every pair gives the dense result.
TEST(PatternKernelFullBudgetTest, EqualsDense) {
  const std::vector<std::pair<std::string, std::map<std::string, std::string>>> full = {
      {"sliding_window", {{"window", "300"}}},
      {"strided", {{"window", "0"}, {"stride", "1"}}},
      {"strided", {{"window", "1000"}, {"stride", "64"}}},
      {"block_sparse", {{"block", "16"}, {"random_blocks", "100"}}},
      {"block_sparse", {{"block", "4096"}}},
      {"longformer", {{"window", "0"}, {"global", "300"}}},
      {"bigbird", {{"window", "40"}, {"global", "0"}, {"block", "32"}, {"random_blocks", "10"}}},
      {"segment_memory", {{"segment", "300"}}},
  };
  for (Padding padding : {Padding::kNone, Padding::kEveryThird}) {
    const Problem p(Shape{257, 4, 64, padding});
    const std::vector<float> dense = p.Run("dense", {}, nullptr, nullptr);
    for (const auto& [kernel, params] : full) {
      AttentionStats stats;
      EXPECT_LT(MaxAbsDiff(p.Run(kernel, params, &stats, nullptr), dense), 1e-5) << kernel;
      EXPECT_EQ(stats.pairs_scored, stats.pairs_total) << kernel;
    }
  }
}

TEST(PatternKernelCostTest, DefaultsScoreAFewPercentAtLongInputs) {
  const Problem p(Shape{4096, 1, 8, Padding::kNone});
  for (const char* kernel :
       {"sliding_window", "strided", "block_sparse", "longformer", "bigbird", "segment_memory"}) {
    AttentionStats stats;
    p.Run(kernel, {}, &stats, nullptr);
    EXPECT_LT(stats.pairs_scored, stats.pairs_total / 8) << kernel;
  }
}

TEST(RandomBlocksTest, DistinctSortedOffDiagonalAndSeeded) {
  for (int64_t blocks : {1, 2, 5, 40}) {
    for (int64_t qb = 0; qb < blocks; ++qb) {
      for (int64_t count : {0, 1, 3, 100}) {
        const std::vector<int64_t> got = sparse::RandomBlocks(7, qb, blocks, count);
        EXPECT_EQ(static_cast<int64_t>(got.size()), std::min(count, blocks - 1));
        EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
        EXPECT_EQ(std::adjacent_find(got.begin(), got.end()), got.end());
        EXPECT_FALSE(Contains(got, qb));
        for (int64_t b : got) EXPECT_TRUE(b >= 0 && b < blocks);
        EXPECT_EQ(got, sparse::RandomBlocks(7, qb, blocks, count));
      }
    }
  }
  // Another seed draws other blocks (with 39 candidates, 3 equal draws for
  // every query block would be a broken generator).
  int differing = 0;
  for (int64_t qb = 0; qb < 40; ++qb) {
    differing += sparse::RandomBlocks(7, qb, 40, 3) != sparse::RandomBlocks(8, qb, 40, 3);
  }
  EXPECT_GT(differing, 30);
}

TEST(PatternKernelParamsTest, OutOfRangeIsInvalidArgument) {
  EXPECT_FALSE(ResolveAttention("sliding_window", {{"window", "-1"}}).ok());
  EXPECT_FALSE(ResolveAttention("strided", {{"stride", "0"}}).ok());
  EXPECT_FALSE(ResolveAttention("block_sparse", {{"block", "0"}}).ok());
  EXPECT_FALSE(ResolveAttention("segment_memory", {{"segment", "1.5"}}).ok());
  EXPECT_FALSE(ResolveAttention("bigbird", {{"k", "3"}}).ok());
}

}  // namespace
}  // namespace attnserve
