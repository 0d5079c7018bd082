// The quality evaluation grid (issue 5): named configurations (attention
// kernel + parameters + token pruning + early exit) and the measurement of
// one configuration on labelled texts (accuracy, per-text end-to-end latency,
// tokens kept, exit layer, FLOPs) or on long passages (embedding cosine to
// dense, speed-up). No file I/O and no printing: tools/eval_quality and the
// auto policy's calibration both call it; progress goes to a callback.
#ifndef ATTNSERVE_TOOLS_QUALITY_GRID_H_
#define ATTNSERVE_TOOLS_QUALITY_GRID_H_

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "engine/run_options.h"
#include "nlohmann/json.hpp"

namespace attnserve::quality {

// One axis value of the grid, with the label that names it in a config name.
struct AttentionChoice {
  std::string label;  // "dense", "sliding_window(window=16)"
  std::string kernel;
  std::map<std::string, std::string> params;
};
struct PruningChoice {
  std::string label;  // "" = no pruning
  PruningOptions options;
};
struct ExitChoice {
  std::string label;  // "" = no early exit
  EarlyExitOptions options;
};

// A named configuration: what one row of the report measures.
struct GridConfig {
  std::string name;  // "int8+keep0.5+conf0.9"; "dense" is the baseline
  std::string attention = "dense";
  std::map<std::string, std::string> attention_params;
  LinearPrecision linear_precision = LinearPrecision::kF32;  // the dense layers' arithmetic
  PruningOptions pruning;
  EarlyExitOptions early_exit;

