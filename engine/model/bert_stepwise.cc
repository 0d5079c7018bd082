// BertModel's computation, layer by layer (StepwiseEncoder): embeddings, one
// layer at a time, pooling and the feature transform.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/kernels/elementwise.h"
#include "engine/model/bert_model.h"
#include "engine/util/run_profile.h"
#include "engine/util/status_macros.h"

namespace attnserve {

void BertModel::EmbedTokens(const std::vector<int32_t>& ids, float* x) const {
  const HfConfig& c = config_;
  const int H = c.hidden_size, E = c.embedding_size;
  const int64_t n = static_cast<int64_t>(ids.size()) + 2;
  auto token = [&](int64_t p) { return p == 0 ? cls_id_ : (p == n - 1 ? sep_id_ : ids[p - 1]); };
  if (!embedding_transform_.empty()) {
    // MobileBERT: [E(next) | E(this) | E(previous)] (zeros past either end)
    // when trigram_input, then a dense map to the hidden width.
    const int width = embedding_transform_.in();
    std::vector<float> in(n * width, 0.0f);
    for (int64_t p = 0; p < n; ++p) {
      float* row = in.data() + p * width;
      if (!c.trigram_input) {
        std::memcpy(row, word_ + int64_t{token(p)} * E, sizeof(float) * E);
        continue;
      }
      if (p + 1 < n) std::memcpy(row, word_ + int64_t{token(p + 1)} * E, sizeof(float) * E);
      std::memcpy(row + E, word_ + int64_t{token(p)} * E, sizeof(float) * E);
      if (p > 0) std::memcpy(row + 2 * E, word_ + int64_t{token(p - 1)} * E, sizeof(float) * E);
    }
    embedding_transform_.Apply(in.data(), n, x, false, LinearPrecision::kF32);
  } else {
    for (int64_t p = 0; p < n; ++p) {
      std::memcpy(x + p * H, word_ + int64_t{token(p)} * H, sizeof(float) * H);
    }
  }
  for (int64_t p = 0; p < n; ++p) {
    float* row = x + p * H;
    const float* pos = position_ + p * H;
    for (int i = 0; i < H; ++i) row[i] += pos[i];
    if (token_type_ != nullptr) {
      for (int i = 0; i < H; ++i) row[i] += token_type_[i];  // segment 0
    }
  }
  embedding_norm_.Apply(x, n);
}

absl::Status BertModel::Start(const std::vector<std::vector<int32_t>>& ids,
                              EncoderState* state) const {
  const HfConfig& c = config_;
  state->Clear();
  for (size_t b = 0; b < ids.size(); ++b) {
    if (ids[b].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("texts[", b, "]: no tokens"));
    }
    const int64_t n = static_cast<int64_t>(ids[b].size()) + 2;
    if (n > c.max_position_embeddings) {
      return absl::InvalidArgumentError(absl::StrCat(
          "texts[", b, "]: ", ids[b].size(), " tokens plus [CLS] and [SEP] exceed the model's ",
          "learned position table (max_position_embeddings ", c.max_position_embeddings,
          "); clip to max_tokens <= ", c.max_position_embeddings - 2));
    }
    for (int32_t id : ids[b]) {
      if (id < 0 || id >= c.vocab_size) {
        return absl::InvalidArgumentError(
            absl::StrCat("texts[", b, "]: token id ", id, " outside [0, ", c.vocab_size, ")"));
      }
    }
    state->offsets.push_back(state->offsets.back() + n);
  }
  const ProfileScope lookup(ProfilePhase::kEmbeddingLookup);
  state->width = c.hidden_size;
  state->hidden.resize(state->rows() * c.hidden_size);
  for (size_t b = 0; b < ids.size(); ++b) {
    EmbedTokens(ids[b], state->hidden.data() + state->offsets[b] * c.hidden_size);
  }
  return absl::OkStatus();
}

absl::Status BertModel::RunLayer(int layer, const ExecutionPlan& plan, const SublayerPruner* pruner,
                                 EncoderState* state, RunStats* stats) const {
  if (layer < 0 || layer >= static_cast<int>(layers_.size())) {
    return absl::InvalidArgumentError(absl::StrCat("layer ", layer, " does not exist"));
  }
  const BertLayerWeights& w = layers_[layer];
  if (state->width != w.hidden) {
    return absl::InternalError(
        absl::StrCat("layer ", layer, ": input width ", state->width, " != ", w.hidden));
  }
  // The state's scratch lives for the run: its buffers are allocated (and
  // faulted in) once, not per layer.
  RETURN_IF_ERROR(RunBertLayer(w, state->hidden.data(), &state->offsets, plan, pruner,
                               &state->scratch, &state->next, stats));
  std::swap(state->hidden, state->next);
  return absl::OkStatus();
}

void BertModel::PoolState(const EncoderState& state, std::vector<float>* pooled) const {
  const PoolingMode mode = pipeline_.present ? pipeline_.pooling : PoolingMode::kCls;
  if (mode == PoolingMode::kMean) return MeanPool(state, pooled);
  const int d = state.width;
  pooled->resize(state.batch() * d);
  for (int64_t b = 0; b < state.batch(); ++b) {
    float* out = pooled->data() + b * d;
    const float* first = state.hidden.data() + state.offsets[b] * d;
    std::memcpy(out, first, sizeof(float) * d);
    if (mode != PoolingMode::kMax) continue;
    for (int64_t r = state.offsets[b] + 1; r < state.offsets[b + 1]; ++r) {
      const float* row = state.hidden.data() + r * d;
      for (int i = 0; i < d; ++i) out[i] = std::max(out[i], row[i]);
    }
  }
}

std::vector<float> BertModel::PoolLayerInput(int, const EncoderState& state) const {
  std::vector<float> pooled;
  PoolState(state, &pooled);  // every layer keeps the hidden width
  return pooled;
}

void BertModel::EmbedPooled(const float* pooled, int64_t batch, float* out, RunStats* stats) const {
  const int d = config_.hidden_size;
  if (feature_ == Feature::kPooled) {
    std::memcpy(out, pooled, sizeof(float) * batch * d);
  } else {
    feature_dense_.Apply(pooled, batch, out, false, LinearPrecision::kF32);
    stats->flops += batch * feature_dense_.Flops();
    if (feature_ == Feature::kPoolerTanh) {
      TanhInPlace(out, batch * d);
    } else {
      ReluInPlace(out, batch * d);
    }
  }
  if (pipeline_.normalize) {
    // torch.nn.functional.normalize: x / max(|x|, 1e-12).
    for (int64_t b = 0; b < batch; ++b) L2NormalizeInPlace(out + b * d, d, 1e-24f);
  }
}

}  // namespace attnserve
