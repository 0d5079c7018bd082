#include "engine/attention/attention_kernel.h"

#include "absl/strings/str_cat.h"

namespace attnserve {

absl::Status ValidateAttentionInputs(const AttentionInputs& in) {
  if (in.n_q < 0 || in.n_kv < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "attention: need n_q >= 0 and n_kv >= 1, got n_q=", in.n_q, " n_kv=", in.n_kv));
  }
  if (in.num_heads < 1 || in.head_dim < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "attention: bad head layout: num_heads=", in.num_heads, " head_dim=", in.head_dim));
  }
  const int64_t width = int64_t{in.num_heads} * in.head_dim;
  if (in.q == nullptr || in.k == nullptr || in.v == nullptr || in.out == nullptr) {
    return absl::InvalidArgumentError("attention: null q, k, v or out");
  }
  if (in.q_stride < width || in.k_stride < width || in.v_stride < width || in.out_stride < width) {
    return absl::InvalidArgumentError(
        absl::StrCat("attention: row strides must be >= num_heads*head_dim=", width));
  }
  if (in.key_valid != nullptr) {
    int64_t real = 0;
    for (int64_t j = 0; j < in.n_kv; ++j) real += in.key_valid[j] != 0;
    if (real == 0) {
      return absl::InvalidArgumentError("attention: every key is padding");
    }
  }
  return absl::OkStatus();
}

}  // namespace attnserve
