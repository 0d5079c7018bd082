#include "engine/model/use_lite_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"

namespace attnserve {
namespace {

// Tensor names in the TF.js graph (see the facts sheet, section 2).
constexpr char kApply[] = "module_apply_default/Encoder_en/KonaTransformer/Encode/";
constexpr char kModule[] = "module/Encoder_en/KonaTransformer/Encode/";
constexpr char kEmbeddings[] = "module/Embeddings_en";
constexpr char kClip[] = "module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y";
constexpr char kPoolKernel[] = "module/Encoder_en/hidden_layers/tanh_layer_0/weights";
constexpr char kPoolBias[] = "module/Encoder_en/hidden_layers/tanh_layer_0/bias";
constexpr char kL2Floor[] = "module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y";
constexpr int kNumLayers = 2;

std::string Layer(int k) { return absl::StrCat("Layer_", k, "/TransformerLayer/"); }
std::string Stack(int k) { return absl::StrCat(kApply, "TransformerStack/", Layer(k)); }
std::string Apply(int k) { return absl::StrCat(kApply, Layer(k)); }
std::string Norm(const std::string& base, const char* which) {
  return absl::StrCat(base, "layer_prepostprocess/layer_norm/", which, "/ConcatPartitions/concat");
}

// The shape of tensor `name`, checked to have `rank` dimensions.
absl::StatusOr<std::vector<int64_t>> ShapeOf(const TfjsWeights& w, const std::string& name,
                                             size_t rank) {
  ASSIGN_OR_RETURN(const TensorView* t, w.Find(name));
  if (t->shape.size() != rank) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "': expected rank ", rank,
                                                   ", found ", ShapeToString(t->shape)));
  }
  return t->shape;
}

}  // namespace

