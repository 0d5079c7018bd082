#include "engine/attention/reference/naive_attention.h"

#include <cmath>
#include <limits>

namespace attnserve::reference {

std::vector<float> NaiveAttention(const std::vector<float>& q, const std::vector<float>& k,
                                  const std::vector<float>& v, int64_t n_q, int64_t n_kv,
                                  int num_heads, int head_dim, double scale,
                                  const std::vector<uint8_t>* key_valid,
                                  const std::function<bool(int64_t, int64_t)>& allowed) {
  const int64_t width = int64_t{num_heads} * head_dim;
  std::vector<float> out(n_q * width, 0.0f);
  std::vector<double> scores(n_kv);
  for (int h = 0; h < num_heads; ++h) {
    for (int64_t i = 0; i < n_q; ++i) {
      double max_score = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < n_kv; ++j) {
        const bool use = (key_valid == nullptr || (*key_valid)[j]) && (!allowed || allowed(i, j));
        if (!use) {
          scores[j] = -std::numeric_limits<double>::infinity();
          continue;
        }
        double dot = 0.0;
        for (int c = 0; c < head_dim; ++c) {
          dot += double{q[i * width + h * head_dim + c]} * k[j * width + h * head_dim + c];
        }
        scores[j] = dot * scale;
        if (scores[j] > max_score) max_score = scores[j];
      }
      if (std::isinf(max_score)) continue;  // no key allowed: zero row
      double sum = 0.0;
      for (int64_t j = 0; j < n_kv; ++j) {
        scores[j] = std::isinf(scores[j]) ? 0.0 : std::exp(scores[j] - max_score);
        sum += scores[j];
      }
      for (int c = 0; c < head_dim; ++c) {
        double acc = 0.0;
        for (int64_t j = 0; j < n_kv; ++j) {
          acc += scores[j] * v[j * width + h * head_dim + c];
        }
        out[i * width + h * head_dim + c] = static_cast<float>(acc / sum);
      }
    }
  }
  return out;
}

}  // namespace attnserve::reference
