#include "engine/attention/selected_keys_attention.h"

#include <algorithm>
#include <cmath>

#include "engine/util/thread_scratch.h"

// Highway's foreach_target re-includes this file once per target; these
// includes must stay in this order (clang-format would regroup them).
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/attention/selected_keys_attention.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace attnserve {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<float>;

// How many selected rows ahead the value pass prefetches.
constexpr int64_t kPrefetchRows = 8;

// q_t[c * rp + i] = scale * q[i * ldq + c], queries rows..rp zero. 4 x 4
// tiles are transposed in registers (128-bit interleaves, on every target but
// scalar): element by element, the strided reads took 15% of adaptive_topk.
void TransposeScaled(const float* HWY_RESTRICT q, int64_t ldq, int64_t rows, int d, float scale,
                     int64_t rp, float* HWY_RESTRICT q_t) {
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::Full128<float> d4;
  const auto vs = hn::Set(d4, scale);
  for (; i + 4 <= rows; i += 4) {
    const float* src = q + i * ldq;
    int c = 0;
    for (; c + 4 <= d; c += 4) {
      const auto r0 = hn::LoadU(d4, src + c), r1 = hn::LoadU(d4, src + ldq + c);
      const auto r2 = hn::LoadU(d4, src + 2 * ldq + c), r3 = hn::LoadU(d4, src + 3 * ldq + c);
      const auto lo01 = hn::InterleaveLower(d4, r0, r1), lo23 = hn::InterleaveLower(d4, r2, r3);
      const auto hi01 = hn::InterleaveUpper(d4, r0, r1), hi23 = hn::InterleaveUpper(d4, r2, r3);
      float* dst = q_t + c * rp + i;
      hn::StoreU(hn::Mul(hn::ConcatLowerLower(d4, lo23, lo01), vs), d4, dst);
      hn::StoreU(hn::Mul(hn::ConcatUpperUpper(d4, lo23, lo01), vs), d4, dst + rp);
      hn::StoreU(hn::Mul(hn::ConcatLowerLower(d4, hi23, hi01), vs), d4, dst + 2 * rp);
      hn::StoreU(hn::Mul(hn::ConcatUpperUpper(d4, hi23, hi01), vs), d4, dst + 3 * rp);
    }
    for (; c < d; ++c) {
      for (int64_t r = 0; r < 4; ++r) q_t[c * rp + i + r] = scale * src[r * ldq + c];
    }
  }
#endif
  for (; i < rows; ++i) {
    for (int c = 0; c < d; ++c) q_t[c * rp + i] = scale * q[i * ldq + c];
  }
  for (int c = 0; c < d; ++c) std::fill(q_t + c * rp + rows, q_t + (c + 1) * rp, 0.0f);
}

// p_t[t * rp + i] = sum_c q_t[c * rp + i] * key_t[c] for the m selected keys
// (rows sel[t] of k, or rows 0..m-1 when sel is null):
// queries in lanes, each key element broadcast. Four keys by two query
// vectors per step keep eight independent accumulators in flight.
void Scores(const float* HWY_RESTRICT q_t, int64_t rp, const float* HWY_RESTRICT k, int64_t ldk,
            const int64_t* HWY_RESTRICT sel, int64_t m, int d, float* HWY_RESTRICT p_t) {
  const D df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const auto key = [&](int64_t t) { return k + (sel != nullptr ? sel[t] : t) * ldk; };
  int64_t t = 0;
  for (; t + 4 <= m; t += 4) {
    const float* k0 = key(t);
    const float* k1 = key(t + 1);
    const float* k2 = key(t + 2);
    const float* k3 = key(t + 3);
    int64_t j = 0;
    for (; j + 2 * lanes <= rp; j += 2 * lanes) {
      auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
      auto b0 = hn::Zero(df), b1 = hn::Zero(df), b2 = hn::Zero(df), b3 = hn::Zero(df);
      for (int c = 0; c < d; ++c) {
        const auto qa = hn::LoadU(df, q_t + c * rp + j);
        const auto qb = hn::LoadU(df, q_t + c * rp + j + lanes);
        const auto x0 = hn::Set(df, k0[c]), x1 = hn::Set(df, k1[c]);
        const auto x2 = hn::Set(df, k2[c]), x3 = hn::Set(df, k3[c]);
        a0 = hn::MulAdd(qa, x0, a0);
        b0 = hn::MulAdd(qb, x0, b0);
        a1 = hn::MulAdd(qa, x1, a1);
        b1 = hn::MulAdd(qb, x1, b1);
        a2 = hn::MulAdd(qa, x2, a2);
        b2 = hn::MulAdd(qb, x2, b2);
        a3 = hn::MulAdd(qa, x3, a3);
        b3 = hn::MulAdd(qb, x3, b3);
      }
      hn::StoreU(a0, df, p_t + t * rp + j);
      hn::StoreU(b0, df, p_t + t * rp + j + lanes);
      hn::StoreU(a1, df, p_t + (t + 1) * rp + j);
      hn::StoreU(b1, df, p_t + (t + 1) * rp + j + lanes);
      hn::StoreU(a2, df, p_t + (t + 2) * rp + j);
      hn::StoreU(b2, df, p_t + (t + 2) * rp + j + lanes);
      hn::StoreU(a3, df, p_t + (t + 3) * rp + j);
      hn::StoreU(b3, df, p_t + (t + 3) * rp + j + lanes);
    }
    for (; j < rp; j += lanes) {
      auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
      for (int c = 0; c < d; ++c) {
        const auto qa = hn::LoadU(df, q_t + c * rp + j);
        a0 = hn::MulAdd(qa, hn::Set(df, k0[c]), a0);
        a1 = hn::MulAdd(qa, hn::Set(df, k1[c]), a1);
        a2 = hn::MulAdd(qa, hn::Set(df, k2[c]), a2);
        a3 = hn::MulAdd(qa, hn::Set(df, k3[c]), a3);
      }
      hn::StoreU(a0, df, p_t + t * rp + j);
      hn::StoreU(a1, df, p_t + (t + 1) * rp + j);
      hn::StoreU(a2, df, p_t + (t + 2) * rp + j);
      hn::StoreU(a3, df, p_t + (t + 3) * rp + j);
    }
  }
  for (; t < m; ++t) {
    const float* k0 = key(t);
    for (int64_t j = 0; j < rp; j += lanes) {
      auto a0 = hn::Zero(df);
      for (int c = 0; c < d; ++c) {
        a0 = hn::MulAdd(hn::LoadU(df, q_t + c * rp + j), hn::Set(df, k0[c]), a0);
      }
      hn::StoreU(a0, df, p_t + t * rp + j);
    }
  }
}

// Per query lane, the softmax over the m keys: p_t <- exp(p_t - max) / sum.
// Normalised here, not in the weighted sum, so the value loops need no
// per-query factor (eight of them held there spilled the accumulators).
void SoftmaxColumns(float* HWY_RESTRICT p_t, int64_t rp, int64_t m) {
  const D df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t j = 0; j < rp; j += lanes) {
    auto vmax = hn::LoadU(df, p_t + j);
    for (int64_t t = 1; t < m; ++t) vmax = hn::Max(vmax, hn::LoadU(df, p_t + t * rp + j));
    auto sum = hn::Zero(df);
    for (int64_t t = 0; t < m; ++t) {
      const auto e = hn::Exp(df, hn::Sub(hn::LoadU(df, p_t + t * rp + j), vmax));
      hn::StoreU(e, df, p_t + t * rp + j);
      sum = hn::Add(sum, e);
    }
    const auto inv = hn::Div(hn::Set(df, 1.0f), sum);
    for (int64_t t = 0; t < m; ++t) {
      hn::StoreU(hn::Mul(hn::LoadU(df, p_t + t * rp + j), inv), df, p_t + t * rp + j);
    }
  }
}

