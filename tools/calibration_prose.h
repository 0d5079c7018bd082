// The calibration prose the offline fits share (tools/fit_length_defaults,
// tools/capture_attention for tools/fit_linformer.py): the labelled sets'
// *train* splits, never the held-out prose the results are checked on
// (bench/data/quality_passages.json).
#ifndef ATTNSERVE_TOOLS_CALIBRATION_PROSE_H_
#define ATTNSERVE_TOOLS_CALIBRATION_PROSE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

// One long passage per labelled set (yelp, amazon, imdb, spam_assassin under
// `data_dir`, tools/fetch_datasets.sh): its training texts joined until
// `chars`.
absl::StatusOr<std::vector<std::string>> CalibrationPassages(const std::string& data_dir,
                                                             size_t chars);

// The texts calibrated at n tokens: up to `windows` successive cuts of each
// passage, each long enough to hold n tokens (8 characters a token is more
// than this prose needs), starting at a word.
std::vector<std::string> WindowsAt(const std::vector<std::string>& passages, int n, int windows);

}  // namespace attnserve

#endif  // ATTNSERVE_TOOLS_CALIBRATION_PROSE_H_
