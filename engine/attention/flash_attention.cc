#include "engine/attention/flash_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/attention/softmax_rows.h"
#include "engine/kernels/gemm.h"
#include "engine/util/status_macros.h"

namespace attnserve {
namespace {

// Query rows per tile: large enough for an efficient GEMM, small enough that
// the tile's scores, accumulator and K/V block stay in L2.
constexpr int64_t kQueryTile = 128;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Tile {
  const AttentionInputs* in;
  int64_t key_block;
  int head;
  int64_t q0, rows;
};

// Scores of one tile against keys [k0, k0 + nk): S = scale * Q Kᵀ, padded
// keys set to -inf.
void TileScores(const Tile& t, int64_t k0, int64_t nk, float* s) {
  const AttentionInputs& in = *t.in;
  const int64_t d = in.head_dim;
  Sgemm(false, true, t.rows, nk, d, in.scale, in.q + t.q0 * in.q_stride + t.head * d, in.q_stride,
        in.k + k0 * in.k_stride + t.head * d, in.k_stride, 0.0f, s, nk);
  if (in.key_valid == nullptr) return;
  for (int64_t c = 0; c < nk; ++c) {
    if (in.key_valid[k0 + c]) continue;
    for (int64_t r = 0; r < t.rows; ++r) s[r * nk + c] = kNegInf;
  }
}

// The online softmax over every key block; writes the tile's output rows and
// leaves each row's final max and sum in row_max / row_sum.
void ForwardTile(const Tile& t, float* s, float* acc, float* row_max, float* row_sum) {
  const AttentionInputs& in = *t.in;
  const int64_t d = in.head_dim;
  std::fill(acc, acc + t.rows * d, 0.0f);
  std::fill(row_max, row_max + t.rows, kNegInf);
  std::fill(row_sum, row_sum + t.rows, 0.0f);
  for (int64_t k0 = 0; k0 < in.n_kv; k0 += t.key_block) {
    const int64_t nk = std::min(t.key_block, in.n_kv - k0);
    TileScores(t, k0, nk, s);
    for (int64_t r = 0; r < t.rows; ++r) {
      float* sr = s + r * nk;
      const float new_max = std::max(row_max[r], RowMax(sr, nk));
      if (new_max == kNegInf) {  // no real key seen yet for this row
        std::fill(sr, sr + nk, 0.0f);
        continue;
      }
      // Rescale what was accumulated under the old max (exp(-inf) = 0).
      const float correction = std::exp(row_max[r] - new_max);
      if (correction != 1.0f) ScaleRow(acc + r * d, d, correction);
      row_sum[r] = row_sum[r] * correction + ExpShiftSum(sr, nk, new_max);
      row_max[r] = new_max;
    }
    Sgemm(false, false, t.rows, d, nk, 1.0f, s, nk, in.v + k0 * in.v_stride + t.head * d,
          in.v_stride, 1.0f, acc, d);
  }
  for (int64_t r = 0; r < t.rows; ++r) {
    // Validation guarantees a real key, so every row_sum is positive.
    const float inv = 1.0f / row_sum[r];
    float* o = in.out + (t.q0 + r) * in.out_stride + t.head * d;
    for (int64_t c = 0; c < d; ++c) o[c] = acc[r * d + c] * inv;
  }
}

// Key mass needs the final probabilities, which the forward pass never holds
// at once: recompute the scores with the final max and sum (only when asked).
void AddTileKeyMass(const Tile& t, float* s, const float* row_max, const float* row_sum,
                    float* mass) {
  const AttentionInputs& in = *t.in;
  for (int64_t k0 = 0; k0 < in.n_kv; k0 += t.key_block) {
    const int64_t nk = std::min(t.key_block, in.n_kv - k0);
    TileScores(t, k0, nk, s);
    for (int64_t r = 0; r < t.rows; ++r) {
      float* sr = s + r * nk;
      ExpShiftSum(sr, nk, row_max[r]);
      const float inv = 1.0f / row_sum[r];
      for (int64_t c = 0; c < nk; ++c) mass[k0 + c] += sr[c] * inv;
    }
  }
}

}  // namespace

const KernelInfo& FlashAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "flash",
      .description =
          "Exact attention tiled over 128-query tiles and `block`-key blocks with an "
          "online softmax (running max and sum per row); the n x n matrix is never "
          "formed. Tiles are GEMMs; heads x query tiles run in parallel. Key mass, "
          "when asked for, costs one more Q.K^T pass.",
      .time_complexity = "O(n^2 d)",
      .memory_complexity = "O(128 * block + 128 * d) per thread (O(n) with key mass)",
      .exact = true,
      .reports_key_mass = true,
      .params = {{.name = "block",
                  .type = ParamType::kInt,
                  .default_value = 512,
                  .min_value = 16,
                  .max_value = 4096,
                  .description = "keys per block of the online softmax"}},
      .tolerance = {.max_abs_error = 1e-5},
  };
  return *kInfo;
}

absl::Status FlashAttention::Run(const AttentionInputs& in, const AttentionParams& params,
                                 AttentionStats* stats) const {
  RETURN_IF_ERROR(ValidateAttentionInputs(in));
  const int64_t n_q = in.n_q, n_kv = in.n_kv, d = in.head_dim;
  const int64_t key_block = std::min<int64_t>(static_cast<int64_t>(params.at("block")), n_kv);
  const int64_t tiles_per_head = (n_q + kQueryTile - 1) / kQueryTile;
  const int64_t tasks = tiles_per_head * in.num_heads;
  std::vector<float> mass_total;  // per-thread partial sums are added here
  if (in.key_mass != nullptr) mass_total.assign(n_kv, 0.0f);
#pragma omp parallel if (tasks > 1)
  {
    std::vector<float> s(kQueryTile * key_block), acc(kQueryTile * d);
    std::vector<float> row_max(kQueryTile), row_sum(kQueryTile);
    std::vector<float> mass(in.key_mass != nullptr ? n_kv : 0, 0.0f);
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t q0 = (task % tiles_per_head) * kQueryTile;
      const Tile t{&in, key_block, static_cast<int>(task / tiles_per_head), q0,
                   std::min(kQueryTile, n_q - q0)};
      ForwardTile(t, s.data(), acc.data(), row_max.data(), row_sum.data());
      if (!mass.empty()) AddTileKeyMass(t, s.data(), row_max.data(), row_sum.data(), mass.data());
    }
    if (!mass.empty()) {
#pragma omp critical
      for (int64_t j = 0; j < n_kv; ++j) mass_total[j] += mass[j];
    }
  }
  for (size_t j = 0; j < mass_total.size(); ++j) in.key_mass[j] += mass_total[j];
  if (stats != nullptr) {
    int64_t real_keys = n_kv;
    if (in.key_valid != nullptr)
      real_keys =
          std::count_if(in.key_valid, in.key_valid + n_kv, [](uint8_t x) { return x != 0; });
    stats->pairs_scored += n_q * real_keys * in.num_heads;
    stats->pairs_total += n_q * real_keys * in.num_heads;
    stats->flops += (in.key_mass != nullptr ? 6 : 4) * n_q * n_kv * d * in.num_heads;
  }
  return absl::OkStatus();
}

}  // namespace attnserve