// The head dims [c0, d) of queries [i0, i1), one at a time: vector-wide
// columns first, then single floats.
void WeightedValuesTail(const float* HWY_RESTRICT p_t, int64_t rp,
                        const float* const* HWY_RESTRICT v_rows, int64_t m, int d, int64_t i0,
                        int64_t i1, int64_t c0, float* HWY_RESTRICT out, int64_t ldo) {
  const D df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t i = i0; i < i1; ++i) {
    int64_t c = c0;
    for (; c + lanes <= d; c += lanes) {
      auto acc = hn::Zero(df);
      for (int64_t t = 0; t < m; ++t) {
        acc = hn::MulAdd(hn::LoadU(df, v_rows[t] + c), hn::Set(df, p_t[t * rp + i]), acc);
      }
      hn::StoreU(acc, df, out + i * ldo + c);
    }
    for (; c < d; ++c) {
      float acc = 0.0f;
      for (int64_t t = 0; t < m; ++t) acc += p_t[t * rp + i] * v_rows[t][c];
      out[i * ldo + c] = acc;
    }
  }
}

// out[i, c] = sum_t p_t[t * rp + i] * v_rows[t][c] for queries [i0, i0 + 8):
// value rows in lanes, probabilities broadcast, so no horizontal sums.
// Eight queries by two vectors keep sixteen accumulators in flight for ten
// loads (two vectors, eight broadcasts) per sixteen FMAs.
void WeightedValues8(const float* HWY_RESTRICT p_t, int64_t rp,
                     const float* const* HWY_RESTRICT v_rows, int64_t m, int d, int64_t i0,
                     float* HWY_RESTRICT out, int64_t ldo) {
  const D df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t c = 0;
  for (; c + 2 * lanes <= d; c += 2 * lanes) {
    auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    auto a4 = hn::Zero(df), a5 = hn::Zero(df), a6 = hn::Zero(df), a7 = hn::Zero(df);
    auto b0 = hn::Zero(df), b1 = hn::Zero(df), b2 = hn::Zero(df), b3 = hn::Zero(df);
    auto b4 = hn::Zero(df), b5 = hn::Zero(df), b6 = hn::Zero(df), b7 = hn::Zero(df);
    for (int64_t t = 0; t < m; ++t) {
      const float* row = v_rows[t] + c;
      const float* w = p_t + t * rp + i0;
      // Selected rows are scattered: no hardware prefetcher predicts them
      // (at 2,048 tokens a head's values no longer fit in L2).
      if (t + kPrefetchRows < m) {
        hwy::Prefetch(v_rows[t + kPrefetchRows] + c);
        hwy::Prefetch(v_rows[t + kPrefetchRows] + c + lanes);
      }
      const auto va = hn::LoadU(df, row), vb = hn::LoadU(df, row + lanes);
      auto x = hn::Set(df, w[0]);
      a0 = hn::MulAdd(va, x, a0);
      b0 = hn::MulAdd(vb, x, b0);
      x = hn::Set(df, w[1]);
      a1 = hn::MulAdd(va, x, a1);
      b1 = hn::MulAdd(vb, x, b1);
      x = hn::Set(df, w[2]);
      a2 = hn::MulAdd(va, x, a2);
      b2 = hn::MulAdd(vb, x, b2);
      x = hn::Set(df, w[3]);
      a3 = hn::MulAdd(va, x, a3);
      b3 = hn::MulAdd(vb, x, b3);
      x = hn::Set(df, w[4]);
      a4 = hn::MulAdd(va, x, a4);
      b4 = hn::MulAdd(vb, x, b4);
      x = hn::Set(df, w[5]);
      a5 = hn::MulAdd(va, x, a5);
      b5 = hn::MulAdd(vb, x, b5);
      x = hn::Set(df, w[6]);
      a6 = hn::MulAdd(va, x, a6);
      b6 = hn::MulAdd(vb, x, b6);
      x = hn::Set(df, w[7]);
      a7 = hn::MulAdd(va, x, a7);
      b7 = hn::MulAdd(vb, x, b7);
    }
    float* o = out + i0 * ldo + c;
    hn::StoreU(a0, df, o);
    hn::StoreU(b0, df, o + lanes);
    hn::StoreU(a1, df, o + ldo);
    hn::StoreU(b1, df, o + ldo + lanes);
    hn::StoreU(a2, df, o + 2 * ldo);
    hn::StoreU(b2, df, o + 2 * ldo + lanes);
    hn::StoreU(a3, df, o + 3 * ldo);
    hn::StoreU(b3, df, o + 3 * ldo + lanes);
    hn::StoreU(a4, df, o + 4 * ldo);
    hn::StoreU(b4, df, o + 4 * ldo + lanes);
    hn::StoreU(a5, df, o + 5 * ldo);
    hn::StoreU(b5, df, o + 5 * ldo + lanes);
    hn::StoreU(a6, df, o + 6 * ldo);
    hn::StoreU(b6, df, o + 6 * ldo + lanes);
    hn::StoreU(a7, df, o + 7 * ldo);
    hn::StoreU(b7, df, o + 7 * ldo + lanes);
  }
  WeightedValuesTail(p_t, rp, v_rows, m, d, i0, i0 + 8, c, out, ldo);
}

