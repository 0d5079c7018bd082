// The JSON-lines contract of `attnctl embed`: one {"text": ...} object per
// input line, one result or {"error": ...} object per output line, in order.
#ifndef ATTNSERVE_CLIENTS_ATTNCTL_JSON_LINES_H_
#define ATTNSERVE_CLIENTS_ATTNCTL_JSON_LINES_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/run_options.h"

namespace attnserve {

// The "text" of one input line; InvalidArgument naming the problem (bad JSON,
// invalid UTF-8, not an object, no string "text").
absl::StatusOr<std::string> ParseTextLine(std::string_view line);

// {"error": "<message>"}
std::string FormatErrorLine(std::string_view message);

// {"token_ids": [...], "embedding": [...], "stats": {...}}; floats in their
// shortest round-trip form.
std::string FormatEmbedLine(const std::vector<int32_t>& token_ids, const float* embedding, int dim,
                            const TextStats& text, const RunStats& batch, int batch_size);

// {"label": ..., "scores": {label: probability}, "stats": {...}}
std::string FormatClassifyLine(const std::string& label, const std::vector<std::string>& labels,
                               const std::vector<float>& scores, const TextStats& text,
                               const RunStats& batch, int batch_size);

}  // namespace attnserve

#endif  // ATTNSERVE_CLIENTS_ATTNCTL_JSON_LINES_H_
