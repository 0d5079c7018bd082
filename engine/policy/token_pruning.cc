#include "engine/policy/token_pruning.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace attnserve {
namespace {

constexpr double kMaxThreshold = 100;

double At(const std::vector<double>& v, int layer, double missing) {
  return layer < static_cast<int>(v.size()) ? v[layer] : missing;
}

}  // namespace

absl::Status ValidatePruning(const PruningOptions& o, int num_layers) {
  if (static_cast<int>(o.keep_ratio.size()) > num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("pruning.keep_ratio: ", o.keep_ratio.size(),
                                                   " entries for a model of ", num_layers,
                                                   " layers"));
  }
  if (static_cast<int>(o.importance_threshold.size()) > num_layers) {
    return absl::InvalidArgumentError(
        absl::StrCat("pruning.importance_threshold: ", o.importance_threshold.size(),
                     " entries for a model of ", num_layers, " layers"));
  }
  for (size_t k = 0; k < o.keep_ratio.size(); ++k) {
    const double r = o.keep_ratio[k];
    if (!(r > 0 && r <= 1)) {  // also refuses NaN
      return absl::InvalidArgumentError(absl::StrCat("pruning.keep_ratio[", k, "]: ", r,
                                                     " is out of range (0, 1]",
                                                     r == 0 ? " (0 would leave no tokens)" : ""));
    }
  }
  for (size_t k = 0; k < o.importance_threshold.size(); ++k) {
    const double t = o.importance_threshold[k];
    if (!(t >= 0 && t <= kMaxThreshold)) {
      return absl::InvalidArgumentError(absl::StrCat("pruning.importance_threshold[", k, "]: ", t,
                                                     " is out of range [0, ", kMaxThreshold, "]"));
    }
  }
  if (o.min_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pruning.min_tokens: ", o.min_tokens, " would let pruning leave no tokens; must be >= 1"));
  }
  if (o.keep_first < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("pruning.keep_first: ", o.keep_first, " must be >= 0"));
  }
  return absl::OkStatus();
}

bool PrunesAtLayer(const PruningOptions& o, int layer) {
  return At(o.keep_ratio, layer, 1.0) < 1.0 || At(o.importance_threshold, layer, 0.0) > 0.0;
}

std::vector<double> TokenImportance(const PruningOptions& o, const float* key_mass,
                                    const float* hidden, int width, int64_t n) {
  std::vector<double> share(n, 1.0);
  if (key_mass != nullptr) {
    for (int64_t j = 0; j < n; ++j) share[j] = std::max(0.0, double{key_mass[j]});
  } else if (o.fallback == PruningOptions::Fallback::kHiddenNorm) {
    for (int64_t j = 0; j < n; ++j) {
      double sq = 0;
      for (int i = 0; i < width; ++i) sq += double{hidden[j * width + i]} * hidden[j * width + i];
      share[j] = std::sqrt(sq);
    }
  }
  const double total = std::accumulate(share.begin(), share.end(), 0.0);
  for (double& s : share) s = total > 0 ? s / total : 1.0 / n;
  return share;
}

std::vector<int64_t> SelectKeptTokens(const PruningOptions& o, int layer,
                                      const std::vector<double>& importance) {
  const int64_t n = static_cast<int64_t>(importance.size());
  int64_t target = n;
  const double ratio = At(o.keep_ratio, layer, 1.0);
  if (ratio < 1.0) target = static_cast<int64_t>(std::ceil(ratio * n - 1e-9));
  const double threshold = At(o.importance_threshold, layer, 0.0);
  if (threshold > 0) {
    // Importance relative to the uniform share 1/n.
    int64_t above = 0;
    for (double s : importance) above += s * n >= threshold ? 1 : 0;
    target = std::min(target, above);
  }
  target = std::max(target, std::min<int64_t>(o.min_tokens, n));
  const int64_t pinned = std::min<int64_t>(o.keep_first, n);

  std::vector<int64_t> rest(n - pinned);
  std::iota(rest.begin(), rest.end(), pinned);
  // Most important first; ties keep the earlier token (deterministic).
  std::stable_sort(rest.begin(), rest.end(),
                   [&](int64_t a, int64_t b) { return importance[a] > importance[b]; });
  std::vector<int64_t> kept(pinned);
  std::iota(kept.begin(), kept.end(), 0);
  for (int64_t i = 0; i < target - pinned && i < static_cast<int64_t>(rest.size()); ++i) {
    kept.push_back(rest[i]);
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

void SelectKeptRows(const PruningOptions& o, int layer, const float* key_mass, const float* hidden,
                    int width, const std::vector<int64_t>& offsets, std::vector<int64_t>* keep_rows,
                    std::vector<int64_t>* new_offsets) {
  keep_rows->clear();
  if (key_mass == nullptr && o.fallback == PruningOptions::Fallback::kKeepAll) {
    keep_rows->resize(offsets.back());
    std::iota(keep_rows->begin(), keep_rows->end(), 0);
    *new_offsets = offsets;
    return;
  }
  new_offsets->assign(1, 0);
  for (size_t b = 0; b + 1 < offsets.size(); ++b) {
    const int64_t begin = offsets[b], n = offsets[b + 1] - begin;
    const std::vector<double> share = TokenImportance(
        o, key_mass != nullptr ? key_mass + begin : nullptr, hidden + begin * width, width, n);
    for (int64_t j : SelectKeptTokens(o, layer, share)) keep_rows->push_back(begin + j);
    new_offsets->push_back(static_cast<int64_t>(keep_rows->size()));
  }
}

}  // namespace attnserve
