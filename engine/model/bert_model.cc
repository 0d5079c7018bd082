#include "engine/model/bert_model.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

// Looks tensors up under one name prefix ("bert.", "distilbert.", ...).
class Binder {
 public:
  Binder(const SafetensorsFile& w, std::string prefix) : w_(w), prefix_(std::move(prefix)) {}

  absl::StatusOr<const float*> Get(const std::string& name, std::vector<int64_t> shape) const {
    return w_.Float32(prefix_ + name, shape);
  }
  bool Has(const std::string& name) const { return w_.Has(prefix_ + name); }
  std::string Name(const std::string& name) const { return prefix_ + name; }
  // A torch.nn.Linear: weight [out, in], bias [out].
  absl::StatusOr<PackedLinear> Linear(const std::string& name, int in, int out) const {
    ASSIGN_OR_RETURN(const float* weight, Get(name + ".weight", {out, in}));
    ASSIGN_OR_RETURN(const float* bias, Get(name + ".bias", {out}));
    return PackedLinear(weight, bias, in, out, PackedLinear::Layout::kOutputMajor);
  }
  // Older checkpoints name a LayerNorm's parameters gamma/beta.
  absl::StatusOr<Norm> LayerNorm(const std::string& name, int width, bool no_norm,
                                 double eps) const {
    Norm n;
    n.width = width;
    n.no_norm = no_norm;
    n.eps = static_cast<float>(eps);
    const bool old = !w_.Has(prefix_ + name + ".weight") && w_.Has(prefix_ + name + ".gamma");
    ASSIGN_OR_RETURN(n.gain, Get(name + (old ? ".gamma" : ".weight"), {width}));
    ASSIGN_OR_RETURN(n.bias, Get(name + (old ? ".beta" : ".bias"), {width}));
    return n;
  }

 private:
  const SafetensorsFile& w_;
  std::string prefix_;
};

// Makes l->fused from the projections that read the same input: q | k, and
// v too unless MobileBERT's shared key/query bottleneck feeds q and k but not
// v. A fused row computes what the separate ones do (int8 scales are per
// output channel, activations per token either way).
void FuseProjections(BertLayerWeights* l) {
  const bool v_shares_input = !(l->bottleneck && l->shared_kq && !l->bottleneck_attention);
  std::vector<const PackedLinear*> parts = {&l->q};
  if (!l->k.empty()) parts.push_back(&l->k);
  if (!l->v.empty() && v_shares_input && parts.size() == 2) parts.push_back(&l->v);
  if (parts.size() < 2) return;
  const int in = l->q.in(), width = l->q.out();
  auto storage = std::make_shared<std::vector<float>>();
  storage->reserve(parts.size() * int64_t{width} * (in + 1));
  for (const PackedLinear* part : parts) {
    storage->insert(storage->end(), part->weight(), part->weight() + int64_t{width} * in);
  }
  for (const PackedLinear* part : parts) {
    storage->insert(storage->end(), part->bias(), part->bias() + width);
  }
  const int out = static_cast<int>(parts.size()) * width;
  l->fused = PackedLinear(storage->data(), storage->data() + int64_t{out} * in, in, out,
                          PackedLinear::Layout::kOutputMajor);
  l->fused_storage = std::move(storage);
}

