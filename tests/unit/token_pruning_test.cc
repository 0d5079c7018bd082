// Token pruning: selection by hand-checkable cases, validation messages, and
// a pruned transformer layer against a naive reference (full layer, importance
// from naive attention probabilities, kept rows picked afterwards).
#include "engine/policy/token_pruning.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "engine/attention/registry.h"
#include "engine/model/transformer_layer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SelectKeptTokensTest, KeepRatioKeepsTheMostAttendedAndTheFirstToken) {
  PruningOptions o;
  o.keep_ratio = {0.6};  // ceil(0.6 * 5) = 3 tokens
  const std::vector<double> share = {0.05, 0.4, 0.1, 0.3, 0.15};
  EXPECT_THAT(SelectKeptTokens(o, 0, share), ElementsAre(0, 1, 3));
  o.keep_first = 0;
  EXPECT_THAT(SelectKeptTokens(o, 0, share), ElementsAre(1, 3, 4));
  // Layers past the list keep everything.
  EXPECT_THAT(SelectKeptTokens(o, 1, share), ElementsAre(0, 1, 2, 3, 4));
}

TEST(SelectKeptTokensTest, ThresholdIsRelativeToTheUniformShare) {
  PruningOptions o;
  o.keep_first = 0;
  o.importance_threshold = {1.0};  // share >= 1/5
  const std::vector<double> share = {0.05, 0.4, 0.1, 0.3, 0.15};
  EXPECT_THAT(SelectKeptTokens(o, 0, share), ElementsAre(1, 3));
  o.min_tokens = 3;
  EXPECT_THAT(SelectKeptTokens(o, 0, share), ElementsAre(1, 3, 4));
  o.min_tokens = 1;
  o.importance_threshold = {50.0};  // nobody qualifies: min_tokens keeps one
  EXPECT_THAT(SelectKeptTokens(o, 0, share), ElementsAre(1));
}

TEST(SelectKeptRowsTest, EachSequenceIsPrunedOnItsOwnAndOffsetsFollow) {
  PruningOptions o;
  o.keep_ratio = {0.5};
  o.keep_first = 0;
  // Two sequences of 4 and 2 tokens; mass favours rows 2, 3 and 5.
  const std::vector<float> mass = {0.1f, 0.2f, 0.9f, 0.8f, 0.1f, 0.7f};
  const std::vector<float> hidden(6 * 2, 1.0f);
  std::vector<int64_t> keep, offsets;
  SelectKeptRows(o, 0, mass.data(), hidden.data(), 2, {0, 4, 6}, &keep, &offsets);
  EXPECT_THAT(keep, ElementsAre(2, 3, 5));
  EXPECT_THAT(offsets, ElementsAre(0, 2, 3));
}

TEST(SelectKeptRowsTest, FallbacksWithoutKeyMass) {
  PruningOptions o;
  o.keep_ratio = {0.5};
  o.keep_first = 0;
  // Row norms 1, 3, 2, 0.5: the hidden-norm fallback keeps rows 1 and 2.
  const std::vector<float> hidden = {1, 0, 3, 0, 0, 2, 0.5f, 0};
  std::vector<int64_t> keep, offsets;
  SelectKeptRows(o, 0, nullptr, hidden.data(), 2, {0, 4}, &keep, &offsets);
  EXPECT_THAT(keep, ElementsAre(1, 2));
  o.fallback = PruningOptions::Fallback::kKeepAll;
  SelectKeptRows(o, 0, nullptr, hidden.data(), 2, {0, 4}, &keep, &offsets);
  EXPECT_THAT(keep, ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(offsets, ElementsAre(0, 4));
}

TEST(ValidatePruningTest, ErrorsNameTheField) {
  const auto message = [](PruningOptions o) {
    absl::Status s = ValidatePruning(o, 2);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    return std::string(s.message());
  };
  PruningOptions o;
  EXPECT_TRUE(ValidatePruning(o, 2).ok());
  o.keep_ratio = {1.0, 0.0};
  EXPECT_THAT(message(o), HasSubstr("pruning.keep_ratio[1]"));
  o.keep_ratio = {1.5};
  EXPECT_THAT(message(o), HasSubstr("pruning.keep_ratio[0]"));
  o.keep_ratio = {std::nan("")};
  EXPECT_THAT(message(o), HasSubstr("pruning.keep_ratio[0]"));
  o.keep_ratio = {0.5, 0.5, 0.5};
  EXPECT_THAT(message(o), HasSubstr("pruning.keep_ratio: 3 entries"));
  o.keep_ratio = {};
  o.importance_threshold = {-1};
  EXPECT_THAT(message(o), HasSubstr("pruning.importance_threshold[0]"));
  o.importance_threshold = {};
  o.min_tokens = 0;
  EXPECT_THAT(message(o), HasSubstr("pruning.min_tokens"));
  o.min_tokens = 1;
  o.keep_first = -1;
  EXPECT_THAT(message(o), HasSubstr("pruning.keep_first"));
}

// A small random pre-norm layer (d = 8, 2 heads, FFN 16).
struct SmallLayer {
  std::vector<float> gain, bias, qkv, qkv_b, out, out_b, g2, b2, up, up_b, down, down_b;
  PreNormLayerWeights w;
  explicit SmallLayer(int seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 0.5f);
    const auto fill = [&](std::vector<float>& v, size_t n) {
      v.resize(n);
      for (float& x : v) x = nd(rng);
    };
    const int d = 8, f = 16;
    fill(gain, d), fill(bias, d), fill(qkv, d * 3 * d), fill(qkv_b, 3 * d), fill(out, d * d);
    fill(out_b, d), fill(g2, d), fill(b2, d), fill(up, d * f), fill(up_b, f);
    fill(down, f * d), fill(down_b, d);
    w.d_in = w.d_out = d;
    w.num_heads = 2;
    w.head_dim = 4;
    w.d_ffn = f;
    w.q_scale = 0.5f;
    w.attn_norm_gain = gain.data(), w.attn_norm_bias = bias.data();
    using Layout = PackedLinear::Layout;
    w.qkv = PackedLinear(qkv.data(), qkv_b.data(), d, 3 * d, Layout::kInputMajor);
    w.out = PackedLinear(out.data(), out_b.data(), d, d, Layout::kInputMajor);
    w.ffn_norm_gain = g2.data(), w.ffn_norm_bias = b2.data();
    w.ffn_up = PackedLinear(up.data(), up_b.data(), d, f, Layout::kInputMajor);
    w.ffn_down = PackedLinear(down.data(), down_b.data(), f, d, Layout::kInputMajor);
  }

  // Naive attention each key receives (summed over queries and heads), in
  // double precision, for one sequence of rows [begin, end) of x.
  std::vector<double> KeyMass(const std::vector<float>& x, int64_t begin, int64_t end) const {
    const int d = w.d_in;
    const int64_t n = end - begin;
    std::vector<double> qkv_rows(n * 3 * d);
    for (int64_t r = 0; r < n; ++r) {
      const float* row = x.data() + (begin + r) * d;
      double mean = 0, var = 0;
      for (int i = 0; i < d; ++i) mean += row[i];
      mean /= d;
      for (int i = 0; i < d; ++i) var += (row[i] - mean) * (row[i] - mean);
      var /= d;
      std::vector<double> normed(d);
      for (int i = 0; i < d; ++i) {
        normed[i] = (row[i] - mean) / std::sqrt(var + w.norm_eps) * gain[i] + bias[i];
      }
      for (int o = 0; o < 3 * d; ++o) {
        double s = qkv_b[o];
        for (int i = 0; i < d; ++i) s += normed[i] * qkv[i * 3 * d + o];
        qkv_rows[r * 3 * d + o] = s;
      }
    }
    std::vector<double> mass(n, 0.0);
    for (int h = 0; h < w.num_heads; ++h) {
      for (int64_t i = 0; i < n; ++i) {
        std::vector<double> score(n);
        double top = -1e300, total = 0;
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int c = 0; c < w.head_dim; ++c) {
            s += qkv_rows[i * 3 * d + h * w.head_dim + c] *
                 qkv_rows[j * 3 * d + d + h * w.head_dim + c];
          }
          score[j] = s * w.q_scale;
          top = std::max(top, score[j]);
        }
        for (double& s : score) total += (s = std::exp(s - top));
        for (int64_t j = 0; j < n; ++j) mass[j] += score[j] / total;
      }
    }
    return mass;
  }
};

