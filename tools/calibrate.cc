// calibrate: measures, on this machine, what each candidate configuration
// (attention kernel, token pruning, early exit) costs and keeps, and writes
// the auto policy's table beside the model (docs/AUTO_POLICY.md):
//   - latency of one text on one thread at each length (median of --reps),
//     on real prose (bench/data/quality_passages.json, clipped to the length);
//   - embedding cosine to dense at each length, mean over the passages;
//   - classification retention (accuracy / dense accuracy, mean over the
//     labelled sets that have a head), when --data and heads are present.
//
//   calibrate [--model models/use-lite] [--data data] [--quick]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "CLI/CLI.hpp"
#include "engine/engine.h"
#include "engine/policy/auto_policy.h"
#include "engine/util/file_io.h"
#include "nlohmann/json.hpp"
#include "tools/labelled_data.h"
#include "tools/quality_grid.h"

namespace attnserve {
namespace {

CalibrationEntry Row(std::string name, std::string attention,
                     std::map<std::string, std::string> params = {}) {
  CalibrationEntry e;
  e.name = std::move(name);
  e.attention = std::move(attention);
  e.attention_params = std::move(params);
  return e;
}

// The same row with its dense layers in int8 or bf16 (docs/QUANTIZATION.md).
CalibrationEntry WithLinear(CalibrationEntry e, LinearPrecision precision) {
  e.name += "+linear_" + std::string(LinearPrecisionName(precision));
  e.linear_precision = precision;
  return e;
}

CalibrationEntry WithKeep(CalibrationEntry e, double keep) {
  e.name += "+keep" + std::to_string(keep).substr(0, 3);
  e.pruning.keep_ratio = {keep};
  return e;
}

CalibrationEntry WithExit(CalibrationEntry e, int max_layers, double confidence) {
  if (max_layers > 0) {
    e.name += "+exit" + std::to_string(max_layers);
    e.early_exit.max_layers = max_layers;
  } else {
    e.name += "+conf" + std::to_string(confidence).substr(0, 4);
    e.early_exit.min_confidence = confidence;
  }
  return e;
}

// The candidates: each attention family at a budget that keeps quality on
// this model (docs/ATTENTION_QUALITY.md), pruning and exit on the dense and
// the cheapest sparse kernel, and confidence exits for Classify.
std::vector<CalibrationEntry> Candidates(bool quick) {
  std::vector<CalibrationEntry> c = {
      Row("dense", "dense"),
      Row("sliding_window(64)", "sliding_window", {{"window", "64"}}),
      Row("sliding_window(128)", "sliding_window", {{"window", "128"}}),
      Row("bigbird", "bigbird"),
      Row("nystrom", "nystrom"),
      Row("linformer", "linformer"),
      Row("int8", "int8"),
      Row("bf16", "bf16"),
  };
  if (!quick) {
    c.push_back(Row("block_sparse", "block_sparse"));
    c.push_back(Row("longformer", "longformer"));
    c.push_back(Row("adaptive_topk", "adaptive_topk"));
  }
  for (double keep : {0.7, 0.5, 0.3}) c.push_back(WithKeep(Row("dense", "dense"), keep));
  c.push_back(WithKeep(Row("sliding_window(64)", "sliding_window", {{"window", "64"}}), 0.5));
  c.push_back(WithExit(Row("dense", "dense"), 1, 0));
  c.push_back(WithExit(Row("sliding_window(64)", "sliding_window", {{"window", "64"}}), 1, 0));
  for (double conf : {0.8, 0.9, 0.95}) c.push_back(WithExit(Row("dense", "dense"), 0, conf));
  c.push_back(WithExit(WithKeep(Row("dense", "dense"), 0.5), 0, 0.9));
  // Low-precision dense layers: the cost at short lengths, where the linear
  // layers are nearly all the work.
  c.push_back(WithLinear(Row("dense", "dense"), LinearPrecision::kInt8));
  c.push_back(WithLinear(Row("dense", "dense"), LinearPrecision::kBf16));
  c.push_back(WithLinear(WithKeep(Row("dense", "dense"), 0.5), LinearPrecision::kInt8));
  c.push_back(WithLinear(WithExit(Row("dense", "dense"), 1, 0), LinearPrecision::kInt8));
  for (double conf : {0.9, 0.95}) {
    c.push_back(WithLinear(WithExit(Row("dense", "dense"), 0, conf), LinearPrecision::kInt8));
  }
  c.push_back(
      WithLinear(WithKeep(Row("sliding_window(64)", "sliding_window", {{"window", "64"}}), 0.5),
                 LinearPrecision::kInt8));
  return c;
}

RunOptions OptionsOf(const CalibrationEntry& e, int max_tokens) {
  RunOptions o;
  o.attention = e.attention;
  o.attention_params = e.attention_params;
  o.linear_precision = e.linear_precision;
  o.pruning = e.pruning;
  o.early_exit = e.early_exit;
  o.max_tokens = max_tokens;
  o.num_threads = 1;
  return o;
}

bool ClassifyOnly(const CalibrationEntry& e) {
  return e.early_exit.min_confidence != 0 || e.early_exit.max_entropy >= 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One run of `e` on `text` clipped to `length`: its wall time (ms) and
// embedding (for Classify-only rows, the run is a Classify and has none).
absl::StatusOr<double> TimeOnce(const Engine& engine, const CalibrationEntry& e,
                                const std::string& text, int length, const std::string& head,
                                std::vector<float>* embedding) {
  const auto start = std::chrono::steady_clock::now();
  if (ClassifyOnly(e)) {
    absl::StatusOr<ClassifyResult> r = engine.Classify({text}, head, OptionsOf(e, length));
    if (!r.ok()) return r.status();
  } else {
    absl::StatusOr<EmbedResult> r = engine.Embed({text}, OptionsOf(e, length));
    if (!r.ok()) return r.status();
    if (embedding != nullptr) *embedding = r->embeddings;
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

absl::Status MeasureLengths(const Engine& engine, const std::vector<std::string>& passages,
                            const std::string& head, int reps, CalibrationTable* table) {
  const int dim = engine.model_info().embedding_dim;
  std::vector<std::vector<std::vector<float>>> dense(table->lengths.size());
  for (CalibrationEntry& e : table->entries) {
    std::cerr << "calibrate: " << e.name << std::flush;
    if (ClassifyOnly(e) && head.empty()) {
      std::cerr << " (skipped: no head)\n";
      continue;
    }
    for (size_t li = 0; li < table->lengths.size(); ++li) {
      const int length = table->lengths[li];
      std::vector<double> times;
      double cosine_sum = 0;
      for (size_t p = 0; p < passages.size(); ++p) {
        std::vector<float> embedding;
        // Warm-up on the first passage, then the timed repetitions.
        const int runs = p == 0 ? reps + 1 : 1;
        for (int r = 0; r < runs; ++r) {
          absl::StatusOr<double> ms = TimeOnce(engine, e, passages[p], length, head, &embedding);
          if (!ms.ok()) return ms.status();
          if (r > 0 || runs == 1) times.push_back(*ms);
        }
        if (e.name == "dense") dense[li].push_back(embedding);
        if (!embedding.empty())
          cosine_sum += quality::Cosine(embedding.data(), dense[li][p].data(), dim);
      }
      e.latency_ms.push_back(Median(times));
      // Classify-only rows change when a text stops, not what the encoder
      // computes up to there; their embedding quality is dense's.
      e.cosine.push_back(ClassifyOnly(e) ? 1.0 : cosine_sum / passages.size());
      std::cerr << "  " << length << ":" << e.latency_ms.back() << "ms" << std::flush;
    }
    std::cerr << "\n";
  }
  // Rows skipped for want of a head are dropped.
  std::erase_if(table->entries, [](const CalibrationEntry& e) { return e.latency_ms.empty(); });
  return absl::OkStatus();
}

absl::Status MeasureRetention(const Engine& engine, const std::string& data_dir, int per_set,
                              CalibrationTable* table, nlohmann::json* sets) {
  std::vector<std::pair<std::string, LabelledSet>> data;
  for (const auto& [name, head] : engine.heads()) {
    absl::StatusOr<LabelledSet> d = ReadLabelledJsonl(data_dir + "/" + name + "/test.jsonl");
    if (!d.ok()) continue;  // a head without its data set here
    if (static_cast<int>(d->texts.size()) > per_set) {
      d->texts.resize(per_set);
      d->labels.resize(per_set);
    }
    data.emplace_back(name, *std::move(d));
    sets->push_back({{"name", name}, {"texts", data.back().second.texts.size()}});
  }
  if (data.empty()) return absl::OkStatus();
  std::map<std::string, double> dense_accuracy;
  for (CalibrationEntry& e : table->entries) {
    double sum = 0;
    for (const auto& [name, d] : data) {
      absl::StatusOr<ClassifyResult> r = engine.Classify(d.texts, name, OptionsOf(e, 0));
      if (!r.ok()) return r.status();
      int correct = 0;
      for (size_t i = 0; i < d.texts.size(); ++i) {
        correct += r->labels[r->predicted[i]] == d.labels[i];
      }
      const double accuracy = static_cast<double>(correct) / d.texts.size();
      if (e.name == "dense") dense_accuracy[name] = accuracy;
      sum += accuracy / std::max(dense_accuracy[name], 1e-9);
    }
    e.retention = sum / data.size();
    std::cerr << "calibrate: retention " << e.name << " " << e.retention << "\n";
  }
  return absl::OkStatus();
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

int Run(const std::string& model_dir, const std::string& heads_dir, const std::string& data_dir,
        const std::string& passages_file, std::string out, bool quick, int reps, int per_set,
        std::vector<int> lengths) {
  EngineConfig config;
  config.model_dir = model_dir;
  config.heads_dir = heads_dir;
  config.calibration_file = model_dir + "/.no-calibration";  // measure without the old table
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Load(config);
  if (!engine.ok()) {
    std::cerr << "calibrate: " << engine.status() << "\n";
    return 2;
  }
  absl::StatusOr<std::string> text = ReadFileToString(passages_file);
  if (!text.ok()) {
    std::cerr << "calibrate: " << text.status() << "\n";
    return 2;
  }
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  std::vector<std::string> passages;
  if (j.is_object() && j.contains("passages")) {
    for (const auto& p : j["passages"]) passages.push_back(p.value("text", ""));
  }
  if (passages.empty()) {
    std::cerr << "calibrate: " << passages_file << ": no passages\n";
    return 2;
  }
  CalibrationTable table;
  table.model = (*engine)->model_info().name;
  if (lengths.empty()) {
    lengths = quick ? std::vector<int>{16, 64, 128, 512}
                    : std::vector<int>{16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
  }
  if (!std::is_sorted(lengths.begin(), lengths.end()) ||
      std::adjacent_find(lengths.begin(), lengths.end()) != lengths.end()) {
    std::cerr << "calibrate: --lengths must be strictly increasing\n";
    return 2;
  }
  table.lengths = lengths;
  table.entries = Candidates(quick);
  const std::string head =
      (*engine)->heads().empty() ? std::string() : (*engine)->heads().begin()->first;
  const std::string load_before = LoadAverage();
  if (absl::Status s = MeasureLengths(**engine, passages, head, reps, &table); !s.ok()) {
    std::cerr << "calibrate: " << s << "\n";
    return 1;
  }
  nlohmann::json sets = nlohmann::json::array();
  if (absl::Status s = MeasureRetention(**engine, data_dir, per_set, &table, &sets); !s.ok()) {
    std::cerr << "calibrate: " << s << "\n";
    return 1;
  }
  table.metadata_json = nlohmann::json{
      {"date", UtcNow()},
      {"tool", "tools/calibrate"},
      {"threads", 1},
      {"reps", reps},
      {"passages", passages_file},
      {"labelled_sets", sets},
      {"load_average_before", load_before},
      {"load_average_after",
       LoadAverage()}}.dump();
  if (out.empty()) out = model_dir + "/calibration.json";
  std::ofstream(out) << CalibrationTableToJson(table) << "\n";
  std::cerr << "calibrate: wrote " << out << " (" << table.entries.size() << " configurations)\n";
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  CLI::App app{"calibrate: the auto policy's cost and quality table, measured on this machine"};
  std::string model = "models/use-lite", heads, data = "data", out;
  std::string passages = "bench/data/quality_passages.json";
  bool quick = false;
  int reps = 3, per_set = 150;
  std::vector<int> lengths;
  app.add_option("--model", model, "Model directory");
  app.add_option("--heads", heads, "Heads directory (default <model>/heads)");
  app.add_option("--data", data, "Labelled sets (data/<set>/test.jsonl) for retention");
  app.add_option("--passages", passages, "Real prose for the length sweep");
  app.add_option("--out", out, "Output (default <model>/calibration.json)");
  app.add_flag("--quick", quick, "Fewer kernels, lengths up to 512 (about a minute)");
  app.add_option("--reps", reps, "Timed runs per point (median)")->check(CLI::Range(1, 50));
  app.add_option("--texts-per-set", per_set, "Labelled texts per set")
      ->check(CLI::Range(1, 100000));
  app.add_option("--lengths", lengths, "Token counts to measure (increasing)")
      ->delimiter(',')
      ->check(CLI::Range(1, 65536));
  CLI11_PARSE(app, argc, argv);
  return attnserve::Run(model, heads, data, passages, out, quick, reps, per_set, lengths);
}
