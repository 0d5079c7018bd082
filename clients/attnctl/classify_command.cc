// `attnctl classify` in-process: the embed command's JSON-lines contract with
// the model's classification heads; output {"label", "scores", "stats"}.
#include "clients/attnctl/commands.h"
#include "clients/attnctl/json_lines.h"
#include "clients/attnctl/local_lines.h"

namespace attnserve {

int RunClassifyCommand(const EmbedCommandOptions& opts) {
  // A one-token probe refuses a missing or unknown head before any input.
  const auto head_ready = [&](const Engine& engine, const RunOptions& options) {
    return engine.ClassifyTokenIds({{1}}, opts.head, options).status();
  };
  return RunLocalLines(
      "attnctl classify", opts, head_ready,
      [&](const Engine& engine, const RunOptions& options,
          std::vector<std::vector<int32_t>> ids) -> absl::StatusOr<std::vector<std::string>> {
        absl::StatusOr<ClassifyResult> result =
            engine.ClassifyTokenIds(std::move(ids), opts.head, options);
        if (!result.ok()) return result.status();
        const int n = static_cast<int>(result->scores.size());
        std::vector<std::string> lines;
        for (int row = 0; row < n; ++row) {
          lines.push_back(FormatClassifyLine(result->labels[result->predicted[row]], result->labels,
                                             result->scores[row], result->stats.texts[row],
                                             result->stats, n));
        }
        return lines;
      });
}

}  // namespace attnserve