// The query, key and value projections a layer's attention type has, and
// Super's alignment (docs/LAYER_TYPES.md). A tensor the type does not use is
// refused: a mislabelled attention_type would otherwise compute something else.
absl::Status BindAttentionInputs(const Binder& b, const std::string& p, int qk_in, int v_in,
                                 BertLayerWeights* l) {
  const AttentionType type = l->attention_type;
  const int I = l->inner;
  const bool has_key = type != AttentionType::kEfficient;
  const bool has_value = type == AttentionType::kStandard;
  const bool has_alignment = type == AttentionType::kSuper;
  ASSIGN_OR_RETURN(l->q, b.Linear(p + "query", qk_in, I));
  if (has_key) {
    ASSIGN_OR_RETURN(l->k, b.Linear(p + "key", qk_in, I));
  }
  if (has_value) {
    ASSIGN_OR_RETURN(l->v, b.Linear(p + "value", v_in, I));
  }
  if (has_alignment) {
    ASSIGN_OR_RETURN(l->alignment,
                     b.Get(p + "alignment.weight", {l->alignment_size, l->alignment_size}));
    ASSIGN_OR_RETURN(l->alignment_bias, b.Get(p + "alignment.bias", {l->alignment_size}));
  }
  for (const auto& [name, used] : {std::pair<std::string, bool>{"key", has_key},
                                   {"value", has_value},
                                   {"alignment", has_alignment}}) {
    if (!used && (b.Has(p + name + ".weight") || b.Has(p + name + ".bias"))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", b.Name(p + name + ".weight"), "' is not used by attention_type '",
          AttentionTypeName(type), "' (config.json): is the type right?"));
    }
  }
  // Keys or values copied from the input need its width to be the heads'
  // width: ParseHfConfig takes attention_type for plain BERT only (no
  // MobileBERT bottleneck), where both are the hidden size.
  FuseProjections(l);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BertModel>> BertModel::Load(const std::string& model_dir) {
  const std::string config_path = JoinPath(model_dir, "config.json");
  ASSIGN_OR_RETURN(const std::string config_text, ReadFileToString(config_path, 1 << 20));
  ASSIGN_OR_RETURN(HfConfig config, ParseHfConfig(config_text, config_path));
  const std::string weights_path = JoinPath(model_dir, "model.safetensors");
  std::error_code ec;
  if (!std::filesystem::exists(weights_path, ec)) {
    const bool torch = std::filesystem::exists(JoinPath(model_dir, "pytorch_model.bin"), ec);
    return absl::NotFoundError(absl::StrCat(
        weights_path, ": no such file",
        torch ? " (pytorch_model.bin is a pickle, which attnserve does not load: convert it to "
                "safetensors, see docs/MODELS.md)"
              : ""));
  }
  ASSIGN_OR_RETURN(SafetensorsFile weights, SafetensorsFile::Open(weights_path));
  std::unique_ptr<BertModel> model(new BertModel(std::move(config), std::move(weights)));
  ASSIGN_OR_RETURN(model->pipeline_, LoadSentencePipeline(model_dir, model->config_.hidden_size));
  RETURN_IF_ERROR(model->LoadVocabulary(model_dir));

  // Checkpoints saved from the bare model have no prefix; task models
  // (…ForSequenceClassification) put the encoder under "<model_type>.".
  const std::string typed = model->config_.model_type + ".";
  std::string prefix;
  if (model->weights_.Has(typed + "embeddings.word_embeddings.weight")) prefix = typed;
  RETURN_IF_ERROR(model->BindWeights(prefix));
  RETURN_IF_ERROR(model->BindHead(prefix));

  const HfConfig& c = model->config_;
  int max_width = std::max(3 * c.embedding_size, c.hidden_size);
  int max_heads = 0;
  for (const BertLayerWeights& l : model->layers_) {
    max_width = std::max(max_width, l.max_width());
    max_heads = std::max(max_heads, l.num_heads);
  }
  int64_t params = 0;
  for (const TensorView& t : model->weights_.tensors()) params += t.num_elements;
  std::string name = std::filesystem::path(model_dir).lexically_normal().filename().string();
  if (name.empty()) {
    name = std::filesystem::path(model_dir).lexically_normal().parent_path().filename().string();
  }
  model->info_ = ModelInfo{
      .name = name.empty() ? c.model_type : name,
      .family = c.model_type,
      .embedding_dim = c.hidden_size,
      // Content tokens: [CLS] and [SEP] take two rows of the position table.
      // sentence-transformers' own clip when it names one (lifted up to the
      // position table by max_tokens).
      .default_max_tokens =
          std::min(c.max_position_embeddings, model->pipeline_.max_seq_length > 0
                                                  ? model->pipeline_.max_seq_length
                                                  : c.max_position_embeddings) -
          2,
      .position_limit = c.max_position_embeddings - 2,
      .num_layers = c.num_layers,
      .vocab_size = c.vocab_size,
      .num_parameters = params,
      .weight_bytes = model->weights_.float_bytes(),
      .max_activation_width = max_width,
      .max_heads = max_heads,
      .no_pruning_reason =
          c.attention_type == AttentionType::kSuper
              ? "its super attention mixes values by position, which needs every token of a "
                "text in place (docs/LAYER_TYPES.md)"
              : "",
  };
  return model;
}

absl::Status BertModel::LoadVocabulary(const std::string& dir) {
  ASSIGN_OR_RETURN(const WordPieceOptions options, WordPieceTokenizer::OptionsFromDirectory(dir));
  const std::string path = JoinPath(dir, "vocab.txt");
  ASSIGN_OR_RETURN(WordPieceTokenizer tokenizer, WordPieceTokenizer::FromVocabFile(path, options));
  if (tokenizer.vocab_size() > config_.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", tokenizer.vocab_size(),
                                                   " tokens, more than config.json vocab_size ",
                                                   config_.vocab_size));
  }
  cls_id_ = tokenizer.cls_id();
  sep_id_ = tokenizer.sep_id();
  tokenizer_ = std::move(tokenizer);
  return absl::OkStatus();
}

