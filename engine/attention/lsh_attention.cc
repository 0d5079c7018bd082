#include "engine/attention/lsh_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "engine/attention/approx_common.h"
#include "engine/util/status_macros.h"

namespace attnserve {

const KernelInfo& LshAttention::info() const {
  static const KernelInfo* const kInfo = new KernelInfo{
      .name = "lsh",
      .description =
          "Reformer-style LSH attention. A pretrained model has separate Q and "
          "K, so queries and keys are hashed with the same random rotations "
          "(angular LSH, argmax over [xR, -xR], about n/bucket buckets). Per "
          "round, queries and keys are sorted together by (hash, position) "
          "and cut into chunks of 2*bucket items; a query scores the keys of "
          "its chunk and the previous one, plus its own position. Rounds are "
          "combined by log-sum-exp with each pair counted once, i.e. an exact "
          "softmax over the union of the keys the rounds give a query. "
          "bucket >= n is dense.",
      .time_complexity = "O(n_hashes n (log n + bucket d))",
      .memory_complexity = "O(n_hashes n)",
      .exact = false,
      .reports_key_mass = true,
      .params = {{"n_hashes", ParamType::kInt, 2, 1, 64, "hashing rounds"},
                 {"bucket", ParamType::kInt, 64, 1, 1 << 20,
                  "bucket (chunk) size in keys; bucket >= n is dense"},
                 {"seed", ParamType::kInt, 0, 0, 2147483647.0, "rotation seed"}},
      .tolerance = {.max_rel_error = 1.2},
  };
  return *kInfo;
}

namespace {

// Bucket of each of n rows x [n, d] under rotation r [d, half]: argmax of
// [x r, -x r].
void Hash(const float* x, int64_t n, int d, const float* r, int half, int32_t* out) {
  std::vector<float> proj(half);
  for (int64_t i = 0; i < n; ++i) {
    std::fill(proj.begin(), proj.end(), 0.0f);
    for (int c = 0; c < d; ++c) {
      const float xc = x[i * d + c];
      const float* rc = r + int64_t{c} * half;
      for (int b = 0; b < half; ++b) proj[b] += xc * rc[b];
    }
    int best = 0;
    float best_value = -std::numeric_limits<float>::infinity();
    for (int b = 0; b < half; ++b) {
      if (proj[b] > best_value) best_value = proj[b], best = b;
      if (-proj[b] > best_value) best_value = -proj[b], best = half + b;
    }
    out[i] = best;
  }
}

}  // namespace

absl::Status LshAttention::Run(const AttentionInputs& in, const AttentionParams& params,
                               AttentionStats* stats) const {
  RETURN_IF_ERROR(ValidateAttentionInputs(in));
  const std::vector<int64_t> real = approx::RealKeys(in);
  const int64_t n_q = in.n_q, n_r = static_cast<int64_t>(real.size());
  const int d = in.head_dim;
  const int rounds = static_cast<int>(params.at("n_hashes"));
  const int64_t bucket = static_cast<int64_t>(params.at("bucket"));
  const uint64_t seed = static_cast<uint64_t>(params.at("seed"));
  const int half = static_cast<int>(std::max<int64_t>(1, (n_r + 2 * bucket - 1) / (2 * bucket)));
  const int64_t items = n_q + n_r, chunk = 2 * bucket;
  const int64_t chunks = (items + chunk - 1) / chunk;
  // Real-key index of the key at each position (for the own-position key).
  std::vector<int64_t> key_at(in.n_kv, -1);
  for (int64_t j = 0; j < n_r; ++j) key_at[real[j]] = j;
  std::vector<float> head_mass(in.key_mass != nullptr ? in.num_heads * n_r : 0, 0.0f);
  std::vector<int64_t> head_scored(in.num_heads, 0);
#pragma omp parallel for schedule(static) if (in.num_heads > 1)
  for (int h = 0; h < in.num_heads; ++h) {
    std::vector<float> q(n_q * d), k(n_r * d), v(n_r * d), out(n_q * d, 0.0f);
    approx::GatherHead(in.q, in.q_stride, h, d, nullptr, n_q, q.data());
    approx::GatherHead(in.k, in.k_stride, h, d, real.data(), n_r, k.data());
    approx::GatherHead(in.v, in.v_stride, h, d, real.data(), n_r, v.data());
    // Per round: items sorted by (hash, position); item < n_q is a query,
    // else key item - n_q. where[r * n_q + i] = slot of query i.
    std::vector<int64_t> order(rounds * items), where(rounds * n_q);
    if (chunks > 1) {
      std::vector<float> rot(int64_t{d} * half);
      std::vector<int32_t> hq(n_q), hk(n_r);
      for (int r = 0; r < rounds; ++r) {
        approx::FillGaussian(approx::MixSeed(seed, int64_t{h} * 64 + r), rot.data(), rot.size());
        Hash(q.data(), n_q, d, rot.data(), half, hq.data());
        Hash(k.data(), n_r, d, rot.data(), half, hk.data());
        int64_t* ord = order.data() + r * items;
        std::iota(ord, ord + items, int64_t{0});
        auto key_of = [&](int64_t it) {
          return it < n_q ? std::pair<int32_t, int64_t>(hq[it], it)
                          : std::pair<int32_t, int64_t>(hk[it - n_q], real[it - n_q]);
        };
        std::sort(ord, ord + items, [&](int64_t a, int64_t b) {
          const auto ka = key_of(a), kb = key_of(b);
          return ka != kb ? ka < kb : a < b;
        });
        for (int64_t s = 0; s < items; ++s) {
          if (ord[s] < n_q) where[r * n_q + ord[s]] = s;
        }
      }
    }
    std::vector<int64_t> stamp(n_r, -1), keys;
    std::vector<float> scores;
    float* mass = head_mass.empty() ? nullptr : head_mass.data() + h * n_r;
    int64_t scored = 0;
    for (int64_t i = 0; i < n_q; ++i) {
      keys.clear();
      auto add = [&](int64_t j) {
        if (stamp[j] != i) stamp[j] = i, keys.push_back(j);
      };
      if (chunks == 1) {
        for (int64_t j = 0; j < n_r; ++j) add(j);
      } else {
        if (in.n_q == in.n_kv && key_at[i] >= 0) add(key_at[i]);
        for (int r = 0; r < rounds; ++r) {
          const int64_t* ord = order.data() + r * items;
          const int64_t c = where[r * n_q + i] / chunk;
          for (const int64_t cc : {c, (c + chunks - 1) % chunks}) {
            const int64_t end = std::min(items, (cc + 1) * chunk);
            for (int64_t s = cc * chunk; s < end; ++s) {
              if (ord[s] >= n_q) add(ord[s] - n_q);
            }
          }
        }
        if (keys.empty()) add(0);  // a chunk pair of queries only
      }
      scored += static_cast<int64_t>(keys.size());
      scores.resize(keys.size());
      float best = -std::numeric_limits<float>::infinity();
      const float* qi = q.data() + i * d;
      for (size_t t = 0; t < keys.size(); ++t) {
        const float* kj = k.data() + keys[t] * d;
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int c = 0; c < d; ++c) dot += qi[c] * kj[c];
        scores[t] = dot * in.scale;
        best = std::max(best, scores[t]);
      }
      double sum = 0;
      for (float& s : scores) sum += (s = approx::FastExp(s - best));
      const float inv = static_cast<float>(1.0 / sum);
      float* oi = out.data() + i * d;
      for (size_t t = 0; t < keys.size(); ++t) {
        const float p = scores[t] * inv;
        const float* vj = v.data() + keys[t] * d;
#pragma omp simd
        for (int c = 0; c < d; ++c) oi[c] += p * vj[c];
        if (mass != nullptr) mass[keys[t]] += p;
      }
    }
    head_scored[h] = scored;
    approx::ScatterHead(out.data(), n_q, d, h, in.out, in.out_stride);
  }
  approx::ScatterKeyMass(head_mass, real, in.num_heads, in.key_mass);
  int64_t scored = 0;
  for (int64_t s : head_scored) scored += s;
  const int64_t hash_flops = chunks > 1 ? 2 * int64_t{rounds} * (n_q + n_r) * d * half : 0;
  approx::AddStats(stats, scored, n_q * n_r * in.num_heads,
                   in.num_heads * hash_flops + 4 * scored * d);
  return absl::OkStatus();
}

}  // namespace attnserve
