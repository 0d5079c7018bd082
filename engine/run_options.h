// What a caller asks of one engine run, and what the engine reports back.
#ifndef ATTNSERVE_ENGINE_RUN_OPTIONS_H_
#define ATTNSERVE_ENGINE_RUN_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/kernels/linear_precision.h"

namespace attnserve {

// Token pruning (engine/policy/token_pruning.h). Layer k's pruning runs
// between its attention and feed-forward sublayers (PoWER-BERT's place): the
// kept tokens come out of layer k exactly as with pruning after the layer, and
// the dropped ones skip its feed-forward work too.
struct PruningOptions {
  // How importance is measured when the attention kernel does not report the
  // attention each key receives (KernelInfo::reports_key_mass = false).
  enum class Fallback { kHiddenNorm, kKeepAll };

  // keep_ratio[k]: share of each sequence's tokens kept by layer k, in (0, 1];
  // layers past the end keep all. Rounded up.
  std::vector<double> keep_ratio;
  // importance_threshold[k]: keep the tokens whose importance is at least this
  // multiple of the uniform share 1/n, in [0, 100]; 0 = off. With keep_ratio
  // at the same layer, the stricter of the two applies.
  std::vector<double> importance_threshold;
  // Never fewer tokens per sequence than this (>= 1), nor than it has.
  int min_tokens = 1;
  // The first `keep_first` tokens of each sequence are never dropped.
  int keep_first = 1;
  Fallback fallback = Fallback::kHiddenNorm;

  bool active() const { return !keep_ratio.empty() || !importance_threshold.empty(); }
};

// Early exit (engine/policy/early_exit.h). A text that exits after layer k
// is pooled from layer k's output; the others run on.
struct EarlyExitOptions {
  // Run at most this many layers, in [0, num_layers]; 0 = all.
  int max_layers = 0;
  // Embeddings: exit once the cosine between the pooled state entering and
  // leaving a layer is at least this, in [0, 1]; 0 = off.
  double embed_cosine = 0;
  // Classification: exit at the first layer whose head gives its top label at
  // least this probability, in [0, 1]; 0 = off.
  double min_confidence = 0;
  // Classification: exit once the head's entropy (nats) is at most this;
  // negative = off.
  double max_entropy = -1;

  bool active() const {
    return max_layers != 0 || embed_cosine != 0 || min_confidence != 0 || max_entropy >= 0;
  }
};

// The auto policy (engine/policy/auto_policy.h): which settings the engine
// picks from the calibration table, and the request's budget.
struct AutoOptions {
  static constexpr double kDefaultMinRetention = 0.99;
  bool attention = false;         // attention "auto" at the edge
  bool linear_precision = false;  // linear_precision "auto" at the edge
  bool pruning = false;
  bool early_exit = false;
  // Budget; 0 = none. Latency of the whole request (ms, compute);
  // quality as accuracy retention (Classify) or cosine to dense (Embed).
  double max_latency_ms = 0;
  double min_retention = 0;

  bool active() const { return attention || linear_precision || pruning || early_exit; }
};

// Per-request execution options. The server's policy store produces the
// default; a request may override the fields the policy allows.
struct RunOptions {
  // Attention kernel of every layer, by catalogue name, and its parameters
  // (name -> decimal text, validated against the kernel's schema). With
  // auto_select.attention the auto policy picks instead.
  std::string attention = "dense";
  std::map<std::string, std::string> attention_params;
  // Arithmetic of the dense layers (QKV, output, feed-forward, projections):
  // the checkpoint's f32 weights, int8 (dynamic quantisation) or bf16
  // (engine/kernels/packed_linear.h). With auto_select.linear_precision the
  // auto policy picks instead.
  LinearPrecision linear_precision = LinearPrecision::kF32;
  // Tokens kept per text; 0 = the model's own clip (128 for USE-lite). A value
  // above the model's clip lifts it, up to EngineConfig::max_tokens_limit.
  int max_tokens = 0;
  // Compute threads for this run (OpenMP); 0 = the engine's default.
  int num_threads = 0;
  // Checked between layers: an expired deadline or is_cancelled() returning
  // true stops the run (an abandoned request stops using CPU).
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> is_cancelled;
  PruningOptions pruning;
  EarlyExitOptions early_exit;
  AutoOptions auto_select;
};

// The options' names, parsed in one place for every edge (gRPC and HTTP
// requests, the policy, calibration.json, the tools' flags); the engine only
// sees the typed values. "auto" sets the matching AutoOptions flag.

// "" or "auto" for the pruning / early-exit mode; anything else is refused.
absl::Status SetAutoMode(std::string_view field, std::string_view mode, bool* auto_flag);
// attention kernel name, "" (dense) or "auto".
void SetAttention(std::string_view kernel, RunOptions* options);
// "f32", "int8", "bf16" or "auto"; the error names `field`.
absl::Status SetLinearPrecision(std::string_view field, std::string_view name, RunOptions* options);
// "hidden_norm" (or ""), "keep_all"; the error names `field`.
absl::Status SetPruningFallback(std::string_view field, std::string_view name,
                                PruningOptions* pruning);
std::string_view PruningFallbackName(PruningOptions::Fallback fallback);

// Per-text figures.
struct TextStats {
  int tokens_in = 0;    // tokenizer output length, before the clip
  int tokens_used = 0;  // tokens the encoder ran on
  int tokens_kept = 0;  // tokens pooled (after pruning); 0 if not reported
  int exit_layer = 0;   // layers this text ran through (1-based; 0 if not reported)
};

// What one run did. Times are wall-clock seconds of the calling thread.
struct RunStats {
  std::string attention_kernel;
  std::string gemm_backend;
  std::string linear_precision;
  int num_threads = 0;
  int max_tokens = 0;
  std::vector<TextStats> texts;
  double tokenize_seconds = 0;
  double compute_seconds = 0;    // encoder forward pass, attention included
  double attention_seconds = 0;  // inside attention kernels
  double cpu_seconds = 0;        // CPU time of the run's threads (all of them)
  int64_t flops = 0;             // multiply-add = 2, linear layers + attention
  int64_t attention_pairs_scored = 0;
  int64_t attention_pairs_total = 0;
  int layers_run = 0;
  // Tokens alive (summed over texts) entering each layer and after the last;
  // with pruning, entry k + 1 is the tokens kept after layer k (texts that
  // exited early no longer count).
  std::vector<int64_t> tokens_per_layer;
  // Layers run by the deepest text (1-based; = layers_run). With early exit
  // each text's own figure is in texts[i].exit_layer.
  int exit_layer = 0;
  // What the auto policy chose (empty auto_config when it did not run).
  std::string auto_config;
  bool budget_met = true;
  std::string budget_note;
  double predicted_latency_ms = 0;
  double predicted_quality = 0;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_RUN_OPTIONS_H_
