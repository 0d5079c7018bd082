// The in-process JSON-lines loop shared by `attnctl embed` and `attnctl
// classify`: load the model, check the options, then read input lines in
// chunks of --batch_size, run each chunk as one engine batch and print one
// output line per input line, in order (an error line for a bad one).
#ifndef ATTNSERVE_CLIENTS_ATTNCTL_LOCAL_LINES_H_
#define ATTNSERVE_CLIENTS_ATTNCTL_LOCAL_LINES_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "clients/attnctl/commands.h"
#include "engine/engine.h"

namespace attnserve {

// Runs one batch of token ids and formats one output line per text.
using RunBatchFn = std::function<absl::StatusOr<std::vector<std::string>>(
    const Engine& engine, const RunOptions& options, std::vector<std::vector<int32_t>> ids)>;
// Refuses what CheckOptions cannot see (a classify head), before any input.
using ReadyFn = std::function<absl::Status(const Engine& engine, const RunOptions& options)>;

// `command` ("attnctl embed") prefixes the messages on stderr. Returns the
// exit status: 2 for a bad flag or model, 1 if any line failed, else 0.
int RunLocalLines(std::string_view command, const EmbedCommandOptions& opts, const ReadyFn& ready,
                  const RunBatchFn& run_batch);

}  // namespace attnserve

#endif  // ATTNSERVE_CLIENTS_ATTNCTL_LOCAL_LINES_H_
