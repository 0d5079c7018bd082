// Naive double-precision multi-head attention, the reference every attention
// kernel is tested against. An optional per-pair pattern restricts which
// query-key pairs are scored (for the pattern kernels' masked references).
#ifndef ATTNSERVE_ENGINE_ATTENTION_REFERENCE_NAIVE_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_REFERENCE_NAIVE_ATTENTION_H_

#include <cstdint>
#include <functional>
#include <vector>

namespace attnserve::reference {

// q [n_q, H*d], k and v [n_kv, H*d], all dense row-major; returns [n_q, H*d].
// key_valid (optional, size n_kv) excludes padded keys; allowed(i, j), when
// given, excludes pairs it returns false for. A query with no allowed key gets
// a zero output row.
std::vector<float> NaiveAttention(const std::vector<float>& q, const std::vector<float>& k,
                                  const std::vector<float>& v, int64_t n_q, int64_t n_kv,
                                  int num_heads, int head_dim, double scale,
                                  const std::vector<uint8_t>* key_valid = nullptr,
                                  const std::function<bool(int64_t, int64_t)>& allowed = nullptr);

}  // namespace attnserve::reference

#endif  // ATTNSERVE_ENGINE_ATTENTION_REFERENCE_NAIVE_ATTENTION_H_
