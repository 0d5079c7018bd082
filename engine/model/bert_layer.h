// One post-norm encoder layer of the BERT family over a ragged batch. BERT and
// DistilBERT are the plain case; MobileBERT adds input/output bottlenecks,
// extra stacked feed-forward blocks and NoNorm (x * weight + bias). The dense
// layers keep the checkpoint's [out, in] weights (PackedLinear's kOutputMajor)
// and run in the plan's linear precision.
#ifndef ATTNSERVE_ENGINE_MODEL_BERT_LAYER_H_
#define ATTNSERVE_ENGINE_MODEL_BERT_LAYER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "engine/kernels/packed_linear.h"
#include "engine/model/attention_sublayer.h"
#include "engine/model/execution_plan.h"
#include "engine/model/hf_config.h"
#include "engine/run_options.h"

namespace attnserve {

// LayerNorm, or MobileBERT's NoNorm when no_norm.
struct Norm {
  int width = 0;
  bool no_norm = false;
  float eps = 1e-12f;
  const float* gain = nullptr;
  const float* bias = nullptr;
  void Apply(float* x, int64_t rows) const;  // in place
};

struct BertFfn {
  PackedLinear up, down;
  Norm norm;  // norm(down(act(up(x))) + x)
};

struct BertLayerWeights {
  int hidden = 0;  // layer input and output width
  int inner = 0;   // attention / feed-forward width (MobileBERT bottleneck)
  int num_heads = 0, head_dim = 0;
  int index = 0;  // the layer's place in the model (for fitted attention data)
  HfActivation activation = HfActivation::kGelu;
  // MobileBERT bottlenecks (absent: inner == hidden).
  bool bottleneck = false, shared_kq = false, bottleneck_attention = false;
  PackedLinear bottleneck_in, bottleneck_kq;
  Norm bottleneck_in_norm, bottleneck_kq_norm;
  // docs/LAYER_TYPES.md: which of k and v are projections (empty when not),
  // and Super's alignment over positions, alignment [l, l] and its bias [l].
  AttentionType attention_type = AttentionType::kStandard;
  const float* alignment = nullptr;
  const float* alignment_bias = nullptr;
  int alignment_size = 0;  // l: the longest sequence the layer accepts
  PackedLinear q, k, v, attn_out;
  // q | k | v (or q | k) as one projection when they read the same input:
  // one GEMM instead of two or three on short texts, where each call's fixed
  // cost weighs. Its weights are fused_storage ([out, in] rows, then bias);
  // empty when nothing was fused.
  PackedLinear fused;
  std::shared_ptr<const std::vector<float>> fused_storage;
  Norm attn_norm;
  std::vector<BertFfn> extra_ffn;  // MobileBERT's num_feedforward_networks - 1
  BertFfn ffn;
  PackedLinear out_bottleneck;  // inner -> hidden, norm(dense(x) + layer input)
  Norm out_bottleneck_norm;

  // Per token; Super's alignment adds 2 * n * inner for a sequence of n.
  int64_t AttentionSublayerFlopsPerToken() const;
  int64_t FfnSublayerFlopsPerToken() const;
  int max_width() const;
};

// The elementwise function of a Hugging Face `hidden_act`.
InPlaceActivation ActivationFunction(HfActivation act);

// Runs one layer on x [rows, hidden] (sequence b = rows [offsets[b],
// offsets[b+1])), writing y [rows', hidden], with the plan's attention kernel
// and linear precision. `pruner` (may be null) drops rows
// after the attention sublayer; *offsets then describes y's rows. Each
// sequence's first row ([CLS]) is always kept. A Super layer reads row i of
// a sequence as position i, so rows pruned by an earlier layer would shift
// its alignment: the engine refuses pruning for such models
// (ModelInfo::no_pruning_reason); a sequence longer than the alignment is
// refused here.
absl::Status RunBertLayer(const BertLayerWeights& w, const float* x, std::vector<int64_t>* offsets,
                          const ExecutionPlan& plan, const SublayerPruner* pruner, LayerScratch* s,
                          std::vector<float>* y, RunStats* stats);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_BERT_LAYER_H_
