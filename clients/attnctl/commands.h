// attnctl subcommands that run the engine in-process.
#ifndef ATTNSERVE_CLIENTS_ATTNCTL_COMMANDS_H_
#define ATTNSERVE_CLIENTS_ATTNCTL_COMMANDS_H_

#include <string>
#include <vector>

namespace attnserve {

struct EmbedCommandOptions {
  std::string model_dir;
  std::string input_file;  // empty = stdin
  int max_tokens = 0;
  std::string attention = "dense";
  bool attention_given = false;               // remote: send attention only when asked
  std::vector<std::string> attention_params;  // "key=value"
  int threads = 0;
  int batch_size = 32;
  bool with_special_tokens = false;  // embed: token_ids framed as the model runs them
  std::string linear_precision;      // "" = f32 in-process, the policy's remotely
  // Token pruning and early exit (run_flags.cc documents the flags).
  std::vector<double> keep_ratio;
  std::vector<double> prune_threshold;
  int prune_min_tokens = 1;
  int prune_keep_first = 1;
  std::string prune_fallback = "hidden_norm";
  int exit_max_layers = 0;
  double exit_cosine = 0;
  double exit_confidence = 0;
  double exit_entropy = -1;
  // The auto policy: "auto" lets it pick pruning / exit (--attention auto the
  // kernel) to meet the budget (0 = none).
  std::string prune_mode;
  std::string exit_mode;
  double max_latency_ms = 0;
  double min_retention = 0;
  bool adaptive_given = false;  // remote: send pruning / early_exit only when asked
  std::string head;             // classify: head name ("" = the only one)
};

// Reads JSON lines, writes one result line per input line; returns the exit
// status (0 only if every line succeeded).
int RunEmbedCommand(const EmbedCommandOptions& options);

// Classifies JSON lines with the model's heads, one result line per input
// line: {"label", "scores", "stats"} or {"error"}; returns the exit status.
int RunClassifyCommand(const EmbedCommandOptions& options);

// Prints the attention catalogue; returns the exit status.
int RunKernelsCommand(bool as_json);

// The model directory used when --model is not given: $ATTNSERVE_MODEL_DIR,
// else models/use-lite.
std::string DefaultModelDir();

}  // namespace attnserve

#endif  // ATTNSERVE_CLIENTS_ATTNCTL_COMMANDS_H_
