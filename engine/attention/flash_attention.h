// flash: exact attention tiled over query and key blocks with an online
// softmax (a running max and sum per query row), so the n x n score matrix is
// never formed: extra memory is O(block) per thread.
#ifndef ATTNSERVE_ENGINE_ATTENTION_FLASH_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_FLASH_ATTENTION_H_

#include "engine/attention/attention_kernel.h"

namespace attnserve {

class FlashAttention final : public AttentionKernel {
 public:
  const KernelInfo& info() const override;
  absl::Status Run(const AttentionInputs& inputs, const AttentionParams& params,
                   AttentionStats* stats) const override;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_FLASH_ATTENTION_H_
