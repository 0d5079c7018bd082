#include "engine/policy/auto_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/kernels/linear_precision.h"

namespace attnserve {
namespace {

// Linear interpolation of ys over the table's lengths at x; `extrapolate`
// continues the end segments, otherwise the ends are held.
double Interpolate(const std::vector<int>& xs, const std::vector<double>& ys, double x,
                   bool extrapolate) {
  if (xs.size() == 1) return ys[0];
  size_t hi = 1;
  while (hi + 1 < xs.size() && xs[hi] < x) ++hi;
  const size_t lo = hi - 1;
  if (!extrapolate)
    x = std::clamp(x, static_cast<double>(xs.front()), static_cast<double>(xs.back()));
  const double t = (x - xs[lo]) / static_cast<double>(xs[hi] - xs[lo]);
  return ys[lo] + t * (ys[hi] - ys[lo]);
}

bool ExitAppliesTo(const EarlyExitOptions& e, bool classify) {
  const bool classify_only = e.min_confidence != 0 || e.max_entropy >= 0;
  const bool embed_only = e.embed_cosine != 0;
  return classify ? !embed_only : !classify_only;
}

}  // namespace

const CalibrationEntry* CalibrationTable::Find(const std::string& name) const {
  for (const CalibrationEntry& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string PruningSignature(const PruningOptions& p) {
  if (!p.active()) return "none";
  return absl::StrFormat("keep=%s;threshold=%s;min=%d;first=%d;fallback=%d",
                         absl::StrJoin(p.keep_ratio, ","),
                         absl::StrJoin(p.importance_threshold, ","), p.min_tokens, p.keep_first,
                         static_cast<int>(p.fallback));
}

std::string EarlyExitSignature(const EarlyExitOptions& e) {
  if (!e.active()) return "none";
  return absl::StrFormat("layers=%d;cos=%g;conf=%g;entropy=%g", e.max_layers, e.embed_cosine,
                         e.min_confidence, e.max_entropy < 0 ? -1.0 : e.max_entropy);
}

absl::Status ValidateAutoOptions(const AutoOptions& options) {
  if (!(options.max_latency_ms >= 0 && options.max_latency_ms <= 1e7)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "budget.max_latency_ms: ", options.max_latency_ms, " is out of range [0, 1e7] (0 = none)"));
  }
  if (!(options.min_retention >= 0 && options.min_retention <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("budget.min_retention: ", options.min_retention,
                                                   " is out of range [0, 1] (0 = none)"));
  }
  if ((options.max_latency_ms > 0 || options.min_retention > 0) && !options.active()) {
    return absl::InvalidArgumentError(
        "budget: a budget needs the auto policy (attention kernel 'auto', linear_precision "
        "'auto', or pruning / early exit mode 'auto')");
  }
  return absl::OkStatus();
}

double PredictLatencyMs(const CalibrationTable& table, const CalibrationEntry& entry, int tokens) {
  return std::max(0.0, Interpolate(table.lengths, entry.latency_ms, tokens, true));
}

double PredictCosine(const CalibrationTable& table, const CalibrationEntry& entry, int tokens) {
  return Interpolate(table.lengths, entry.cosine, tokens, false);
}

absl::StatusOr<AutoChoice> ChooseConfiguration(const CalibrationTable& table,
                                               const RunOptions& fixed,
                                               const std::vector<int>& token_counts, int threads,
                                               bool classify) {
  const AutoOptions& a = fixed.auto_select;
  struct Candidate {
    const CalibrationEntry* entry;
    double latency;
    double quality;
  };
  std::vector<Candidate> candidates;
  const int longest =
      token_counts.empty() ? 1 : *std::max_element(token_counts.begin(), token_counts.end());
  for (const CalibrationEntry& e : table.entries) {
    if (!a.attention &&
        (e.attention != fixed.attention || e.attention_params != fixed.attention_params)) {
      continue;
    }
    if (!a.linear_precision && e.linear_precision != fixed.linear_precision) continue;
    if (!a.pruning && PruningSignature(e.pruning) != PruningSignature(fixed.pruning)) continue;
    if (!a.early_exit && EarlyExitSignature(e.early_exit) != EarlyExitSignature(fixed.early_exit)) {
      continue;
    }
    if (!ExitAppliesTo(e.early_exit, classify)) continue;
    double latency = 0;
    for (int n : token_counts) latency += PredictLatencyMs(table, e, n);
    latency /= std::max(1, threads);
    const double quality =
        classify && e.retention >= 0 ? e.retention : PredictCosine(table, e, longest);
    candidates.push_back({&e, latency, quality});
  }
  if (candidates.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "auto policy: no calibrated configuration matches the request's fixed settings (attention "
        "'",
        fixed.attention, "', linear_precision '",
        std::string(LinearPrecisionName(fixed.linear_precision)), "', pruning ",
        PruningSignature(fixed.pruning), ", early exit ", EarlyExitSignature(fixed.early_exit),
        "); rerun tools/calibrate or make them auto"));
  }
  const double min_quality = a.min_retention > 0 || a.max_latency_ms > 0
                                 ? a.min_retention
                                 : AutoOptions::kDefaultMinRetention;
  const double max_latency =
      a.max_latency_ms > 0 ? a.max_latency_ms : std::numeric_limits<double>::infinity();
  const Candidate* best = nullptr;
  for (const Candidate& c : candidates) {
    if (c.quality < min_quality || c.latency > max_latency) continue;
    // With only a latency budget, the best quality that fits; otherwise the
    // cheapest that meets the quality floor. Ties go to the other measure.
    const bool better =
        best == nullptr || (a.max_latency_ms > 0 && a.min_retention == 0
                                ? (c.quality > best->quality ||
                                   (c.quality == best->quality && c.latency < best->latency))
                                : (c.latency < best->latency ||
                                   (c.latency == best->latency && c.quality > best->quality)));
    if (better) best = &c;
  }
  AutoChoice choice;
  if (best != nullptr) {
    choice.entry = best->entry;
    choice.predicted_latency_ms = best->latency;
    choice.predicted_quality = best->quality;
    choice.note =
        absl::StrFormat("%s: predicted %.3g ms, quality %.4f (%d candidates)", best->entry->name,
                        best->latency, best->quality, static_cast<int>(candidates.size()));
    return choice;
  }
  // Nothing meets the budget: run the closest miss and say so. Within a
  // latency budget that is the best quality that fits; if nothing fits, the
  // fastest; with a quality floor only, the best quality.
  const bool latency_bound = a.max_latency_ms > 0;
  const Candidate* fallback = nullptr;
  for (const Candidate& c : candidates) {
    if (latency_bound && c.latency > max_latency) continue;
    if (fallback == nullptr || c.quality > fallback->quality) fallback = &c;
  }
  const bool nothing_fits = fallback == nullptr;
  if (nothing_fits) {
    fallback = &candidates[0];
    for (const Candidate& c : candidates) {
      if (c.latency < fallback->latency) fallback = &c;
    }
  }
  choice.entry = fallback->entry;
  choice.predicted_latency_ms = fallback->latency;
  choice.predicted_quality = fallback->quality;
  choice.budget_met = false;
  if (nothing_fits) {
    choice.note = absl::StrFormat(
        "budget not met: the fastest calibrated configuration (%s) is predicted at %.3g ms, over "
        "max_latency_ms %.3g",
        fallback->entry->name, fallback->latency, max_latency);
  } else {
    choice.note = absl::StrFormat(
        "budget not met: no calibrated configuration%s reaches quality %.4f; ran %s (predicted "
        "quality %.4f, %.3g ms)",
        latency_bound ? " within the latency budget" : "", min_quality, fallback->entry->name,
        fallback->quality, fallback->latency);
  }
  return choice;
}

RunOptions ApplyChoice(const RunOptions& options, const CalibrationEntry& entry) {
  RunOptions out = options;
  if (options.auto_select.attention) {
    out.attention = entry.attention;
    out.attention_params = entry.attention_params;
  }
  if (options.auto_select.linear_precision) out.linear_precision = entry.linear_precision;
  if (options.auto_select.pruning) out.pruning = entry.pruning;
  if (options.auto_select.early_exit) out.early_exit = entry.early_exit;
  out.auto_select = AutoOptions();
  return out;
}

}  // namespace attnserve
