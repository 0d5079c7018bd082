// The layer-by-layer form of an encoder: the one way a model computes.
// EncoderModel (encoder_model.h) derives from it, and both the plain run
// (EncoderModel::Embed) and the runs whose work depends on what the layers
// compute (token pruning, early exit: engine/policy/adaptive_run) drive it.
#ifndef ATTNSERVE_ENGINE_MODEL_STEPWISE_ENCODER_H_
#define ATTNSERVE_ENGINE_MODEL_STEPWISE_ENCODER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/model/attention_sublayer.h"
#include "engine/model/execution_plan.h"
#include "engine/run_options.h"

namespace attnserve {

// A ragged batch between layers: sequence b is rows [offsets[b], offsets[b+1]).
// The plain run keeps one per thread (engine/util/thread_scratch.h), so its
// buffers outlive the run and serve the next one without allocating.
struct EncoderState {
  std::vector<float> hidden;  // [rows, width]
  std::vector<float> next;    // the layer's output buffer
  int width = 0;
  std::vector<int64_t> offsets{0};
  LayerScratch scratch;       // reused by every layer of the run
  std::vector<float> pooled;  // PoolState's output, [batch, width]

  int64_t rows() const { return offsets.back(); }
  int64_t batch() const { return static_cast<int64_t>(offsets.size()) - 1; }
  // Empties the batch, keeping the buffers' capacity.
  void Clear();
  int64_t CapacityBytes() const;
};

// Each sequence's mean row into *pooled: [batch, width].
void MeanPool(const EncoderState& state, std::vector<float>* pooled);

// The check every layer loop makes before layer `layer` of `layers`:
// Cancelled when plan.is_cancelled says so, DeadlineExceeded past
// plan.deadline ("run cancelled / deadline expired before layer k of n").
absl::Status CheckStillWanted(const ExecutionPlan& plan, int layer, int layers);

class StepwiseEncoder {
 public:
  virtual ~StepwiseEncoder() = default;

  // Sets *state to the embedded tokens of already clipped, validated id
  // sequences, reusing its buffers (whatever it held before is dropped).
  virtual absl::Status Start(const std::vector<std::vector<int32_t>>& ids,
                             EncoderState* state) const = 0;

  // Runs layer `layer` on `state` (rows may be dropped by `pruner`, may be null).
  virtual absl::Status RunLayer(int layer, const ExecutionPlan& plan, const SublayerPruner* pruner,
                                EncoderState* state, RunStats* stats) const = 0;

  // Each sequence's mean row entering `layer`, mapped into the layer's output
  // width the way its residual branch maps it: [batch, output width].
  virtual std::vector<float> PoolLayerInput(int layer, const EncoderState& state) const = 0;

  // Each sequence's pooled state into *pooled [batch, width], as EmbedPooled
  // takes it: the mean row unless the model pools otherwise (e.g. its [CLS] row).
  virtual void PoolState(const EncoderState& state, std::vector<float>* pooled) const {
    MeanPool(state, pooled);
  }

  // Embeddings [batch, embedding_dim] from pooled rows [batch, width].
  virtual void EmbedPooled(const float* pooled, int64_t batch, float* out,
                           RunStats* stats) const = 0;
};

// The plain run of `model` (no pruning, no early exit): Start, then each of
// `num_layers` layers after CheckStillWanted, then PoolState and EmbedPooled
// into `out` [ids.size(), embedding_dim]. Pushes stats->tokens_per_layer
// (entering each layer and after the last) and counts layers_run.
absl::Status EmbedStepwise(const StepwiseEncoder& model, int num_layers,
                           const std::vector<std::vector<int32_t>>& ids, const ExecutionPlan& plan,
                           float* out, RunStats* stats);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_STEPWISE_ENCODER_H_
