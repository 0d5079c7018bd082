// dense: exact softmax(scale * Q·Kᵀ)·V with GEMMs, the baseline of the catalogue.
#ifndef ATTNSERVE_ENGINE_ATTENTION_DENSE_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_DENSE_ATTENTION_H_

#include "engine/attention/attention_kernel.h"

namespace attnserve {

class DenseAttention final : public AttentionKernel {
 public:
  const KernelInfo& info() const override;
  absl::Status Run(const AttentionInputs& inputs, const AttentionParams& params,
                   AttentionStats* stats) const override;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_DENSE_ATTENTION_H_
