// The Universal Sentence Encoder lite (TensorFlow.js package), computed as
// ../shared facts sheet and docs/MODEL_USE_LITE.md describe: 2·E[id] + sinusoidal
// positions, two pre-norm layers, mean pooling, tanh dense, L2 normalisation.
#ifndef ATTNSERVE_ENGINE_MODEL_USE_LITE_MODEL_H_
#define ATTNSERVE_ENGINE_MODEL_USE_LITE_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/encoder_model.h"
#include "engine/model/tfjs_weights.h"
#include "engine/model/transformer_layer.h"
#include "engine/tokenizer/unigram_tokenizer.h"

namespace attnserve {

class UseLiteModel final : public EncoderModel {
 public:
  // Loads model.json, its shards and vocab.json from `model_dir`. Every tensor
  // the encoder uses is checked by name, dtype and shape.
  static absl::StatusOr<std::unique_ptr<UseLiteModel>> Load(const std::string& model_dir);

  const ModelInfo& info() const override { return info_; }
  absl::StatusOr<std::vector<int32_t>> Tokenize(std::string_view text) const override;
  absl::Status TokenizeWithOffsets(std::string_view text, std::vector<int32_t>* ids,
                                   std::vector<ByteSpan>* offsets) const override {
    return tokenizer_->EncodeWithOffsets(text, ids, offsets);
  }
  std::string Piece(int32_t id) const override { return std::string(tokenizer_->piece(id)); }

  // The computation, layer by layer (use_lite_stepwise.cc).
  absl::Status Start(const std::vector<std::vector<int32_t>>& ids,
                     EncoderState* state) const override;
  absl::Status RunLayer(int layer, const ExecutionPlan& plan, const SublayerPruner* pruner,
                        EncoderState* state, RunStats* stats) const override;
  std::vector<float> PoolLayerInput(int layer, const EncoderState& state) const override;
  void EmbedPooled(const float* pooled, int64_t batch, float* out, RunStats* stats) const override;

 private:
  UseLiteModel(TfjsWeights weights, std::unique_ptr<UnigramTokenizer> tokenizer)
      : weights_(std::move(weights)), tokenizer_(std::move(tokenizer)) {}
  absl::Status BindWeights();

  // x[p] = 2 * E[id_p] + PE(p) for one sequence, into `x` [n, embed_dim].
  void EmbedTokens(const std::vector<int32_t>& ids, float* x) const;
  // sin | cos of position * inv_timescales_ into out[embed_dim].
  void TimingSignal(int64_t position, float* out) const;

  TfjsWeights weights_;
  std::unique_ptr<UnigramTokenizer> tokenizer_;
  ModelInfo info_;
  int embed_dim_ = 0;
  int64_t table_rows_ = 0;
  const float* embeddings_ = nullptr;  // [table_rows, embed_dim]
  std::vector<float> inv_timescales_;  // [embed_dim / 2]
  // sin | cos halves of the timing signal for the first positions, made at
  // load: computing them took 5% of a 128-token int8 request.
  std::vector<float> timing_signal_;  // [kTimingPositions, embed_dim]
  static constexpr int64_t kTimingPositions = 512;
  std::vector<PreNormLayerWeights> layers_;
  const float* pool_kernel_ = nullptr;  // [d, d], tanh after
  const float* pool_bias_ = nullptr;
  float l2_floor_ = 1e-12f;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_USE_LITE_MODEL_H_