absl::StatusOr<std::unique_ptr<UseLiteModel>> UseLiteModel::Load(const std::string& model_dir) {
  ASSIGN_OR_RETURN(TfjsWeights weights, TfjsWeights::Load(model_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<UnigramTokenizer> tokenizer,
                   UnigramTokenizer::LoadFromFile(JoinPath(model_dir, "vocab.json")));
  std::unique_ptr<UseLiteModel> model(new UseLiteModel(std::move(weights), std::move(tokenizer)));
  absl::Status bound = model->BindWeights();
  if (!bound.ok()) {
    return absl::Status(bound.code(), absl::StrCat(model_dir, ": ", bound.message()));
  }
  return model;
}

absl::Status UseLiteModel::BindWeights() {
  const TfjsWeights& w = weights_;
  ASSIGN_OR_RETURN(std::vector<int64_t> table, ShapeOf(w, kEmbeddings, 2));
  table_rows_ = table[0];
  embed_dim_ = static_cast<int>(table[1]);
  if (embed_dim_ % 2 != 0 || table_rows_ < tokenizer_->vocab_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedding table ", ShapeToString(table), " does not fit a vocabulary of ",
                     tokenizer_->vocab_size(), " pieces with sin/cos halves"));
  }
  ASSIGN_OR_RETURN(embeddings_, w.Float32(kEmbeddings, table));
  const std::string timescale_name =
      absl::StrCat(kApply, "TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1");
  ASSIGN_OR_RETURN(const float* omega, w.Float32(timescale_name, {1, embed_dim_ / 2}));
  inv_timescales_.assign(omega, omega + embed_dim_ / 2);
  timing_signal_.resize(kTimingPositions * embed_dim_);
  for (int64_t p = 0; p < kTimingPositions; ++p) {
    TimingSignal(p, timing_signal_.data() + p * embed_dim_);
  }

  ASSIGN_OR_RETURN(const int num_heads,
                   w.ScalarInt32(absl::StrCat(Stack(1),
                                              "MultiheadAttention/split_heads/"
                                              "split_last_dimension/Reshape/shape/2")));
  ASSIGN_OR_RETURN(const float eps, w.ScalarFloat32(absl::StrCat(
                                        Stack(1), "FFN/layer_prepostprocess/layer_norm/Cast/x")));
  int d_in = embed_dim_;
  for (int k = 0; k < kNumLayers; ++k) {
    PreNormLayerWeights l;
    const std::string apply = Apply(k), stack = Stack(k);
    const std::string module = absl::StrCat(kModule, Layer(k));
    const std::string mha = absl::StrCat(apply, "MultiheadAttention/");
    const std::string qkv_name =
        absl::StrCat(module, "MultiheadAttention/qkv_transform_single/kernel/part_0");
    const std::string out_name =
        absl::StrCat(module, "MultiheadAttention/output_transform_single/kernel/part_0");
    const std::string up_name = absl::StrCat(stack, "FFN/conv1/Tensordot/Reshape_1");
    ASSIGN_OR_RETURN(std::vector<int64_t> out_shape, ShapeOf(w, out_name, 4));
    ASSIGN_OR_RETURN(std::vector<int64_t> up_shape, ShapeOf(w, up_name, 2));
    l.d_in = d_in;
    l.d_out = static_cast<int>(out_shape[3]);
    l.d_ffn = static_cast<int>(up_shape[1]);
    l.num_heads = num_heads;
    ASSIGN_OR_RETURN(l.head_dim,
                     w.ScalarInt32(absl::StrCat(stack,
                                                "MultiheadAttention/split_heads/"
                                                "split_last_dimension/Reshape/shape/3")));
    if (l.num_heads < 1 || l.head_dim < 1 || l.num_heads * l.head_dim != d_in) {
      return absl::InvalidArgumentError(absl::StrCat("layer ", k, ": ", l.num_heads,
                                                     " heads of size ", l.head_dim,
                                                     " do not cover the width ", d_in));
    }
    ASSIGN_OR_RETURN(l.q_scale, w.ScalarFloat32(absl::StrCat(stack, "MultiheadAttention/mul/y")));
    l.norm_eps = eps;
    ASSIGN_OR_RETURN(l.attn_norm_gain, w.Float32(Norm(apply, "layer_norm_scale"), {d_in}));
    ASSIGN_OR_RETURN(l.attn_norm_bias, w.Float32(Norm(apply, "layer_norm_bias"), {d_in}));
    using Layout = PackedLinear::Layout;
    ASSIGN_OR_RETURN(const float* qkv_kernel, w.Float32(qkv_name, {1, 1, d_in, 3 * d_in}));
    ASSIGN_OR_RETURN(
        const float* qkv_bias,
        w.Float32(absl::StrCat(mha, "qkv_transform_single/bias/ConcatPartitions/concat"),
                  {3 * d_in}));
    l.qkv = PackedLinear(qkv_kernel, qkv_bias, d_in, 3 * d_in, Layout::kInputMajor);
    ASSIGN_OR_RETURN(const float* out_kernel, w.Float32(out_name, {1, 1, d_in, l.d_out}));
    ASSIGN_OR_RETURN(
        const float* out_bias,
        w.Float32(absl::StrCat(mha, "output_transform_single/bias/ConcatPartitions/concat"),
                  {l.d_out}));
    l.out = PackedLinear(out_kernel, out_bias, d_in, l.d_out, Layout::kInputMajor);
    if (d_in != l.d_out) {  // "AdjustResidualInput": a dense projection
      ASSIGN_OR_RETURN(
          const float* residual_kernel,
          w.Float32(absl::StrCat(apply, "dense/kernel/ConcatPartitions/concat"), {d_in, l.d_out}));
      ASSIGN_OR_RETURN(
          const float* residual_bias,
          w.Float32(absl::StrCat(apply, "dense/bias/ConcatPartitions/concat"), {l.d_out}));
      l.residual = PackedLinear(residual_kernel, residual_bias, d_in, l.d_out, Layout::kInputMajor);
    }
    const std::string ffn = absl::StrCat(apply, "FFN/");
    ASSIGN_OR_RETURN(l.ffn_norm_gain, w.Float32(Norm(ffn, "layer_norm_scale"), {l.d_out}));
    ASSIGN_OR_RETURN(l.ffn_norm_bias, w.Float32(Norm(ffn, "layer_norm_bias"), {l.d_out}));
    ASSIGN_OR_RETURN(const float* up_kernel, w.Float32(up_name, {l.d_out, l.d_ffn}));
    ASSIGN_OR_RETURN(const float* up_bias,
                     w.Float32(absl::StrCat(ffn, "conv1/bias/ConcatPartitions/concat"), {l.d_ffn}));
    l.ffn_up = PackedLinear(up_kernel, up_bias, l.d_out, l.d_ffn, Layout::kInputMajor);
    ASSIGN_OR_RETURN(
        const float* down_kernel,
        w.Float32(absl::StrCat(stack, "FFN/conv2/Tensordot/Reshape_1"), {l.d_ffn, l.d_out}));
    ASSIGN_OR_RETURN(const float* down_bias,
                     w.Float32(absl::StrCat(ffn, "conv2/bias/ConcatPartitions/concat"), {l.d_out}));
    l.ffn_down = PackedLinear(down_kernel, down_bias, l.d_ffn, l.d_out, Layout::kInputMajor);
    l.index = static_cast<int>(layers_.size());
    layers_.push_back(l);
    d_in = l.d_out;
  }
  ASSIGN_OR_RETURN(pool_kernel_, w.Float32(kPoolKernel, {d_in, d_in}));
  ASSIGN_OR_RETURN(pool_bias_, w.Float32(kPoolBias, {d_in}));
  ASSIGN_OR_RETURN(l2_floor_, w.ScalarFloat32(kL2Floor));
  ASSIGN_OR_RETURN(const int clip, w.ScalarInt32(kClip));
  if (clip < 1) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", kClip, "': clip ", clip, " < 1"));
  }

  int max_width = embed_dim_, max_heads = 0;
  for (const PreNormLayerWeights& l : layers_) {
    max_width = std::max({max_width, 3 * l.d_in, l.d_out, l.d_ffn});
    max_heads = std::max(max_heads, l.num_heads);
  }
  int64_t params = 0;
  for (const TensorView& t : w.tensors()) {
    if (t.dtype == DType::kFloat32) params += t.num_elements;
  }
  info_ = ModelInfo{
      .name = "use-lite",
      .family = "use-lite",
      .embedding_dim = d_in,
      .default_max_tokens = clip,
      .position_limit = 0,  // sinusoidal positions: defined for any length
      .num_layers = kNumLayers,
      .vocab_size = tokenizer_->vocab_size(),
      .num_parameters = params,
      .weight_bytes = w.total_bytes(),
      .max_activation_width = max_width,
      .max_heads = max_heads,
      .no_pruning_reason = "",
  };
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> UseLiteModel::Tokenize(std::string_view text) const {
  return tokenizer_->Encode(text);
}

