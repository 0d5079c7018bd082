// longformer: a sliding window plus global tokens that see and are seen by all.
#ifndef ATTNSERVE_ENGINE_ATTENTION_LONGFORMER_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_LONGFORMER_ATTENTION_H_

#include "engine/attention/attention_kernel.h"

namespace attnserve {

class LongformerAttention final : public AttentionKernel {
 public:
  const KernelInfo& info() const override;
  absl::Status Run(const AttentionInputs& inputs, const AttentionParams& params,
                   AttentionStats* stats) const override;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_LONGFORMER_ATTENTION_H_
