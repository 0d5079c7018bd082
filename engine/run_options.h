// What a caller asks of one engine run, and what the engine reports back.
#ifndef ATTNSERVE_ENGINE_RUN_OPTIONS_H_
#define ATTNSERVE_ENGINE_RUN_OPTIONS_H_

#include <functional>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace attnserve {

// Per-request execution options. The server's policy store produces the
// default; a request may override the fields the policy allows.
struct RunOptions {
  // Attention kernel of every layer, by catalogue name, and its parameters
  // (name -> decimal text, validated against the kernel's schema).
  std::string attention = "dense";
  std::map<std::string, std::string> attention_params;
  // Tokens kept per text; 0 = the model's own clip (128 for USE-lite). A value
  // above the model's clip lifts it, up to EngineConfig::max_tokens_limit.
  int max_tokens = 0;
  // Compute threads for this run (OpenMP); 0 = the engine's default.
  int num_threads = 0;
  // Checked between layers: an expired deadline or is_cancelled() returning
  // true stops the run (an abandoned request stops using CPU).
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> is_cancelled;
};

// Per-text figures.
struct TextStats {
  int tokens_in = 0;    // tokenizer output length, before the clip
  int tokens_used = 0;  // tokens the encoder ran on
};

// What one run did. Times are wall-clock seconds of the calling thread.
struct RunStats {
  std::string attention_kernel;
  std::string gemm_backend;
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
  // Tokens alive (summed over texts) entering each layer and after the last.
  std::vector<int64_t> tokens_per_layer;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_RUN_OPTIONS_H_
