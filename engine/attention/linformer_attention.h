// linformer: see info().description in linformer_attention.cc.
#ifndef ATTNSERVE_ENGINE_ATTENTION_LINFORMER_ATTENTION_H_
#define ATTNSERVE_ENGINE_ATTENTION_LINFORMER_ATTENTION_H_

#include "engine/attention/attention_kernel.h"

namespace attnserve {

class LinformerAttention final : public AttentionKernel {
 public:
  const KernelInfo& info() const override;
  absl::Status Run(const AttentionInputs& inputs, const AttentionParams& params,
                   AttentionStats* stats) const override;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_LINFORMER_ATTENTION_H_
