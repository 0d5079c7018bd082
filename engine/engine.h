// The engine's public C++ API: load a model, tokenize, embed with per-request
// execution options. Pure library: no gRPC, no Prometheus. Thread-safe.
#ifndef ATTNSERVE_ENGINE_ENGINE_H_
#define ATTNSERVE_ENGINE_ENGINE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/attention/fitted_pooling.h"
#include "engine/model/encoder_model.h"
#include "engine/policy/auto_policy.h"
#include "engine/policy/classifier_head.h"
#include "engine/run_options.h"

namespace attnserve {

struct EngineConfig {
  std::string model_dir = "models/use-lite";
  // Compute threads of a run that does not ask for a number; 0 = the CPUs
  // this process may use (online, affinity mask and cgroup quota:
  // engine/util/cpu_budget.h), read when the engine loads.
  int default_threads = 0;
  // Largest max_tokens a request may ask for (bounds memory: dense attention
  // holds n^2 floats per head in flight).
  int max_tokens_limit = 8192;
  // Largest number of texts in one call.
  int max_batch_texts = 1024;
  // Classification heads (*.json, tools/train_heads); "" = <model_dir>/heads.
  std::string heads_dir;
  // The auto policy's cost and quality table (tools/calibrate); "" =
  // <model_dir>/calibration.json. Absent: requests for "auto" are refused.
  std::string calibration_file;
  // Bound on the memory one run may need (activations, attention scratch),
  // estimated before anything is allocated; a larger request is
  // ResourceExhausted naming the estimate and the bound. 0 = no bound.
  int64_t max_request_bytes = int64_t{2} << 30;
  // Dense-layer precisions besides f32 the server warms at load
  // (server/model_manager.cc).
  std::vector<LinearPrecision> warm_linear_precisions;
};

struct EmbedResult {
  int dim = 0;
  std::vector<std::vector<int32_t>> token_ids;  // tokenizer output, unclipped
  std::vector<float> embeddings;                // [texts, dim], unit L2 norm
  RunStats stats;

  const float* embedding(size_t i) const { return embeddings.data() + i * dim; }
};

struct ClassifyResult {
  std::string head;
  std::vector<std::string> labels;              // the head's labels, in order
  std::vector<int> predicted;                   // per text: index into labels
  std::vector<std::vector<float>> scores;       // per text: probability per label
  std::vector<std::vector<int32_t>> token_ids;  // tokenizer output, unclipped
  RunStats stats;
};

// Copies what the auto policy chose into `stats` (nothing when it did not run).
void ReportAutoChoice(const AutoChoice& choice, RunStats* stats);

class Engine {
 public:
  // Loads the model in config.model_dir (family detected from its files).
  static absl::StatusOr<std::unique_ptr<Engine>> Load(const EngineConfig& config);

  const ModelInfo& model_info() const { return model_->info(); }
  const EngineConfig& config() const { return config_; }

  // Token ids of `text`; InvalidArgument for invalid UTF-8 (naming the byte).
  absl::StatusOr<std::vector<int32_t>> Tokenize(std::string_view text) const;

  // Tokenize's ids and the bytes of `text` each stands for (offsets[i]).
  absl::Status TokenizeWithOffsets(std::string_view text, std::vector<int32_t>* ids,
                                   std::vector<ByteSpan>* offsets) const {
    return model_->TokenizeWithOffsets(text, ids, offsets);
  }

  // Token ids of each text; an error names texts[i]. With `reject_over` > 0,
  // a text of more tokens than that is InvalidArgument, the message ending
  // with `why` (e.g. which policy or request field asked for the refusal).
  absl::StatusOr<std::vector<std::vector<int32_t>>> TokenizeBatch(
      absl::Span<const std::string_view> texts, int reject_over = 0,
      absl::string_view why = "") const;

  // `ids` (as Tokenize returns them) framed as the model sees them: with the
  // special tokens the model adds itself ([CLS] ... [SEP] for BERT), and the
  // number of those added in front.
  std::vector<int32_t> WithSpecialTokens(const std::vector<int32_t>& ids,
                                         int* leading = nullptr) const;

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

