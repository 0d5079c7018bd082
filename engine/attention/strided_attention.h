// strided: a local window plus every `stride`-th key (Sparse Transformer's fixed pattern).
#ifndef ATTNSERVE_ENGINE_ATTENTION_STRIDED_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_STRIDED_ATTENTION_H_

#include "engine/attention/attention_kernel.h"

namespace attnserve {

class StridedAttention final : public AttentionKernel {
 public:
  const KernelInfo& info() const override;
  absl::Status Run(const AttentionInputs& inputs, const AttentionParams& params,
                   AttentionStats* stats) const override;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_STRIDED_ATTENTION_H_
