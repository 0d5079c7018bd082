// segment_memory: Transformer-XL-style segments that attend to themselves and
// to the cached keys and values of the previous segment.
#ifndef ATTNSERVE_ENGINE_ATTENTION_SEGMENT_MEMORY_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_SEGMENT_MEMORY_ATTENTION_H_

#include "engine/attention/attention_kernel.h"

namespace attnserve {

class SegmentMemoryAttention final : public AttentionKernel {
 public:
  const KernelInfo& info() const override;
  absl::Status Run(const AttentionInputs& inputs, const AttentionParams& params,
                   AttentionStats* stats) const override;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_SEGMENT_MEMORY_ATTENTION_H_