TEST(PrunedLayerTest, KeptRowsMatchTheFullLayerAndNaiveImportance) {
  SmallLayer layer(7);
  const std::vector<int64_t> offsets = {0, 9, 14};  // ragged: 9 and 5 tokens
  std::vector<float> x(14 * 8);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& v : x) v = nd(rng);
  auto dense = ResolveAttention("dense", {});
  ASSERT_TRUE(dense.ok());
  ExecutionPlan plan;
  plan.attention = *dense;

  std::vector<float> full(14 * 8);
  LayerScratch scratch;
  RunStats full_stats;
  ASSERT_TRUE(
      RunPreNormLayer(layer.w, x.data(), offsets, plan, &scratch, full.data(), &full_stats).ok());

  PruningOptions o;
  o.keep_ratio = {0.5};  // 5 of 9, 3 of 5
  SublayerPruner pruner;
  pruner.want_key_mass = true;
  pruner.select = [&](const float* mass, const float* hidden, int width,
                      const std::vector<int64_t>& offs, std::vector<int64_t>* keep,
                      std::vector<int64_t>* new_offs) {
    SelectKeptRows(o, 0, mass, hidden, width, offs, keep, new_offs);
    return absl::OkStatus();
  };
  std::vector<int64_t> pruned_offsets = offsets;
  std::vector<float> pruned(14 * 8);
  RunStats stats;
  ASSERT_TRUE(RunPreNormLayerPruned(layer.w, x.data(), &pruned_offsets, plan, &pruner, &scratch,
                                    pruned.data(), &stats)
                  .ok());
  ASSERT_THAT(pruned_offsets, ElementsAre(0, 5, 8));
  EXPECT_LT(stats.flops, full_stats.flops);

  // Reference: naive key mass, the same selection rule, rows of the full layer.
  std::vector<int64_t> expected_rows;
  for (size_t b = 0; b + 1 < offsets.size(); ++b) {
    const std::vector<double> mass = layer.KeyMass(x, offsets[b], offsets[b + 1]);
    const double total = std::accumulate(mass.begin(), mass.end(), 0.0);
    std::vector<double> share;
    for (double m : mass) share.push_back(m / total);
    for (int64_t j : SelectKeptTokens(o, 0, share)) expected_rows.push_back(offsets[b] + j);
  }
  ASSERT_EQ(expected_rows.size(), 8u);
  for (size_t i = 0; i < expected_rows.size(); ++i) {
    for (int c = 0; c < 8; ++c) {
      EXPECT_NEAR(pruned[i * 8 + c], full[expected_rows[i] * 8 + c], 1e-5)
          << "kept row " << i << " (row " << expected_rows[i] << "), column " << c;
    }
  }
}

}  // namespace
}  // namespace attnserve
