// Token pruning (PoWER-BERT / LTP style): a token's importance is the
// attention it receives, averaged over heads and queries; the least important
// tokens of each sequence are dropped and later layers run on the rest.
#ifndef ATTNSERVE_ENGINE_POLICY_TOKEN_PRUNING_H_
#define ATTNSERVE_ENGINE_POLICY_TOKEN_PRUNING_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/run_options.h"

namespace attnserve {

// InvalidArgument naming the field (pruning.keep_ratio[k], ...) for values out
// of range, more entries than layers, or settings that could leave no tokens.
absl::Status ValidatePruning(const PruningOptions& options, int num_layers);

// Whether layer `layer` drops tokens under `options`.
bool PrunesAtLayer(const PruningOptions& options, int layer);

// Importance of each of a sequence's n tokens as a share of the total (sums
// to 1): the key mass when given, else by options.fallback (hidden-state L2
// norm, or uniform for keep-all). `hidden` is [n, width].
std::vector<double> TokenImportance(const PruningOptions& options, const float* key_mass,
                                    const float* hidden, int width, int64_t n);

// The tokens (ascending positions) sequence of `n` tokens keeps at `layer`
// given their importance shares.
std::vector<int64_t> SelectKeptTokens(const PruningOptions& options, int layer,
                                      const std::vector<double>& importance);

// Over a ragged batch: the kept rows (ascending) and their new offsets.
// `key_mass` [rows] may be null; `hidden` is [rows, width].
void SelectKeptRows(const PruningOptions& options, int layer, const float* key_mass,
                    const float* hidden, int width, const std::vector<int64_t>& offsets,
                    std::vector<int64_t>* keep_rows, std::vector<int64_t>* new_offsets);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_POLICY_TOKEN_PRUNING_H_
