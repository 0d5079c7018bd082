// Long prose embedded under one attention configuration and compared with
// dense: what bench/kernel_quality (the quality table) and
// tools/fit_length_defaults (the calibration of length-dependent defaults)
// share. End-to-end figures: the whole encoder, the clip lifted to n tokens.
#ifndef ATTNSERVE_TOOLS_PROSE_QUALITY_H_
#define ATTNSERVE_TOOLS_PROSE_QUALITY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/engine.h"

namespace attnserve {

struct KernelConfig {
  std::string kernel;
  std::map<std::string, std::string> params;  // set explicitly; the rest default
};

struct ProseRun {
  std::vector<std::vector<float>> embeddings;  // per passage
  double seconds = 0;                          // summed over passages, best of `reps` each
  double scored = 0;                           // fraction of attention pairs scored
  int tokens = 0;                              // of the first passage
};

// Embeds each passage clipped to n tokens under `config`.
absl::StatusOr<ProseRun> EmbedProse(const Engine& engine, const std::vector<std::string>& passages,
                                    int n, int threads, const KernelConfig& config, int reps = 2);

struct CosineToDense {
  double mean = 0;
  double min = 1;
};
CosineToDense CompareWithDense(const ProseRun& run, const ProseRun& dense);

// "k=v k=v", or "defaults".
std::string ParamText(const KernelConfig& config);

// The "passages"[].text of a JSON file such as bench/data/quality_passages.json.
absl::StatusOr<std::vector<std::string>> ReadPassages(const std::string& path);

}  // namespace attnserve

#endif  // ATTNSERVE_TOOLS_PROSE_QUALITY_H_
