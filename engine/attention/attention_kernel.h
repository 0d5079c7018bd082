// The attention module interface. One implementation per file in this folder,
// each listed in the explicit table of registry.cc (docs/ADDING_A_KERNEL.md).
#ifndef ATTNSERVE_ENGINE_ATTENTION_ATTENTION_KERNEL_H_
#define ATTNSERVE_ENGINE_ATTENTION_ATTENTION_KERNEL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"

namespace attnserve {

struct FittedPooling;  // engine/attention/fitted_pooling.h

// One sequence's multi-head attention. Rows are tokens; head h of Q, K, V and
// the output occupies columns [h * head_dim, (h + 1) * head_dim) of its row.
// Strides are row strides in floats, so Q, K and V may be column blocks of one
// fused QKV matrix.
struct AttentionInputs {
  int64_t n_q = 0;
  int64_t n_kv = 0;
  int num_heads = 0;
  int head_dim = 0;
  float scale = 1.0f;  // applied to Q·Kᵀ before the softmax
  const float* q = nullptr;
  int64_t q_stride = 0;
  const float* k = nullptr;
  int64_t k_stride = 0;
  const float* v = nullptr;
  int64_t v_stride = 0;
  float* out = nullptr;
  int64_t out_stride = 0;
  // Optional [n_kv] padding mask: 0 = padded key, never attended. Null means
  // every key is real. At least one key must be real.
  const uint8_t* key_valid = nullptr;
  // Optional [n_kv] output for token pruning: when set, the kernel adds, for
  // each key, the attention probability it received summed over queries and
  // heads. Kernels that never form probabilities leave it untouched and say
  // so with KernelInfo::reports_key_mass = false.
  float* key_mass = nullptr;
  // Which layer of the model this is, and what was fitted offline to the
  // model's attention (null when nothing was): kernels with a fitted option
  // (linformer's `fitted`) read their layer's part.
  int layer = 0;
  const FittedPooling* fitted_pooling = nullptr;
};

// What a run did, summed over calls.
struct AttentionStats {
  int64_t pairs_scored = 0;  // query-key pairs whose score was computed
  int64_t pairs_total = 0;   // query-key pairs a dense kernel would score
  int64_t flops = 0;         // multiply-adds counted as 2
};

enum class ParamType { kInt, kFloat };

// A kernel parameter with its default and closed range.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kInt;
  double default_value = 0;
  double min_value = 0;
  double max_value = 0;
  std::string description;
};

struct KernelInfo {
  std::string name;
  std::string description;
  std::string time_complexity;    // e.g. "O(n^2 d)"
  std::string memory_complexity;  // extra memory beyond Q, K, V, out
  bool exact = false;             // equals dense attention up to rounding
  bool reports_key_mass = false;  // fills AttentionInputs::key_mass
  std::vector<ParamSpec> params;
  // What the registry's conformance tests hold the kernel to at its default
  // parameters, against reference::NaiveAttention on
  // tests/unit/attention_problem.h's inputs (peaked Q.K, V ~ N(0, 1), n from
  // 1 to 333 with and without padding in attention_test.cc, 2,003 in
  // attention_approx_test.cc). Exact and low-precision kernels bound the largest absolute
  // error; approximations the relative error ||out - ref|| / ||ref||, which
  // at default (fast) parameters can be large: their accuracy claims are the
  // budget sweeps in tests/unit/attention_approx_test.cc.
  struct Tolerance {
    double max_abs_error = 0;  // 0: bounded by max_rel_error instead
    double max_rel_error = 0;
  } tolerance;
};

// Validated parameters, every schema entry present (defaults filled in).
using AttentionParams = absl::flat_hash_map<std::string, double>;

class AttentionKernel {
 public:
  virtual ~AttentionKernel() = default;
  virtual const KernelInfo& info() const = 0;
  std::string_view name() const { return info().name; }

  // Computes inputs.out. Parameters were validated against info().params.
  // Thread-safe: called concurrently by many requests.
  virtual absl::Status Run(const AttentionInputs& inputs, const AttentionParams& params,
                           AttentionStats* stats) const = 0;
};

// Checks the shape and pointers of `inputs` (used by every kernel).
absl::Status ValidateAttentionInputs(const AttentionInputs& inputs);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_ATTENTION_KERNEL_H_
