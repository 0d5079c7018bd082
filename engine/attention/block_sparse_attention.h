// block_sparse: diagonal blocks plus seeded random off-diagonal key blocks.
#ifndef ATTNSERVE_ENGINE_ATTENTION_BLOCK_SPARSE_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_BLOCK_SPARSE_ATTENTION_H_

#include "engine/attention/attention_kernel.h"

namespace attnserve {

class BlockSparseAttention final : public AttentionKernel {
 public:
  const KernelInfo& info() const override;
  absl::Status Run(const AttentionInputs& inputs, const AttentionParams& params,
                   AttentionStats* stats) const override;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_BLOCK_SPARSE_ATTENTION_H_