// The same for queries [i0, i0 + 4): eight accumulators, for targets with
// sixteen vector registers (the eight-query tile would spill there).
void WeightedValues4(const float* HWY_RESTRICT p_t, int64_t rp,
                     const float* const* HWY_RESTRICT v_rows, int64_t m, int d, int64_t i0,
                     float* HWY_RESTRICT out, int64_t ldo) {
  const D df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t c = 0;
  for (; c + 2 * lanes <= d; c += 2 * lanes) {
    auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    auto b0 = hn::Zero(df), b1 = hn::Zero(df), b2 = hn::Zero(df), b3 = hn::Zero(df);
    for (int64_t t = 0; t < m; ++t) {
      const float* row = v_rows[t] + c;
      const float* w = p_t + t * rp + i0;
      const auto va = hn::LoadU(df, row), vb = hn::LoadU(df, row + lanes);
      auto x = hn::Set(df, w[0]);
      a0 = hn::MulAdd(va, x, a0);
      b0 = hn::MulAdd(vb, x, b0);
      x = hn::Set(df, w[1]);
      a1 = hn::MulAdd(va, x, a1);
      b1 = hn::MulAdd(vb, x, b1);
      x = hn::Set(df, w[2]);
      a2 = hn::MulAdd(va, x, a2);
      b2 = hn::MulAdd(vb, x, b2);
      x = hn::Set(df, w[3]);
      a3 = hn::MulAdd(va, x, a3);
      b3 = hn::MulAdd(vb, x, b3);
    }
    float* o = out + i0 * ldo + c;
    hn::StoreU(a0, df, o);
    hn::StoreU(b0, df, o + lanes);
    hn::StoreU(a1, df, o + ldo);
    hn::StoreU(b1, df, o + ldo + lanes);
    hn::StoreU(a2, df, o + 2 * ldo);
    hn::StoreU(b2, df, o + 2 * ldo + lanes);
    hn::StoreU(a3, df, o + 3 * ldo);
    hn::StoreU(b3, df, o + 3 * ldo + lanes);
  }
  WeightedValuesTail(p_t, rp, v_rows, m, d, i0, i0 + 4, c, out, ldo);
}

