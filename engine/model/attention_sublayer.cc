#include "engine/model/attention_sublayer.h"

#include <chrono>
#include <cstring>
#include <utility>

#include "engine/util/run_profile.h"
#include "engine/util/status_macros.h"
#include "engine/util/thread_scratch.h"

namespace attnserve {

int64_t LayerScratch::CapacityBytes() const {
  int64_t bytes = 0;
  for (const std::vector<float>* v :
       {&qkv, &context, &ffn, &key_mass, &normed, &layer_input, &kq, &a, &tmp}) {
    bytes += attnserve::CapacityBytes(*v);
  }
  return bytes;
}

absl::StatusOr<const float*> AttendEachSequence(const ExecutionPlan& plan,
                                                const FusedQkvHeads& heads, const float* qkv,
                                                const std::vector<int64_t>& offsets,
                                                const SublayerPruner* pruner,
                                                std::vector<float>* key_mass, float* context,
                                                RunStats* stats) {
  const ResolvedAttention& attention = plan.attention;
  const bool want_mass =
      pruner != nullptr && pruner->want_key_mass && attention.kernel->info().reports_key_mass;
  if (want_mass) key_mass->assign(offsets.back(), 0.0f);
  const int width = heads.width();
  const int64_t qkv_width = 3 * int64_t{width};
  const auto attention_start = std::chrono::steady_clock::now();
  const ProfileScope scope(ProfilePhase::kAttention);
  AttentionStats attention_stats;
  AttentionParams sized;  // the parameters at this sequence's length
  for (size_t b = 0; b + 1 < offsets.size(); ++b) {
    const int64_t begin = offsets[b], n = offsets[b + 1] - offsets[b];
    if (n == 0) continue;
    const float* rows = qkv + begin * qkv_width;
    AttentionInputs in;
    in.n_q = in.n_kv = n;
    in.num_heads = heads.num_heads;
    in.head_dim = heads.head_dim;
    in.scale = heads.scale;
    in.q = rows;
    in.k = rows + width;
    in.v = rows + 2 * width;
    in.q_stride = in.k_stride = in.v_stride = qkv_width;
    in.out = context + begin * width;
    in.out_stride = width;
    if (want_mass) in.key_mass = key_mass->data() + begin;
    in.layer = heads.layer;
    in.fitted_pooling = plan.fitted_pooling;
    RETURN_IF_ERROR(
        attention.kernel->Run(in, ParamsAtLength(attention, n, &sized), &attention_stats));
  }
  stats->attention_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - attention_start).count();
  stats->attention_pairs_scored += attention_stats.pairs_scored;
  stats->attention_pairs_total += attention_stats.pairs_total;
  stats->flops += attention_stats.flops;
  return want_mass ? key_mass->data() : nullptr;
}

namespace {

// Adds each sequence's first row to `keep` when the policy dropped it.
void KeepFirstRows(const std::vector<int64_t>& offsets, std::vector<int64_t>* keep,
                   std::vector<int64_t>* new_offsets) {
  std::vector<int64_t> fixed;
  fixed.reserve(keep->size() + offsets.size());
  new_offsets->assign(1, 0);
  size_t i = 0;
  for (size_t b = 0; b + 1 < offsets.size(); ++b) {
    const int64_t begin = offsets[b], end = offsets[b + 1];
    if (end > begin && (i >= keep->size() || (*keep)[i] != begin)) fixed.push_back(begin);
    while (i < keep->size() && (*keep)[i] < end) fixed.push_back((*keep)[i++]);
    new_offsets->push_back(static_cast<int64_t>(fixed.size()));
  }
  *keep = std::move(fixed);
}

}  // namespace

absl::Status PruneRows(const SublayerPruner& pruner, const float* key_mass, float* hidden,
                       int width, bool keep_first_rows, std::vector<int64_t>* offsets,
                       std::vector<int64_t>* keep) {
  std::vector<int64_t> new_offsets;
  keep->clear();
  RETURN_IF_ERROR(pruner.select(key_mass, hidden, width, *offsets, keep, &new_offsets));
  if (keep_first_rows) KeepFirstRows(*offsets, keep, &new_offsets);
  // Ascending rows: compacting in place never overwrites a row still needed.
  for (size_t i = 0; i < keep->size(); ++i) {
    if ((*keep)[i] != static_cast<int64_t>(i)) {
      std::memmove(hidden + i * width, hidden + (*keep)[i] * width, sizeof(float) * width);
    }
  }
  *offsets = std::move(new_offsets);
  return absl::OkStatus();
}

}  // namespace attnserve