absl::Status BertModel::BindWeights(const std::string& prefix) {
  const HfConfig& c = config_;
  const Binder b(weights_, prefix);
  const int H = c.hidden_size, E = c.embedding_size, I = c.inner_size();
  const bool mobile = c.family == HfFamily::kMobileBert;
  ASSIGN_OR_RETURN(word_, b.Get("embeddings.word_embeddings.weight", {c.vocab_size, E}));
  ASSIGN_OR_RETURN(position_,
                   b.Get("embeddings.position_embeddings.weight", {c.max_position_embeddings, H}));
  if (c.type_vocab_size > 0) {
    ASSIGN_OR_RETURN(token_type_,
                     b.Get("embeddings.token_type_embeddings.weight", {c.type_vocab_size, H}));
  }
  if (mobile && (c.trigram_input || E != H)) {
    ASSIGN_OR_RETURN(embedding_transform_, b.Linear("embeddings.embedding_transformation",
                                                    c.trigram_input ? 3 * E : E, H));
  } else if (E != H) {
    return absl::InvalidArgumentError("embedding_size must equal hidden_size");
  }
  ASSIGN_OR_RETURN(embedding_norm_,
                   b.LayerNorm("embeddings.LayerNorm", H, c.no_norm, c.layer_norm_eps));

  for (int k = 0; k < c.num_layers; ++k) {
    BertLayerWeights l;
    l.hidden = H;
    l.inner = I;
    l.num_heads = c.num_heads;
    l.head_dim = I / c.num_heads;
    l.activation = c.activation;
    l.attention_type = c.attention_type;
    l.alignment_size = c.max_position_embeddings;
    const double eps = c.layer_norm_eps;
    const bool nn = c.no_norm;
    if (c.family == HfFamily::kDistilBert) {
      const std::string p = absl::StrCat("transformer.layer.", k, ".");
      ASSIGN_OR_RETURN(l.q, b.Linear(p + "attention.q_lin", H, H));
      ASSIGN_OR_RETURN(l.k, b.Linear(p + "attention.k_lin", H, H));
      ASSIGN_OR_RETURN(l.v, b.Linear(p + "attention.v_lin", H, H));
      ASSIGN_OR_RETURN(l.attn_out, b.Linear(p + "attention.out_lin", H, H));
      FuseProjections(&l);
      ASSIGN_OR_RETURN(l.attn_norm, b.LayerNorm(p + "sa_layer_norm", H, false, eps));
      ASSIGN_OR_RETURN(l.ffn.up, b.Linear(p + "ffn.lin1", H, c.intermediate_size));
      ASSIGN_OR_RETURN(l.ffn.down, b.Linear(p + "ffn.lin2", c.intermediate_size, H));
      ASSIGN_OR_RETURN(l.ffn.norm, b.LayerNorm(p + "output_layer_norm", H, false, eps));
      l.index = static_cast<int>(layers_.size());
      layers_.push_back(std::move(l));
      continue;
    }
    const std::string p = absl::StrCat("encoder.layer.", k, ".");
    int v_in = H;
    if (mobile && c.use_bottleneck) {
      l.bottleneck = true;
      l.bottleneck_attention = c.use_bottleneck_attention;
      l.shared_kq = c.key_query_shared_bottleneck;
      ASSIGN_OR_RETURN(l.bottleneck_in, b.Linear(p + "bottleneck.input.dense", H, I));
      ASSIGN_OR_RETURN(l.bottleneck_in_norm,
                       b.LayerNorm(p + "bottleneck.input.LayerNorm", I, nn, eps));
      if (l.shared_kq && !l.bottleneck_attention) {
        ASSIGN_OR_RETURN(l.bottleneck_kq, b.Linear(p + "bottleneck.attention.dense", H, I));
        ASSIGN_OR_RETURN(l.bottleneck_kq_norm,
                         b.LayerNorm(p + "bottleneck.attention.LayerNorm", I, nn, eps));
      }
      v_in = l.bottleneck_attention ? I : H;
    }
    const int qk_in = l.bottleneck && (l.shared_kq || l.bottleneck_attention) ? I : H;
    RETURN_IF_ERROR(BindAttentionInputs(b, p + "attention.self.", qk_in, v_in, &l));
    ASSIGN_OR_RETURN(l.attn_out, b.Linear(p + "attention.output.dense", I, I));
    ASSIGN_OR_RETURN(l.attn_norm, b.LayerNorm(p + "attention.output.LayerNorm", I, nn, eps));
    for (int f = 0; mobile && f + 1 < c.num_feedforward_networks; ++f) {
      const std::string q = absl::StrCat(p, "ffn.", f, ".");
      BertFfn e;
      ASSIGN_OR_RETURN(e.up, b.Linear(q + "intermediate.dense", I, c.intermediate_size));
      ASSIGN_OR_RETURN(e.down, b.Linear(q + "output.dense", c.intermediate_size, I));
      ASSIGN_OR_RETURN(e.norm, b.LayerNorm(q + "output.LayerNorm", I, nn, eps));
      l.extra_ffn.push_back(std::move(e));
    }
    ASSIGN_OR_RETURN(l.ffn.up, b.Linear(p + "intermediate.dense", I, c.intermediate_size));
    ASSIGN_OR_RETURN(l.ffn.down, b.Linear(p + "output.dense", c.intermediate_size, I));
    ASSIGN_OR_RETURN(l.ffn.norm, b.LayerNorm(p + "output.LayerNorm", I, nn, eps));
    if (l.bottleneck) {
      ASSIGN_OR_RETURN(l.out_bottleneck, b.Linear(p + "output.bottleneck.dense", I, H));
      ASSIGN_OR_RETURN(l.out_bottleneck_norm,
                       b.LayerNorm(p + "output.bottleneck.LayerNorm", H, nn, eps));
    }
    l.index = static_cast<int>(layers_.size());
    layers_.push_back(std::move(l));
  }
  return absl::OkStatus();
}

