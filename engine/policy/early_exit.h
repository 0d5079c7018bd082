// Early-exit decisions: when a text may stop before the last layer.
#ifndef ATTNSERVE_ENGINE_POLICY_EARLY_EXIT_H_
#define ATTNSERVE_ENGINE_POLICY_EARLY_EXIT_H_

#include "absl/status/status.h"
#include "engine/run_options.h"

namespace attnserve {

// InvalidArgument naming the field (early_exit.max_layers, ...) for values out
// of range, and for confidence settings when the model has no heads.
absl::Status ValidateEarlyExit(const EarlyExitOptions& options, int num_layers, bool has_heads);

// Layers a run goes through at most.
int LayerLimit(const EarlyExitOptions& options, int num_layers);

// Cosine of two vectors (1 when both are zero).
double Cosine(const float* a, const float* b, int n);

// Entropy in nats of a probability vector.
double Entropy(const float* probs, int n);

// Whether a head's probabilities meet the request's confidence settings.
bool HeadConfident(const EarlyExitOptions& options, const float* probs, int n);

// Whether the classification settings ask for confidence-based exits.
inline bool UsesConfidence(const EarlyExitOptions& o) {
  return o.min_confidence > 0 || o.max_entropy >= 0;
}

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_POLICY_EARLY_EXIT_H_
