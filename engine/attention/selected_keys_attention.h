// Exact softmax attention of a block of queries over a chosen subset of the
// keys, reading the chosen key and value rows where they lie: the inner step
// of adaptive_topk. It replaces "gather the kept keys and values, two sgemm
// calls": at n = 512 those gathers were 14% of the kernel and the sgemm calls
// on 32 x 64 x 128 shapes ran well under their large-shape rate.
//
// Queries sit in the SIMD lanes for the scores and the softmax (one query
// block is transposed once), the head dimension for the weighted sum of
// values, so neither step needs a horizontal reduction. Highway, dispatched
// at run time. Its reference is reference::NaiveAttention with the pairs
// restricted to the selected keys (tests/unit/selected_keys_attention_test.cc).
#ifndef ATTNSERVE_ENGINE_ATTENTION_SELECTED_KEYS_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_SELECTED_KEYS_ATTENTION_H_

#include <cstdint>
#include <vector>

namespace attnserve {

// Reused buffers: no allocation once they hold a block's size.
struct SelectedKeysScratch {
  std::vector<float> q_t, p_t;
  std::vector<const float*> v_rows;
};

// For each query i < rows:
//   out[i * ldo + c] = sum_t p[i, t] * v[sel[t] * ldv + c],  c < d,
//   p[i, :] = softmax_t(scale * sum_c q[i * ldq + c] * k[sel[t] * ldk + c]),
// over the m >= 1 selected rows sel[0, m) of k and v. If key_mass is not
// null, key_mass[sel[t]] += sum_i p[i, t].
void AttendSelectedKeys(const float* q, int64_t ldq, int64_t rows, const float* k, int64_t ldk,
                        const float* v, int64_t ldv, const int64_t* sel, int64_t m, int d,
                        float scale, float* out, int64_t ldo, float* key_mass,
                        SelectedKeysScratch* scratch);

// out[r * n + j] = sum_c a[r * lda + c] * k[j * ldk + c] for r < rows, j < n:
// a few query rows against every key (adaptive_topk's block scorer, 16 x 512
// x 128 per head at 512 tokens), with the same kernel as the selected-key
// scores. dnnl_sgemm packed the strided keys on every call and reached half
// this rate there.
void ScoreAllKeys(const float* a, int64_t lda, int64_t rows, const float* k, int64_t ldk, int64_t n,
                  int d, float* out, SelectedKeysScratch* scratch);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_SELECTED_KEYS_ATTENTION_H_
