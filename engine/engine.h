// The engine's public C++ API: load a model, tokenize, embed with per-request
// execution options. Pure library: no gRPC, no Prometheus. Thread-safe.
#ifndef ATTNSERVE_ENGINE_ENGINE_H_
#define ATTNSERVE_ENGINE_ENGINE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/encoder_model.h"
#include "engine/run_options.h"

namespace attnserve {

struct EngineConfig {
  std::string model_dir = "models/use-lite";
  // Compute threads of a run that does not ask for a number; 0 = all cores.
  int default_threads = 0;
  // Largest max_tokens a request may ask for (bounds memory: dense attention
  // holds n^2 floats per head in flight).
  int max_tokens_limit = 8192;
  // Largest number of texts in one call.
  int max_batch_texts = 1024;
};

struct EmbedResult {
  int dim = 0;
  std::vector<std::vector<int32_t>> token_ids;  // tokenizer output, unclipped
  std::vector<float> embeddings;                // [texts, dim], unit L2 norm
  RunStats stats;

  const float* embedding(size_t i) const { return embeddings.data() + i * dim; }
};

class Engine {
 public:
  // Loads the model in config.model_dir (family detected from its files).
  static absl::StatusOr<std::unique_ptr<Engine>> Load(const EngineConfig& config);

  const ModelInfo& model_info() const { return model_->info(); }
  const EngineConfig& config() const { return config_; }

  // Token ids of `text`; InvalidArgument for invalid UTF-8 (naming the byte).
  absl::StatusOr<std::vector<int32_t>> Tokenize(std::string_view text) const;

  // The vocabulary piece of a token id ("" when out of range).
  std::string Piece(int32_t id) const { return model_->Piece(id); }

  // Embeds `texts` in one batch. Errors name the field: texts[i] for a text
  // with no tokens or invalid UTF-8, max_tokens, num_threads, attention and
  // its parameters; DeadlineExceeded / Cancelled when options say stop.
  absl::StatusOr<EmbedResult> Embed(const std::vector<std::string>& texts,
                                    const RunOptions& options) const;

  // OK if `options` would be accepted (kernel, parameters, max_tokens,
  // num_threads), so callers can fail fast before reading input.
  absl::Status CheckOptions(const RunOptions& options) const;

  // Same, for texts already tokenized by Tokenize (token_ids unclipped).
  absl::StatusOr<EmbedResult> EmbedTokenIds(
      std::vector<std::vector<int32_t>> token_ids, const RunOptions& options) const;

 private:
  struct ResolvedRun {
    ExecutionPlan plan;
    int max_tokens = 0;
    int threads = 0;
  };
  absl::StatusOr<ResolvedRun> Resolve(const RunOptions& options) const;

  Engine(EngineConfig config, std::unique_ptr<EncoderModel> model)
      : config_(std::move(config)), model_(std::move(model)) {}

  EngineConfig config_;
  std::unique_ptr<EncoderModel> model_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ENGINE_H_