void UseLiteModel::TimingSignal(int64_t position, float* out) const {
  const int half = embed_dim_ / 2;
  for (int i = 0; i < half; ++i) {
    // The reference forms the angle in float32, then takes sin/cos.
    const float angle = static_cast<float>(position) * inv_timescales_[i];
    out[i] = static_cast<float>(std::sin(double{angle}));
    out[half + i] = static_cast<float>(std::cos(double{angle}));
  }
}

void UseLiteModel::EmbedTokens(const std::vector<int32_t>& ids, float* x) const {
  std::vector<float> far_signal;  // positions past the table (a lifted clip)
  for (size_t p = 0; p < ids.size(); ++p) {
    const float* e = embeddings_ + int64_t{ids[p]} * embed_dim_;
    float* row = x + p * embed_dim_;
    const float* signal = timing_signal_.data() + p * embed_dim_;
    if (static_cast<int64_t>(p) >= kTimingPositions) {
      far_signal.resize(embed_dim_);
      TimingSignal(static_cast<int64_t>(p), far_signal.data());
      signal = far_signal.data();
    }
    // The graph adds the embedding to (embedding + timing signal): 2·E.
    for (int i = 0; i < embed_dim_; ++i) row[i] = 2.0f * e[i] + signal[i];
  }
}

}  // namespace attnserve
