// The BERT family (BERT, DistilBERT, MobileBERT) from a Hugging Face model
// directory: config.json, model.safetensors, vocab.txt, and optionally the
// sentence-transformers pipeline (modules.json, 1_Pooling, Normalize) or a
// sequence-classification head. docs/MODELS.md says what is checked at load.
#ifndef ATTNSERVE_ENGINE_MODEL_BERT_MODEL_H_
#define ATTNSERVE_ENGINE_MODEL_BERT_MODEL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/bert_layer.h"
#include "engine/model/encoder_model.h"
#include "engine/model/hf_config.h"
#include "engine/model/safetensors.h"
#include "engine/policy/classifier_head.h"
#include "engine/tokenizer/wordpiece_tokenizer.h"

namespace attnserve {

class BertModel final : public EncoderModel {
 public:
  static absl::StatusOr<std::unique_ptr<BertModel>> Load(const std::string& model_dir);

  const ModelInfo& info() const override { return info_; }
  // Ids without [CLS]/[SEP]: the model adds them (so clipping keeps [SEP]).
  absl::StatusOr<std::vector<int32_t>> Tokenize(std::string_view text) const override;
  absl::Status TokenizeWithOffsets(std::string_view text, std::vector<int32_t>* ids,
                                   std::vector<ByteSpan>* offsets) const override {
    return tokenizer_->EncodeWithOffsets(text, ids, offsets);
  }
  std::string Piece(int32_t id) const override;
  SpecialTokens special_tokens() const override { return {{cls_id_}, {sep_id_}}; }
  const ClassifierHead* builtin_head() const override { return head_ ? &*head_ : nullptr; }

  // The computation, layer by layer (bert_stepwise.cc). States hold
  // [CLS] ids [SEP] rows.
  absl::Status Start(const std::vector<std::vector<int32_t>>& ids,
                     EncoderState* state) const override;
  absl::Status RunLayer(int layer, const ExecutionPlan& plan, const SublayerPruner* pruner,
                        EncoderState* state, RunStats* stats) const override;
  void PoolState(const EncoderState& state, std::vector<float>* pooled) const override;
  std::vector<float> PoolLayerInput(int layer, const EncoderState& state) const override;
  void EmbedPooled(const float* pooled, int64_t batch, float* out, RunStats* stats) const override;

  const HfConfig& config() const { return config_; }
  const SentencePipeline& pipeline() const { return pipeline_; }
  // How the pooled state becomes the embedding (docs/MODELS.md).
  enum class Feature { kPooled, kPoolerTanh, kPreClassifierRelu };
  Feature feature() const { return feature_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }

 private:
  BertModel(HfConfig config, SafetensorsFile weights)
      : config_(std::move(config)), weights_(std::move(weights)) {}
  absl::Status BindWeights(const std::string& prefix);
  absl::Status LoadVocabulary(const std::string& dir);
  absl::Status BindHead(const std::string& prefix);
  // Embedded rows of [CLS] ids [SEP] into x [n + 2, hidden].
  void EmbedTokens(const std::vector<int32_t>& ids, float* x) const;

  HfConfig config_;
  SafetensorsFile weights_;
  SentencePipeline pipeline_;
  ModelInfo info_;
  std::optional<WordPieceTokenizer> tokenizer_;
  int32_t cls_id_ = -1, sep_id_ = -1;

  const float* word_ = nullptr;        // [vocab, embedding_size]
  const float* position_ = nullptr;    // [max_position_embeddings, hidden]
  const float* token_type_ = nullptr;  // [type_vocab_size, hidden] or null
  // These two run outside the layers and stay f32 whatever the plan's linear
  // precision: the embedding transformation is one dense against the layers'
  // dozens, the feature dense sees one row per text (and neither Start nor
  // EmbedPooled is given a plan).
  PackedLinear embedding_transform_;  // MobileBERT: 3E or E -> H; empty: none
  Norm embedding_norm_;
  std::vector<BertLayerWeights> layers_;

  Feature feature_ = Feature::kPooled;
  PackedLinear feature_dense_;  // pooler or pre_classifier (f32, see above)
  std::optional<ClassifierHead> head_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_BERT_MODEL_H_
