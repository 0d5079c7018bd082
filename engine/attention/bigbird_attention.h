// bigbird: window + global tokens + seeded random key blocks per query block.
#ifndef ATTNSERVE_ENGINE_ATTENTION_BIGBIRD_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_BIGBIRD_ATTENTION_H_

#include "engine/attention/attention_kernel.h"

namespace attnserve {

class BigBirdAttention final : public AttentionKernel {
 public:
  const KernelInfo& info() const override;
  absl::Status Run(const AttentionInputs& inputs, const AttentionParams& params,
                   AttentionStats* stats) const override;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_BIGBIRD_ATTENTION_H_
