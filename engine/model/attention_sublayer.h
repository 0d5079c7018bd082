// What every layer function shares around its attention sublayer: the
// per-sequence dispatch of the plan's attention kernel over a ragged batch,
// the pruning hook between the attention and feed-forward sublayers, and the
// scratch a run reuses across layers. RunPreNormLayerPruned
// (transformer_layer.h) and RunBertLayer (bert_layer.h) are built on it; a new
// layer function should be too.
#ifndef ATTNSERVE_ENGINE_MODEL_ATTENTION_SUBLAYER_H_
#define ATTNSERVE_ENGINE_MODEL_ATTENTION_SUBLAYER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/model/execution_plan.h"
#include "engine/run_options.h"

namespace attnserve {

// Scratch activations reused across the layers of one run (EncoderState
// keeps one). Each layer function uses the buffers it needs.
struct LayerScratch {
  std::vector<float> qkv, context, ffn, key_mass;
  std::vector<float> normed;                   // pre-norm layers
  std::vector<float> layer_input, kq, a, tmp;  // BERT-family layers

  int64_t CapacityBytes() const;
};

// Token pruning between the attention and feed-forward sublayers. `select`
// gets the attention each row received (summed over queries and heads; null
// when not asked for or the kernel does not report it), the post-attention
// rows [rows, width] and the offsets; it writes the kept rows (ascending) and
// the new offsets. Kept rows leave the layer exactly as without pruning: the
// feed-forward sublayer is per token.
struct SublayerPruner {
  bool want_key_mass = false;
  std::function<absl::Status(const float* key_mass, const float* hidden, int width,
                             const std::vector<int64_t>& offsets, std::vector<int64_t>* keep_rows,
                             std::vector<int64_t>* new_offsets)>
      select;
};

// The heads of fused projection rows: q | k | v side by side, each
// num_heads * head_dim wide, so a row is 3 * num_heads * head_dim wide.
struct FusedQkvHeads {
  int num_heads = 0, head_dim = 0;
  float scale = 1.0f;  // multiplies q·k
  int layer = 0;       // which layer of the model (AttentionInputs::layer)
  int width() const { return num_heads * head_dim; }
};

// Runs the plan's attention kernel over each sequence b of `qkv` (rows
// [offsets[b], offsets[b+1])), writing `context` [rows, heads.width()].
// When `pruner` (may be null) wants key mass and the kernel reports it, fills
// *key_mass [rows] and returns its data, the argument for pruner->select;
// otherwise returns null. Adds the attention time, pairs and FLOPs to stats.
absl::StatusOr<const float*> AttendEachSequence(const ExecutionPlan& plan,
                                                const FusedQkvHeads& heads, const float* qkv,
                                                const std::vector<int64_t>& offsets,
                                                const SublayerPruner* pruner,
                                                std::vector<float>* key_mass, float* context,
                                                RunStats* stats);

// The pruning step after the attention sublayer: asks `pruner` which rows of
// hidden [rows, width] (sequences at *offsets) stay, adds each non-empty
// sequence's first row back when `keep_first_rows` (BERT's [CLS] row), moves
// the kept rows to the front of `hidden` in order, and writes their source
// rows to *keep and the kept rows' offsets to *offsets.
absl::Status PruneRows(const SublayerPruner& pruner, const float* key_mass, float* hidden,
                       int width, bool keep_first_rows, std::vector<int64_t>* offsets,
                       std::vector<int64_t>* keep);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_ATTENTION_SUBLAYER_H_
