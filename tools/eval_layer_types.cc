// eval_layer_types: serves every classifier tools/layer_types/train.py
// trained (Optimized / Efficient / Super attention and the standard
// baseline, docs/LAYER_TYPES.md) through attnserve's engine, and prints per
// data set and layer type the test accuracy attnserve gets (mean and spread
// over the seeds), PyTorch's accuracy for the same runs, and the largest
// probability difference on the texts PyTorch recorded in each model's
// reference.json (exit status 1 when one exceeds 1e-4).
//
//   eval_layer_types [--trained build/layer_types] [--data data]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "engine/engine.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "tools/labelled_data.h"

namespace attnserve {
namespace {

using nlohmann::json;

struct RunResult {
  double accuracy = 0;        // attnserve's
  double torch_accuracy = 0;  // results.json's
  double max_prob_diff = 0;   // on reference.json's texts
};

absl::StatusOr<json> ReadJson(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(path + ": not JSON");
  return j;
}

// Classifies `texts` in batches of 32 with default options: the predicted
// label of each, and (when `scores` is not null) its probabilities.
absl::StatusOr<std::vector<std::string>> Predict(const Engine& engine,
                                                 const std::vector<std::string>& texts,
                                                 std::vector<std::vector<float>>* scores) {
  std::vector<std::string> predicted;
  constexpr size_t kBatch = 32;
  for (size_t i = 0; i < texts.size(); i += kBatch) {
    const std::vector<std::string> batch(texts.begin() + i,
                                         texts.begin() + std::min(texts.size(), i + kBatch));
    ASSIGN_OR_RETURN(ClassifyResult r, engine.Classify(batch, "classifier", RunOptions()));
    for (int label : r.predicted) predicted.push_back(r.labels[label]);
    if (scores != nullptr) scores->insert(scores->end(), r.scores.begin(), r.scores.end());
  }
  return predicted;
}

absl::StatusOr<RunResult> Evaluate(const json& run, const std::string& trained,
                                   const LabelledSet& test) {
  const std::string dir = trained + "/" + run["model"].get<std::string>();
  EngineConfig config;
  config.model_dir = dir;
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Load(config));
  RunResult result;
  result.torch_accuracy = run["accuracy"].get<double>();

  ASSIGN_OR_RETURN(const json reference, ReadJson(dir + "/reference.json"));
  std::vector<std::vector<float>> scores;
  RETURN_IF_ERROR(
      Predict(*engine, reference["texts"].get<std::vector<std::string>>(), &scores).status());
  const auto want = reference["probabilities"].get<std::vector<std::vector<double>>>();
  for (size_t t = 0; t < want.size(); ++t) {
    for (size_t k = 0; k < want[t].size(); ++k) {
      result.max_prob_diff = std::max(result.max_prob_diff, std::abs(scores[t][k] - want[t][k]));
    }
  }

  ASSIGN_OR_RETURN(const std::vector<std::string> predicted, Predict(*engine, test.texts, nullptr));
  int correct = 0;
  for (size_t i = 0; i < predicted.size(); ++i) {
    correct += predicted[i] == test.labels[i];
  }
  result.accuracy = static_cast<double>(correct) / static_cast<double>(predicted.size());
  return result;
}

std::string MeanStd(const std::vector<double>& v) {
  double mean = 0, var = 0;
  for (double x : v) mean += x / static_cast<double>(v.size());
  for (double x : v) var += (x - mean) * (x - mean);
  const double std = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0.0;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f ± %.1f", 100 * mean, 100 * std);
  return buf;
}

int Main(int argc, char** argv) {
  CLI::App app{"attnserve's accuracy on the layer-type classifiers train.py trained"};
  std::string trained = "build/layer_types", data = "data";
  app.add_option("--trained", trained, "train.py's output directory (results.json)");
  app.add_option("--data", data, "directory of <set>/test.jsonl");
  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<json> results = ReadJson(trained + "/results.json");
  if (!results.ok()) {
    std::cerr << "eval_layer_types: " << results.status() << "\n";
    return 2;
  }
  // set -> type -> runs, in results.json's order.
  std::vector<std::string> sets, types;
  std::map<std::string, std::map<std::string, std::vector<RunResult>>> by;
  std::map<std::string, LabelledSet> tests;
  for (const json& run : (*results)["runs"]) {
    const std::string set = run["set"], type = run["type"];
    if (!tests.count(set)) {
      absl::StatusOr<LabelledSet> test = ReadLabelledJsonl(data + "/" + set + "/test.jsonl");
      if (!test.ok()) {
        std::cerr << "eval_layer_types: " << test.status() << "\n";
        return 2;
      }
      tests[set] = *std::move(test);
      sets.push_back(set);
    }
    if (std::find(types.begin(), types.end(), type) == types.end()) types.push_back(type);
    absl::StatusOr<RunResult> r = Evaluate(run, trained, tests[set]);
    if (!r.ok()) {
      std::cerr << "eval_layer_types: " << run["model"] << ": " << r.status() << "\n";
      return 1;
    }
    std::cerr << run["model"].get<std::string>() << ": attnserve " << r->accuracy << ", torch "
              << r->torch_accuracy << "\n";
    by[set][type].push_back(*r);
  }
  std::printf(
      "| set | type | attnserve accuracy %%, mean ± std | PyTorch accuracy %%, mean ± std | "
      "seeds | max abs probability diff (reference texts) |\n"
      "|---|---|---|---|---:|---:|\n");
  int status = 0;
  for (const std::string& set : sets) {
    for (const std::string& type : types) {
      const std::vector<RunResult>& runs = by[set][type];
      if (runs.empty()) continue;
      std::vector<double> ours, theirs;
      double diff = 0;
      for (const RunResult& r : runs) {
        ours.push_back(r.accuracy);
        theirs.push_back(r.torch_accuracy);
        diff = std::max(diff, r.max_prob_diff);
      }
      std::printf("| %s | %s | %s | %s | %zu | %.1e |\n", set.c_str(), type.c_str(),
                  MeanStd(ours).c_str(), MeanStd(theirs).c_str(), runs.size(), diff);
      if (diff > 1e-4) status = 1;  // the engine no longer computes the trained model
    }
  }
  if (status != 0) std::cerr << "eval_layer_types: a probability differs from PyTorch by > 1e-4\n";
  return status;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) { return attnserve::Main(argc, argv); }
