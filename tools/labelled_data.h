// Labelled JSON-lines data sets ({"text": ..., "label": ...} per line), as
// tools/fetch_datasets.sh writes them to data/<set>/{train,test}.jsonl.
#ifndef ATTNSERVE_TOOLS_LABELLED_DATA_H_
#define ATTNSERVE_TOOLS_LABELLED_DATA_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

struct LabelledSet {
  std::vector<std::string> texts;
  std::vector<std::string> labels;
};

// Reads `path`; errors name the file and line.
absl::StatusOr<LabelledSet> ReadLabelledJsonl(const std::string& path);

}  // namespace attnserve

#endif  // ATTNSERVE_TOOLS_LABELLED_DATA_H_
