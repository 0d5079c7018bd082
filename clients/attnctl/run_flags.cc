#include "clients/attnctl/run_flags.h"

#include "absl/strings/str_cat.h"
#include "engine/util/status_macros.h"

namespace attnserve {
namespace {

constexpr const char* kAdaptiveFlags[] = {
    "--keep-ratio",     "--prune-threshold", "--prune-min-tokens", "--prune-keep-first",
    "--prune-fallback", "--exit-max-layers", "--exit-cosine",      "--exit-confidence",
    "--exit-entropy",   "--prune-mode",      "--exit-mode",        "--max-latency-ms",
    "--min-retention"};

}  // namespace

void AddAdaptiveFlags(CLI::App* cmd, EmbedCommandOptions* o, bool with_heads) {
  const char* group = "Token pruning and early exit";
  cmd->add_option("--keep-ratio", o->keep_ratio,
                  "Token pruning: share of each text's tokens kept by layer k (k-th value, in "
                  "(0, 1]; pruning runs after layer k's attention, keeping the tokens that "
                  "received the most attention, averaged over heads and queries). E.g. "
                  "--keep-ratio 0.5 keeps half after layer 0")
      ->delimiter(',')
      ->group(group);
  cmd->add_option("--prune-threshold", o->prune_threshold,
                  "Token pruning: per layer, keep tokens receiving at least this multiple of "
                  "the uniform attention share 1/n, in [0, 100]; 0 = off")
      ->delimiter(',')
      ->group(group);
  cmd->add_option("--prune-min-tokens", o->prune_min_tokens,
                  "Token pruning: never fewer tokens per text than this (>= 1)")
      ->group(group);
  cmd->add_option("--prune-keep-first", o->prune_keep_first,
                  "Token pruning: leading tokens never dropped (default 1: the first token)")
      ->group(group);
  cmd->add_option("--prune-fallback", o->prune_fallback,
                  "Token pruning with a kernel that reports no attention mass (nystrom): "
                  "hidden_norm (rank tokens by the L2 norm of their state) or keep_all")
      ->check(CLI::IsMember({"hidden_norm", "keep_all"}))
      ->group(group);
  cmd->add_option("--exit-max-layers", o->exit_max_layers,
                  "Early exit: run at most this many layers (USE-lite has 2; 1 = exit after the "
                  "first); 0 = all")
      ->check(CLI::NonNegativeNumber)
      ->group(group);
  cmd->add_option("--exit-cosine", o->exit_cosine,
                  "Early exit (embed): stop a text once the cosine between its pooled state "
                  "entering and leaving a layer is at least this, in [0, 1]; 0 = off")
      ->group(group);
  if (with_heads) {
    cmd->add_option("--exit-confidence", o->exit_confidence,
                    "Early exit: stop a text at the first layer whose head gives its top label "
                    "at least this probability, in [0, 1]; 0 = off")
        ->group(group);
    cmd->add_option("--exit-entropy", o->exit_entropy,
                    "Early exit: stop a text once its head's entropy (nats) is at most this; "
                    "negative = off")
        ->group(group);
  }
  const char* auto_group = "Auto policy (docs/AUTO_POLICY.md)";
  cmd->add_option("--prune-mode", o->prune_mode,
                  "auto: the auto policy picks the pruning from the model's calibration table "
                  "(tools/calibrate) to meet the budget; with --attention auto it picks the "
                  "kernel too")
      ->check(CLI::IsMember({"", "auto"}))
      ->group(auto_group);
  cmd->add_option("--exit-mode", o->exit_mode, "auto: the auto policy picks the early exit")
      ->check(CLI::IsMember({"", "auto"}))
      ->group(auto_group);
  cmd->add_option("--max-latency-ms", o->max_latency_ms,
                  "Budget: predicted compute latency of each request (ms); the best quality "
                  "that fits is chosen. 0 = none")
      ->group(auto_group);
  cmd->add_option("--min-retention", o->min_retention,
                  "Budget: quality floor in [0, 1] (accuracy retention for classify, cosine to "
                  "dense for embed); the cheapest configuration meeting it is chosen. Without "
                  "any budget the floor is 0.99")
      ->group(auto_group);
  if (with_heads) {
    cmd->add_option("--head", o->head,
                    "Classification head (a <model>/heads/<name>.json); default: the only one");
  }
}

bool AdaptiveFlagsGiven(const CLI::App& cmd) {
  for (const char* flag : kAdaptiveFlags) {
    try {
      if (cmd.count(flag) > 0) return true;
    } catch (const CLI::OptionNotFound&) {
      // embed has no confidence flags
    }
  }
  return false;
}

absl::StatusOr<RunOptions> CommandRunOptions(const EmbedCommandOptions& o) {
  RunOptions options;
  SetAttention(o.attention, &options);
  for (const std::string& pair : o.attention_params) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--attention-param '", pair, "': expected key=value"));
    }
    options.attention_params[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  options.max_tokens = o.max_tokens;
  options.num_threads = o.threads;
  if (!o.linear_precision.empty()) {
    RETURN_IF_ERROR(SetLinearPrecision("--linear-precision", o.linear_precision, &options));
  }
  options.pruning.keep_ratio = o.keep_ratio;
  options.pruning.importance_threshold = o.prune_threshold;
  options.pruning.min_tokens = o.prune_min_tokens;
  options.pruning.keep_first = o.prune_keep_first;
  RETURN_IF_ERROR(SetPruningFallback("--prune-fallback", o.prune_fallback, &options.pruning));
  options.early_exit.max_layers = o.exit_max_layers;
  options.early_exit.embed_cosine = o.exit_cosine;
  options.early_exit.min_confidence = o.exit_confidence;
  options.early_exit.max_entropy = o.exit_entropy;
  RETURN_IF_ERROR(SetAutoMode("--prune-mode", o.prune_mode, &options.auto_select.pruning));
  RETURN_IF_ERROR(SetAutoMode("--exit-mode", o.exit_mode, &options.auto_select.early_exit));
  options.auto_select.max_latency_ms = o.max_latency_ms;
  options.auto_select.min_retention = o.min_retention;
  return options;
}

}  // namespace attnserve
