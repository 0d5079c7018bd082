// The auto policy: per request, pick the configuration (attention kernel,
// token pruning, early exit) that meets the request's budget, from a cost and
// quality table measured on this box (tools/calibrate writes it beside the
// model as calibration.json; docs/AUTO_POLICY.md).
//
// Rules (AutoOptions says which dimensions are auto; the others stay fixed and
// only table rows with the same fixed settings are candidates):
//   - min_retention only: the cheapest candidate whose quality meets it;
//   - max_latency_ms only: the best-quality candidate predicted to fit it;
//   - both: the cheapest candidate meeting both;
//   - neither: min_retention = AutoOptions::kDefaultMinRetention.
// When nothing meets the budget the request still runs (the fastest candidate
// for a latency budget, the best for a quality one) and the choice says the
// budget was not met, and why.
#ifndef ATTNSERVE_ENGINE_POLICY_AUTO_POLICY_H_
#define ATTNSERVE_ENGINE_POLICY_AUTO_POLICY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/run_options.h"

namespace attnserve {

// One measured configuration.
struct CalibrationEntry {
  std::string name;  // e.g. "sliding_window(w=64)+keep0.5"
  std::string attention = "dense";
  std::map<std::string, std::string> attention_params;
  LinearPrecision linear_precision = LinearPrecision::kF32;
  PruningOptions pruning;
  EarlyExitOptions early_exit;
  // Latency of one text, one thread, at each of the table's lengths (ms).
  std::vector<double> latency_ms;
  // Embedding cosine to dense at each length (mean over the passages).
  std::vector<double> cosine;
  // Classification accuracy / dense accuracy on labelled data (mean over
  // the data sets); < 0 when not measured.
  double retention = -1;
};

struct CalibrationTable {
  std::string model;         // ModelInfo::name it was measured on
  std::vector<int> lengths;  // token counts, strictly increasing
  std::vector<CalibrationEntry> entries;
  // Machine, load, date, data sets, tool: a JSON object's text (or empty).
  std::string metadata_json;

  // The entry named `name`, or null.
  const CalibrationEntry* Find(const std::string& name) const;
};

// Parses and checks calibration.json against engine/policy/calibration.proto
// and what the schema cannot say (lengths increasing, one latency and cosine
// per length, ranges; known kernels are checked later by the engine). Errors
// name `source` and the field. (engine/policy/calibration_json.cc)
absl::StatusOr<CalibrationTable> ParseCalibrationTable(const std::string& json_text,
                                                       const std::string& source);
std::string CalibrationTableToJson(const CalibrationTable& table);

// A canonical text of a configuration's pruning / exit settings, so fixed
// request settings can be matched against table rows.
std::string PruningSignature(const PruningOptions& p);
std::string EarlyExitSignature(const EarlyExitOptions& e);

// Range checks of a request's auto options (InvalidArgument naming the field).
absl::Status ValidateAutoOptions(const AutoOptions& options);

struct AutoChoice {
  const CalibrationEntry* entry = nullptr;
  double predicted_latency_ms = 0;
  double predicted_quality = 0;  // retention (classify) or cosine (embed)
  bool budget_met = true;
  std::string note;  // why the budget was not met, or what decided
};

// Predicted latency (ms) of one text of `tokens` tokens on one thread:
// piecewise-linear in the table's lengths, extrapolated linearly past the
// ends.
double PredictLatencyMs(const CalibrationTable& table, const CalibrationEntry& entry, int tokens);
// Embedding cosine at `tokens` (interpolated, clamped at the ends).
double PredictCosine(const CalibrationTable& table, const CalibrationEntry& entry, int tokens);

// Picks a configuration for texts of these (clipped) token counts run with
// `threads` threads. `fixed` holds the request's settings for the dimensions
// that are not auto. `classify` selects the quality measure (retention when
// measured, else cosine) and which exit rows apply (confidence/entropy exits
// only for Classify, embed_cosine only for Embed). FailedPrecondition when
// no row matches the fixed settings.
absl::StatusOr<AutoChoice> ChooseConfiguration(const CalibrationTable& table,
                                               const RunOptions& fixed,
                                               const std::vector<int>& token_counts, int threads,
                                               bool classify);

// `options` with the chosen row's settings in its auto dimensions.
RunOptions ApplyChoice(const RunOptions& options, const CalibrationEntry& entry);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_POLICY_AUTO_POLICY_H_