  // Upper estimate of the bytes a run over sequences of these (clipped)
  // lengths needs with `threads` threads and `kernel`: activations (tokens x
  // the widest row x 4 buffers x 4 bytes) plus attention scratch per head in
  // flight (n^2 floats for quadratic kernels, n x width floats otherwise).
  int64_t EstimateRunBytes(const std::vector<int64_t>& lengths, int threads,
                           const AttentionKernel& kernel) const;

  // Same, for texts already tokenized by Tokenize (token_ids unclipped).
  absl::StatusOr<EmbedResult> EmbedTokenIds(std::vector<std::vector<int32_t>> token_ids,
                                            const RunOptions& options) const;

  // Classifies `texts` with the head named `head` ("" = the only head; an
  // error lists the names when there are several). NotFound names the head;
  // FailedPrecondition when the model has no heads. Early exit stops each
  // text at the first layer whose head meets options.early_exit
  // (engine_classify.cc).
  absl::StatusOr<ClassifyResult> Classify(const std::vector<std::string>& texts,
                                          const std::string& head, const RunOptions& options) const;
  absl::StatusOr<ClassifyResult> ClassifyTokenIds(std::vector<std::vector<int32_t>> token_ids,
                                                  const std::string& head,
                                                  const RunOptions& options) const;

  // The auto policy's table, or null when none was loaded.
  const CalibrationTable* calibration() const { return calibration_ ? &*calibration_ : nullptr; }

  // Names of the loaded classification heads.
  std::vector<std::string> HeadNames() const;
  const std::map<std::string, ClassifierHead>& heads() const { return heads_; }

 private:
  struct ResolvedRun {
    ExecutionPlan plan;
    int max_tokens = 0;
    int threads = 0;
  };
  absl::StatusOr<ResolvedRun> Resolve(const RunOptions& options) const;
  absl::Status LoadCalibration(const std::string& path);
  absl::Status RequireCalibration() const;
  // InvalidArgument when `pruning` is active and the model cannot prune.
  absl::Status CheckPruningSupported(const PruningOptions& pruning) const;
  // Compute threads of a run asking for `requested` (0 = the engine default,
  // itself 0 = all cores).
  int ThreadsFor(int requested) const;
  // `options` with attention "auto" marked as auto, its budget checked, and
  // the calibration table required when anything is auto.
  absl::StatusOr<RunOptions> AutoRequest(const RunOptions& options) const;
  // `options` with the auto policy's choice applied (unchanged when nothing
  // is auto); `choice->entry` stays null then.
  absl::StatusOr<RunOptions> ApplyAutoPolicy(const RunOptions& options,
                                             const std::vector<std::vector<int32_t>>& token_ids,
                                             bool classify, AutoChoice* choice) const;
  absl::StatusOr<EmbedResult> EmbedChosen(std::vector<std::vector<int32_t>> token_ids,
                                          const RunOptions& options) const;
  absl::StatusOr<ClassifyResult> ClassifyChosen(std::vector<std::vector<int32_t>> token_ids,
                                                const std::string& head,
                                                const RunOptions& options) const;
  // Clips token_ids into `clipped` and fills stats.texts (and the run header).
  absl::Status ClipTexts(const std::vector<std::vector<int32_t>>& token_ids, const ResolvedRun& run,
                         std::vector<std::vector<int32_t>>* clipped, RunStats* stats) const;

  Engine(EngineConfig config, std::unique_ptr<EncoderModel> model)
      : config_(std::move(config)), model_(std::move(model)) {}

  EngineConfig config_;
  std::unique_ptr<EncoderModel> model_;
  std::map<std::string, ClassifierHead> heads_;
  std::optional<CalibrationTable> calibration_;
  std::unique_ptr<FittedPooling> fitted_pooling_;  // <model_dir>/linformer_fit.json, or null
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ENGINE_H_
