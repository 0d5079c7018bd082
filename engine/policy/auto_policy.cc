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

using nlohmann::json;

absl::Status Bad(const std::string& source, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
}

absl::StatusOr<std::vector<double>> Numbers(const json& j, const std::string& field,
                                            const std::string& source) {
  if (!j.is_array()) return Bad(source, absl::StrCat(field, ": expected an array of numbers"));
  std::vector<double> out;
  for (const json& v : j) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      return Bad(source, absl::StrCat(field, ": expected finite numbers"));
    }
    out.push_back(v.get<double>());
  }
  return out;
}

absl::StatusOr<PruningOptions> ParsePruning(const json& j, const std::string& where) {
  PruningOptions p;
  if (j.is_null()) return p;
  if (!j.is_object()) return Bad(where, "expected an object");
  if (j.contains("keep_ratio")) {
    absl::StatusOr<std::vector<double>> v = Numbers(j["keep_ratio"], "keep_ratio", where);
    if (!v.ok()) return v.status();
    p.keep_ratio = *v;
  }
  if (j.contains("importance_threshold")) {
    absl::StatusOr<std::vector<double>> v =
        Numbers(j["importance_threshold"], "importance_threshold", where);
    if (!v.ok()) return v.status();
    p.importance_threshold = *v;
  }
  p.min_tokens = j.value("min_tokens", 1);
  p.keep_first = j.value("keep_first", 1);
  const std::string fallback = j.value("fallback", std::string("hidden_norm"));
  if (fallback == "keep_all") {
    p.fallback = PruningOptions::Fallback::kKeepAll;
  } else if (fallback != "hidden_norm") {
    return Bad(where, absl::StrCat("fallback: '", fallback, "' is not hidden_norm or keep_all"));
  }
  return p;
}

json PruningToJson(const PruningOptions& p) {
  return {
      {"keep_ratio", p.keep_ratio},
      {"importance_threshold", p.importance_threshold},
      {"min_tokens", p.min_tokens},
      {"keep_first", p.keep_first},
      {"fallback", p.fallback == PruningOptions::Fallback::kKeepAll ? "keep_all" : "hidden_norm"}};
}

EarlyExitOptions ParseExit(const json& j) {
  EarlyExitOptions e;
  if (!j.is_object()) return e;
  e.max_layers = j.value("max_layers", 0);
  e.embed_cosine = j.value("embed_cosine", 0.0);
  e.min_confidence = j.value("min_confidence", 0.0);
  e.max_entropy = j.value("max_entropy", -1.0);
  return e;
}

json ExitToJson(const EarlyExitOptions& e) {
  return {{"max_layers", e.max_layers},
          {"embed_cosine", e.embed_cosine},
          {"min_confidence", e.min_confidence},
          {"max_entropy", e.max_entropy}};
}

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

absl::StatusOr<CalibrationTable> ParseCalibrationTable(const std::string& json_text,
                                                       const std::string& source) {
  const json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad(source, "not a JSON object");
  CalibrationTable table;
  table.model = j.value("model", std::string());
  if (j.contains("metadata")) table.metadata = j["metadata"];
  if (!j.contains("lengths")) return Bad(source, "lengths: missing");
  absl::StatusOr<std::vector<double>> lengths = Numbers(j["lengths"], "lengths", source);
  if (!lengths.ok()) return lengths.status();
  if (lengths->empty()) return Bad(source, "lengths: empty");
  for (size_t i = 0; i < lengths->size(); ++i) {
    const double v = (*lengths)[i];
    if (v < 1 || v > 1 << 20 || v != std::floor(v) || (i > 0 && v <= (*lengths)[i - 1])) {
      return Bad(source, "lengths: must be strictly increasing whole token counts >= 1");
    }
    table.lengths.push_back(static_cast<int>(v));
  }
  if (!j.contains("entries") || !j["entries"].is_array() || j["entries"].empty()) {
    return Bad(source, "entries: missing or empty");
  }
  for (size_t i = 0; i < j["entries"].size(); ++i) {
    const json& row = j["entries"][i];
    const std::string where = absl::StrCat(source, ": entries[", i, "]");
    if (!row.is_object()) return Bad(where, "expected an object");
    CalibrationEntry e;
    e.name = row.value("name", std::string());
    if (e.name.empty()) return Bad(where, "name: missing");
    if (table.Find(e.name) != nullptr)
      return Bad(where, absl::StrCat("name: '", e.name, "' repeats"));
    e.attention = row.value("attention", std::string("dense"));
    if (row.contains("attention_params")) {
      if (!row["attention_params"].is_object())
        return Bad(where, "attention_params: not an object");
      for (const auto& [k, v] : row["attention_params"].items()) {
        if (!v.is_string())
          return Bad(where, absl::StrCat("attention_params.", k, ": not a string"));
        e.attention_params[k] = v.get<std::string>();
      }
    }
    e.linear_precision = row.value("linear_precision", std::string("f32"));
    if (!ParseLinearPrecision(e.linear_precision)) {
      return Bad(where, absl::StrCat("linear_precision: '", e.linear_precision, "' is not one of ",
                                     kLinearPrecisionNames));
    }
    absl::StatusOr<PruningOptions> pruning =
        ParsePruning(row.value("pruning", json()), where + ".pruning");
    if (!pruning.ok()) return pruning.status();
    e.pruning = *pruning;
    e.early_exit = ParseExit(row.value("early_exit", json()));
    for (const char* field : {"latency_ms", "cosine"}) {
      if (!row.contains(field)) return Bad(where, absl::StrCat(field, ": missing"));
      absl::StatusOr<std::vector<double>> v = Numbers(row[field], field, where);
      if (!v.ok()) return v.status();
      if (v->size() != table.lengths.size()) {
        return Bad(where, absl::StrCat(field, ": ", v->size(), " values for ", table.lengths.size(),
                                       " lengths"));
      }
      for (double x : *v) {
        if (x < 0 || (std::string(field) == "cosine" && x > 1.0001)) {
          return Bad(where, absl::StrCat(field, ": value ", x, " out of range"));
        }
      }
      (std::string(field) == "latency_ms" ? e.latency_ms : e.cosine) = *std::move(v);
    }
    if (row.contains("retention") && !row["retention"].is_null()) {
      if (!row["retention"].is_number() || row["retention"].get<double>() < 0 ||
          row["retention"].get<double>() > 2) {
        return Bad(where, "retention: expected a number in [0, 2] or null");
      }
      e.retention = row["retention"].get<double>();
    }
    table.entries.push_back(std::move(e));
  }
  return table;
}

std::string CalibrationTableToJson(const CalibrationTable& table) {
  json entries = json::array();
  for (const CalibrationEntry& e : table.entries) {
    entries.push_back({{"name", e.name},
                       {"attention", e.attention},
                       {"attention_params", e.attention_params},
                       {"linear_precision", e.linear_precision},
                       {"pruning", PruningToJson(e.pruning)},
                       {"early_exit", ExitToJson(e.early_exit)},
                       {"latency_ms", e.latency_ms},
                       {"cosine", e.cosine},
                       {"retention", e.retention < 0 ? json() : json(e.retention)}});
  }
  json j = {{"model", table.model},
            {"lengths", table.lengths},
            {"metadata", table.metadata},
            {"entries", entries}};
  return j.dump(1);
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
        fixed.attention, "', linear_precision '", fixed.linear_precision, "', pruning ",
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