absl::Status BertModel::BindHead(const std::string& prefix) {
  const HfConfig& c = config_;
  const int H = c.hidden_size;
  const Binder top(weights_, "");  // task heads sit beside the encoder, unprefixed
  if (pipeline_.present) {
    feature_ = Feature::kPooled;  // sentence-transformers: its pooling, maybe L2
    return absl::OkStatus();
  }
  if (!weights_.Has("classifier.weight")) return absl::OkStatus();  // bare encoder: [CLS] row
  ASSIGN_OR_RETURN(const TensorView* cls, weights_.Find("classifier.weight"));
  if (cls->shape.size() != 2 || cls->shape[1] != H || cls->shape[0] < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(weights_.path(), ": tensor 'classifier.weight' has shape ",
                     ShapeToString(cls->shape), ", expected [labels, ", H, "]"));
  }
  const int labels = static_cast<int>(cls->shape[0]);
  if (c.family == HfFamily::kDistilBert) {
    feature_ = Feature::kPreClassifierRelu;
    ASSIGN_OR_RETURN(feature_dense_, top.Linear("pre_classifier", H, H));
  } else if (c.family == HfFamily::kBert ||
             (c.family == HfFamily::kMobileBert && c.classifier_activation)) {
    feature_ = Feature::kPoolerTanh;
    const Binder b(weights_, prefix);
    ASSIGN_OR_RETURN(feature_dense_, b.Linear("pooler.dense", H, H));
  }
  ClassifierHead head;
  head.name = "classifier";
  head.dim = H;
  if (c.labels.empty()) {
    for (int i = 0; i < labels; ++i) head.labels.push_back(absl::StrCat("LABEL_", i));
  } else if (static_cast<int>(c.labels.size()) == labels) {
    head.labels = c.labels;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("config.json: id2label has ", c.labels.size(),
                                                   " labels, classifier.weight has ", labels));
  }
  ASSIGN_OR_RETURN(const float* w, top.Get("classifier.weight", {labels, H}));
  ASSIGN_OR_RETURN(const float* bias, top.Get("classifier.bias", {labels}));
  // The checkpoint trained one head, on the last layer; earlier layers reuse
  // it so early exit by confidence has something to ask (docs/MODELS.md).
  for (int k = 0; k < c.num_layers; ++k) {
    LayerHead l;
    l.layer = k;
    l.weights.assign(w, w + int64_t{labels} * H);
    l.bias.assign(bias, bias + labels);
    head.layers.push_back(std::move(l));
  }
  head.metadata_json =
      nlohmann::json{
          {"source", "classifier.weight/bias of model.safetensors, labels of config.json"},
          {"trained_layer", c.num_layers - 1},
          {"feature", feature_ == Feature::kPreClassifierRelu
                          ? "relu(pre_classifier([CLS]))"
                          : (feature_ == Feature::kPoolerTanh ? "tanh(pooler([CLS]))" : "[CLS]")}}
          .dump();
  head_ = std::move(head);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> BertModel::Tokenize(std::string_view text) const {
  return tokenizer_->Encode(text);
}

std::string BertModel::Piece(int32_t id) const { return tokenizer_->Piece(id); }

}  // namespace attnserve