// x86 targets below AVX-512 (and the emulated ones) have sixteen vector
// registers; AVX-512, NEON and SVE have thirty-two.
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3
constexpr int64_t kQueryTile = 4;
#else
constexpr int64_t kQueryTile = 8;
#endif

void AttendSelectedKeysImpl(const float* HWY_RESTRICT q, int64_t ldq, int64_t rows,
                            const float* HWY_RESTRICT k, int64_t ldk, const float* HWY_RESTRICT v,
                            int64_t ldv, const int64_t* HWY_RESTRICT sel, int64_t m, int d,
                            float scale, float* HWY_RESTRICT out, int64_t ldo,
                            float* HWY_RESTRICT key_mass, SelectedKeysScratch* scratch) {
  const D df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  // Queries padded to whole vectors; a padded query is zero, so its scores
  // are finite and its lane is never read back.
  const int64_t rp = (rows + lanes - 1) / lanes * lanes;
  float* q_t = GrownTo(&scratch->q_t, int64_t{d} * rp);
  float* p_t = GrownTo(&scratch->p_t, m * rp);
  TransposeScaled(q, ldq, rows, d, scale, rp, q_t);
  Scores(q_t, rp, k, ldk, sel, m, d, p_t);
  SoftmaxColumns(p_t, rp, m);
  std::vector<const float*>& v_rows = scratch->v_rows;
  v_rows.resize(static_cast<size_t>(m));
  for (int64_t t = 0; t < m; ++t) v_rows[t] = v + sel[t] * ldv;
  int64_t i = 0;
  if constexpr (kQueryTile == 8) {
    for (; i + 8 <= rows; i += 8) WeightedValues8(p_t, rp, v_rows.data(), m, d, i, out, ldo);
  }
  for (; i + 4 <= rows; i += 4) WeightedValues4(p_t, rp, v_rows.data(), m, d, i, out, ldo);
  WeightedValuesTail(p_t, rp, v_rows.data(), m, d, i, rows, 0, out, ldo);
  if (key_mass != nullptr) {
    for (int64_t t = 0; t < m; ++t) {
      float mass = 0.0f;
      for (int64_t r = 0; r < rows; ++r) mass += p_t[t * rp + r];
      key_mass[sel[t]] += mass;
    }
  }
}

