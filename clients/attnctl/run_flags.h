// The pruning and early-exit flags of `attnctl embed` and `attnctl classify`.
#ifndef ATTNSERVE_CLIENTS_ATTNCTL_RUN_FLAGS_H_
#define ATTNSERVE_CLIENTS_ATTNCTL_RUN_FLAGS_H_

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "clients/attnctl/commands.h"
#include "engine/run_options.h"

namespace attnserve {

// Adds --keep-ratio, --prune-threshold, --prune-min-tokens,
// --prune-keep-first, --prune-fallback, --exit-max-layers, --exit-cosine,
// and for classify (with_heads) --exit-confidence, --exit-entropy, --head.
void AddAdaptiveFlags(CLI::App* cmd, EmbedCommandOptions* options, bool with_heads);

// True if any of those flags was given on the command line.
bool AdaptiveFlagsGiven(const CLI::App& cmd);

// The engine options the command line asks for (attention, clip, threads,
// pruning, early exit). InvalidArgument for malformed flags.
absl::StatusOr<RunOptions> CommandRunOptions(const EmbedCommandOptions& options);

}  // namespace attnserve

#endif  // ATTNSERVE_CLIENTS_ATTNCTL_RUN_FLAGS_H_
