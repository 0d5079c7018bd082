// sliding_window: each query keeps the keys within `window` positions of it.
#ifndef ATTNSERVE_ENGINE_ATTENTION_SLIDING_WINDOW_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_SLIDING_WINDOW_ATTENTION_H_

#include "engine/attention/attention_kernel.h"

namespace attnserve {

class SlidingWindowAttention final : public AttentionKernel {
 public:
  const KernelInfo& info() const override;
  absl::Status Run(const AttentionInputs& inputs, const AttentionParams& params,
                   AttentionStats* stats) const override;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_SLIDING_WINDOW_ATTENTION_H_