void ScoreAllKeysImpl(const float* HWY_RESTRICT a, int64_t lda, int64_t rows,
                      const float* HWY_RESTRICT k, int64_t ldk, int64_t n, int d,
                      float* HWY_RESTRICT out, SelectedKeysScratch* scratch) {
  const D df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t rp = (rows + lanes - 1) / lanes * lanes;
  float* a_t = GrownTo(&scratch->q_t, int64_t{d} * rp);
  float* p_t = GrownTo(&scratch->p_t, n * rp);
  TransposeScaled(a, lda, rows, d, 1.0f, rp, a_t);
  Scores(a_t, rp, k, ldk, /*sel=*/nullptr, n, d, p_t);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) out[r * n + j] = p_t[j * rp + r];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attnserve
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attnserve {

HWY_EXPORT(AttendSelectedKeysImpl);
HWY_EXPORT(ScoreAllKeysImpl);

void AttendSelectedKeys(const float* q, int64_t ldq, int64_t rows, const float* k, int64_t ldk,
                        const float* v, int64_t ldv, const int64_t* sel, int64_t m, int d,
                        float scale, float* out, int64_t ldo, float* key_mass,
                        SelectedKeysScratch* scratch) {
  if (rows <= 0 || m <= 0) return;
  HWY_DYNAMIC_DISPATCH(AttendSelectedKeysImpl)
  (q, ldq, rows, k, ldk, v, ldv, sel, m, d, scale, out, ldo, key_mass, scratch);
}

void ScoreAllKeys(const float* a, int64_t lda, int64_t rows, const float* k, int64_t ldk, int64_t n,
                  int d, float* out, SelectedKeysScratch* scratch) {
  if (rows <= 0 || n <= 0) return;
  HWY_DYNAMIC_DISPATCH(ScoreAllKeysImpl)(a, lda, rows, k, ldk, n, d, out, scratch);
}

}  // namespace attnserve
#endif  // HWY_ONCE