  // Run options of one measured call: this configuration, `threads` compute
  // threads, clip `max_tokens` (0 = the model's own).
  RunOptions ToRunOptions(int threads, int max_tokens) const;
};

// "a+b+c" from the non-empty labels, then "+linear_int8" / "+linear_bf16"
// when the dense layers are not f32.
GridConfig Compose(const AttentionChoice& attention, const PruningChoice& pruning,
                   const ExitChoice& exit,
                   LinearPrecision linear_precision = LinearPrecision::kF32);

// The axes. Short: kernels at parameters that mean something at <= 128
// tokens (the model's clip, where the classification sets live). Long: the
// kernels at their catalogue defaults (sized for thousands of tokens).
std::vector<AttentionChoice> ShortAttentionChoices();
std::vector<AttentionChoice> LongAttentionChoices();
// none, keep 0.7 / 0.5 / 0.3 in layer 0, importance threshold 1 in layer 0
// (tokens receiving at least the uniform share of attention), keep 0.5 / 0.3
// in layer 1 only.
std::vector<PruningChoice> PruningChoices();
// none, confidence 0.8 / 0.9 / 0.95, max_layers 1.
std::vector<ExitChoice> ExitChoices();

// The classification grid: not the full product (10 x 5 x 5 = 250 rows per
// set would not fit the time budget). Each axis alone against dense, then
// the combinations that can reach the cost targets (see docs/QUALITY.md).
// The first config is always "dense".
std::vector<GridConfig> ClassificationGrid();
// The long-passage grid: kernels alone, pruning alone, sparse kernels with
// pruning, and exit after layer 0. First config "dense".
std::vector<GridConfig> LongGrid();

// Which clock times a call. kWall: steady clock. kThreadCpu: CPU time of the
// calling thread, which with threads = 1 runs the whole call (OpenMP's team
// of one is the caller): the latency the call would have on an idle core,
// immune to other processes on a shared machine (not to their cache use).
enum class LatencyClock { kWall, kThreadCpu };

// How a row is measured.
struct RowOptions {
  LatencyClock clock = LatencyClock::kWall;
  int threads = 1;     // compute threads per call
  int max_tokens = 0;  // clip; 0 = the model's own
  int warmup = 5;      // untimed calls on the first texts before timing
  int repeats = 1;     // calls per text or passage; the fastest one is timed
  // Cumulative energy in joules (a RAPL / hwmon counter), or nullopt when no
  // reading is available; unset = energy not measured.
  std::function<std::optional<double>()> energy_joules;
  // Called after each text or passage: (done, total).
  std::function<void(size_t, size_t)> progress;
};

// One configuration on one labelled set, batch 1 per text.
struct RowMeasurement {
  size_t texts = 0;
  double accuracy = 0;
  std::vector<double> latencies_ms;  // per text: tokenize + forward + head, options.clock
  double latency_mean_ms = 0;
  double latency_p95_ms = 0;
  double wall_mean_ms = 0;  // the other clocks, whatever options.clock says
  double cpu_mean_ms = 0;
  double tokens_kept_mean = 0;  // tokens pooled per text
  double exit_layer_mean = 0;   // layers run per text (1-based)
  double flops_mean = 0;        // RunStats::flops per text
  std::optional<double> energy_mj_mean;
};

// Classifies each text alone with head `head` under `config` and compares
// with `labels` (the head's label names). Errors: sizes differ, an engine
// error (naming the config and text index).
absl::StatusOr<RowMeasurement> MeasureClassification(const Engine& engine, const GridConfig& config,
                                                     const std::vector<std::string>& texts,
                                                     const std::vector<std::string>& labels,
                                                     const std::string& head,
                                                     const RowOptions& options);

// One row of docs/results/quality.json.
struct QualityRow {
  std::string config;
  std::string attention;
  std::string linear_precision;
  std::string dataset;
  double accuracy = 0;
  double dense_accuracy = 0;
  double retention = 0;
  double latency_mean_ms = 0;
  double latency_p95_ms = 0;
  double tokens_kept_mean = 0;
  double exit_layer_mean = 0;
  double relative_flops = 0;
  std::optional<double> energy_mj_mean;
};

QualityRow MakeQualityRow(const GridConfig& config, const std::string& dataset,
                          const RowMeasurement& measured, const RowMeasurement& dense);
// The report's snake_case fields; energy_mj_mean is null when unknown.
nlohmann::ordered_json QualityRowToJson(const QualityRow& row);

// One configuration on long passages clipped to n tokens.
struct LongMeasurement {
  int tokens = 0;                              // tokens used, first passage
  std::vector<std::vector<float>> embeddings;  // per passage
  double latency_ms = 0;  // mean over passages (best of repeats), options.clock
  double tokens_kept_mean = 0;
  double flops_mean = 0;
};

absl::StatusOr<LongMeasurement> MeasureLong(const Engine& engine, const GridConfig& config,
                                            const std::vector<std::string>& passages, int n,
                                            const RowOptions& options);

// One row of docs/results/quality_long.json.
struct LongRow {
  std::string config;
  std::string attention;
  std::string linear_precision;
  int tokens = 0;
  double cosine_mean = 0;
  double cosine_min = 0;
  double latency_ms = 0;
  double dense_latency_ms = 0;
  double speedup = 0;
  double relative_flops = 0;
  double tokens_kept_mean = 0;
};

// Errors when the passage counts or embedding sizes differ.
absl::StatusOr<LongRow> MakeLongRow(const GridConfig& config, const LongMeasurement& measured,
                                    const LongMeasurement& dense);
nlohmann::ordered_json LongRowToJson(const LongRow& row);

// Pure helpers (unit-tested).
double Mean(const std::vector<double>& values);
// Nearest-rank percentile, p in (0, 100]; 0 for no values.
double Percentile(std::vector<double> values, double p);
// accuracy / dense_accuracy; 0 when dense_accuracy is 0.
double Retention(double accuracy, double dense_accuracy);
double Cosine(const float* a, const float* b, int dim);
// Indices of the points (cost, quality) no other point beats: none has
// cost <= and quality >= with one strict. Sorted by cost ascending.
std::vector<size_t> ParetoFront(const std::vector<std::pair<double, double>>& cost_quality);

}  // namespace attnserve::quality

#endif  // ATTNSERVE_TOOLS_QUALITY_GRID_H_
