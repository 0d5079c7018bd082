// The layer loop of a run that prunes tokens or exits early: drives a
// StepwiseEncoder layer by layer and calls the policy hooks (token
// selection between sublayers, exit tests after each layer).
#ifndef ATTNSERVE_ENGINE_POLICY_ADAPTIVE_RUN_H_
#define ATTNSERVE_ENGINE_POLICY_ADAPTIVE_RUN_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/model/stepwise_encoder.h"
#include "engine/policy/classifier_head.h"
#include "engine/run_options.h"

namespace attnserve {

struct AdaptiveRunOutputs {
  // [texts, embedding_dim]: each text's embedding from the layer it exited at.
  float* embeddings = nullptr;
  // Classification: the head whose per-layer confidence may end a text's
  // run; `probs` receives [texts, labels] from the exit layer's head.
  const ClassifierHead* head = nullptr;
  std::vector<float>* probs = nullptr;
};

// Runs `ids` (clipped, non-empty) through at most LayerLimit(exit) layers.
// stats->texts must already hold one entry per text; their tokens_kept and
// exit_layer are filled, as are tokens_per_layer, layers_run and exit_layer.
absl::Status RunAdaptive(const StepwiseEncoder& model, int num_layers, int embedding_dim,
                         const std::vector<std::vector<int32_t>>& ids, const ExecutionPlan& plan,
                         const PruningOptions& pruning, const EarlyExitOptions& exit,
                         const AdaptiveRunOutputs& outputs, RunStats* stats);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_POLICY_ADAPTIVE_RUN_H_
