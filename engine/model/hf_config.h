// Hugging Face model configuration of the BERT family (config.json) and the
// sentence-transformers pipeline beside it (modules.json, 1_Pooling,
// Normalize). Missing keys take the transformers library's defaults; values
// out of range are refused naming the field.
#ifndef ATTNSERVE_ENGINE_MODEL_HF_CONFIG_H_
#define ATTNSERVE_ENGINE_MODEL_HF_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

enum class HfFamily { kBert, kDistilBert, kMobileBert };
enum class HfActivation { kGelu, kGeluTanh, kRelu };

// How a layer makes its attention inputs (docs/LAYER_TYPES.md): standard
// multi-head attention, or the seed note's Optimized (no value projection),
// Efficient (no key or value projection) and Super (Optimized plus a learned
// alignment matrix over positions) attention.
enum class AttentionType { kStandard, kOptimized, kEfficient, kSuper };
const char* AttentionTypeName(AttentionType type);

struct HfConfig {
  HfFamily family = HfFamily::kBert;
  std::string model_type;  // "bert", "distilbert", "mobilebert"
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  HfActivation activation = HfActivation::kGelu;
  double layer_norm_eps = 1e-12;
  int max_position_embeddings = 0;
  int type_vocab_size = 0;          // 0: no token-type table (DistilBERT)
  std::vector<std::string> labels;  // id2label in id order; empty when absent
  // config.json "attention_type" (BERT only; absent: standard).
  AttentionType attention_type = AttentionType::kStandard;

  // MobileBERT only (the others keep these defaults, which mean "plain BERT").
  int embedding_size = 0;  // 0: hidden_size
  int intra_bottleneck_size = 0;
  int num_feedforward_networks = 1;
  bool no_norm = false;  // normalization_type "no_norm": x * weight + bias
  bool trigram_input = false;
  bool use_bottleneck = false;
  bool use_bottleneck_attention = false;
  bool key_query_shared_bottleneck = false;
  bool classifier_activation = true;

  // Width inside the attention and feed-forward blocks.
  int inner_size() const { return use_bottleneck ? intra_bottleneck_size : hidden_size; }
};

// Parses config.json text; `source` names the file in errors.
absl::StatusOr<HfConfig> ParseHfConfig(const std::string& json_text, const std::string& source);

enum class PoolingMode { kCls, kMean, kMax };
const char* PoolingModeName(PoolingMode mode);

struct SentencePipeline {
  bool present = false;  // modules.json found
  PoolingMode pooling = PoolingMode::kCls;
  bool normalize = false;
  // sentence_bert_config.json's clip in pieces, [CLS] and [SEP] included;
  // 0 when absent.
  int max_seq_length = 0;
};

// Reads `dir`/modules.json and its Pooling module's config.json when present
// (absent: present = false, CLS pooling, no normalisation). Refuses modules
// attnserve does not run (Dense, other pooling modes), naming them.
absl::StatusOr<SentencePipeline> LoadSentencePipeline(const std::string& dir, int hidden_size);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_HF_CONFIG_H_
