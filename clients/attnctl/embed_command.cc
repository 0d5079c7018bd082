// `attnctl embed` in-process: JSON lines in, one {"token_ids", "embedding",
// "stats"} line out per input line (clients/attnctl/local_lines.h).
#include <cstdlib>

#include "clients/attnctl/commands.h"
#include "clients/attnctl/json_lines.h"
#include "clients/attnctl/local_lines.h"

namespace attnserve {

std::string DefaultModelDir() {
  const char* env = std::getenv("ATTNSERVE_MODEL_DIR");
  return env != nullptr && *env != '\0' ? env : "models/use-lite";
}

int RunEmbedCommand(const EmbedCommandOptions& opts) {
  return RunLocalLines(
      "attnctl embed", opts, nullptr,
      [&opts](const Engine& engine, const RunOptions& options,
              std::vector<std::vector<int32_t>> ids) -> absl::StatusOr<std::vector<std::string>> {
        absl::StatusOr<EmbedResult> result = engine.EmbedTokenIds(std::move(ids), options);
        if (!result.ok()) return result.status();
        const int n = static_cast<int>(result->token_ids.size());
        std::vector<std::string> lines;
        for (int row = 0; row < n; ++row) {
          const std::vector<int32_t>& own = result->token_ids[row];
          lines.push_back(FormatEmbedLine(
              opts.with_special_tokens ? engine.WithSpecialTokens(own) : own,
              result->embedding(row), result->dim, result->stats.texts[row], result->stats, n));
        }
        return lines;
      });
}

}  // namespace attnserve
