#include "engine/policy/adaptive_run.h"

#include <cstring>

#include "engine/policy/early_exit.h"
#include "engine/policy/token_pruning.h"
#include "engine/util/status_macros.h"

namespace attnserve {
namespace {

// Keeps the sequences with keep[b] true, in order.
void KeepSequences(const std::vector<bool>& keep, EncoderState* state) {
  const int d = state->width;
  std::vector<int64_t> offsets{0};
  int64_t to = 0;
  for (int64_t b = 0; b < state->batch(); ++b) {
    if (!keep[b]) continue;
    const int64_t from = state->offsets[b], n = state->offsets[b + 1] - from;
    if (to != from) {
      std::memmove(state->hidden.data() + to * d, state->hidden.data() + from * d,
                   sizeof(float) * n * d);
    }
    to += n;
    offsets.push_back(to);
  }
  state->offsets = std::move(offsets);
  state->hidden.resize(to * d);
}

}  // namespace

absl::Status RunAdaptive(const StepwiseEncoder& model, int num_layers, int embedding_dim,
                         const std::vector<std::vector<int32_t>>& ids, const ExecutionPlan& plan,
                         const PruningOptions& pruning, const EarlyExitOptions& exit,
                         const AdaptiveRunOutputs& out, RunStats* stats) {
  const int limit = LayerLimit(exit, num_layers);
  const int labels = out.head != nullptr ? static_cast<int>(out.head->labels.size()) : 0;
  const bool by_confidence = out.head != nullptr && UsesConfidence(exit);
  const bool by_cosine = out.head == nullptr && exit.embed_cosine > 0;
  if (out.probs != nullptr) out.probs->assign(ids.size() * labels, 0.0f);

  EncoderState state;
  RETURN_IF_ERROR(model.Start(ids, &state));
  std::vector<int64_t> alive(ids.size());  // text index of each sequence in `state`
  for (size_t b = 0; b < ids.size(); ++b) alive[b] = static_cast<int64_t>(b);
  stats->tokens_per_layer.push_back(state.rows());

  for (int k = 0; k < limit && !alive.empty(); ++k) {
    RETURN_IF_ERROR(CheckStillWanted(plan, k, limit));
    const bool last = k + 1 == limit;
    std::vector<float> pooled_in;
    if (by_cosine && !last) pooled_in = model.PoolLayerInput(k, state);

    SublayerPruner pruner;
    pruner.want_key_mass = true;
    pruner.select = [&pruning, k](const float* key_mass, const float* hidden, int width,
                                  const std::vector<int64_t>& offsets,
                                  std::vector<int64_t>* keep_rows,
                                  std::vector<int64_t>* new_offsets) {
      SelectKeptRows(pruning, k, key_mass, hidden, width, offsets, keep_rows, new_offsets);
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(
        model.RunLayer(k, plan, PrunesAtLayer(pruning, k) ? &pruner : nullptr, &state, stats));
    stats->layers_run = k + 1;
    stats->tokens_per_layer.push_back(state.rows());

    // Exit tests: the head's confidence, or how little the layer moved the
    // pooled state; every text exits at the last layer.
    const int64_t batch = state.batch();
    std::vector<float> pooled;
    model.PoolState(state, &pooled);
    std::vector<float> embedded;  // [batch, dim] when the head needs it
    std::vector<float> probs(batch * labels);
    std::vector<bool> exits(batch, last);
    if (out.head != nullptr && (by_confidence || last)) {
      embedded.resize(batch * embedding_dim);
      model.EmbedPooled(pooled.data(), batch, embedded.data(), stats);
      for (int64_t b = 0; b < batch; ++b) {
        out.head->Probabilities(k, embedded.data() + b * embedding_dim, probs.data() + b * labels);
        if (by_confidence && HeadConfident(exit, probs.data() + b * labels, labels)) {
          exits[b] = true;
        }
      }
    }
    if (!pooled_in.empty()) {
      for (int64_t b = 0; b < batch; ++b) {
        if (Cosine(pooled_in.data() + b * state.width, pooled.data() + b * state.width,
                   state.width) >= exit.embed_cosine) {
          exits[b] = true;
        }
      }
    }

    // Answer the exiting texts (one batched head call, in order), drop them.
    std::vector<float> exiting_pooled;
    std::vector<int64_t> exiting;
    for (int64_t b = 0; b < batch; ++b) {
      if (!exits[b]) continue;
      const int64_t text = alive[b];
      exiting.push_back(b);
      stats->texts[text].exit_layer = k + 1;
      stats->texts[text].tokens_kept = static_cast<int>(state.offsets[b + 1] - state.offsets[b]);
      if (out.probs != nullptr) {
        std::copy(probs.begin() + b * labels, probs.begin() + (b + 1) * labels,
                  out.probs->begin() + text * labels);
      }
      exiting_pooled.insert(exiting_pooled.end(), pooled.begin() + b * state.width,
                            pooled.begin() + (b + 1) * state.width);
    }
    if (out.embeddings != nullptr && !exiting.empty()) {
      std::vector<float> e;
      const float* rows = nullptr;
      if (!embedded.empty()) {
        for (int64_t b : exiting) {
          e.insert(e.end(), embedded.begin() + b * embedding_dim,
                   embedded.begin() + (b + 1) * embedding_dim);
        }
      } else {
        e.resize(exiting.size() * embedding_dim);
        model.EmbedPooled(exiting_pooled.data(), static_cast<int64_t>(exiting.size()), e.data(),
                          stats);
      }
      rows = e.data();
      for (size_t i = 0; i < exiting.size(); ++i) {
        std::memcpy(out.embeddings + alive[exiting[i]] * embedding_dim, rows + i * embedding_dim,
                    sizeof(float) * embedding_dim);
      }
    }
    if (!exiting.empty()) {
      std::vector<bool> keep(batch);
      std::vector<int64_t> still;
      for (int64_t b = 0; b < batch; ++b) {
        keep[b] = !exits[b];
        if (keep[b]) still.push_back(alive[b]);
      }
      KeepSequences(keep, &state);
      alive = std::move(still);
    }
  }
  stats->exit_layer = stats->layers_run;
  return absl::OkStatus();
}

}  // namespace attnserve
