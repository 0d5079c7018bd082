// train_heads: fits one multinomial logistic-regression head per encoder layer
// on the model's embedding after that layer (mean pool, tanh dense, L2), and
// saves them with labels and metadata as <model>/heads/<name>.json.
//
//   train_heads --data data/imdb --name imdb [--model models/use-lite]
//
// The regularisation C is chosen per layer from {0.1, 1, 10, 100} on a
// held-out fifth of the training split, then the head is refitted on the whole
// training split; the test split only measures it.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "CLI/CLI.hpp"
#include "engine/engine.h"
#include "engine/policy/classifier_head.h"
#include "engine/policy/logistic_regression.h"
#include "nlohmann/json.hpp"
#include "tools/labelled_data.h"

namespace attnserve {
namespace {

// Embeddings [texts, dim] after `layers` layers, in batches, with progress.
absl::StatusOr<std::vector<float>> EmbedAfter(const Engine& engine,
                                              const std::vector<std::string>& texts, int layers,
                                              int max_tokens, const char* what) {
  RunOptions options;
  options.max_tokens = max_tokens;
  options.num_threads = 1;
  if (layers < engine.model_info().num_layers) options.early_exit.max_layers = layers;
  std::vector<float> out;
  constexpr size_t kBatch = 32;
  for (size_t i = 0; i < texts.size(); i += kBatch) {
    std::vector<std::string> batch(texts.begin() + i,
                                   texts.begin() + std::min(texts.size(), i + kBatch));
    absl::StatusOr<EmbedResult> r = engine.Embed(batch, options);
    if (!r.ok()) return r.status();
    out.insert(out.end(), r->embeddings.begin(), r->embeddings.end());
    std::cerr << "\r  " << what << " after layer " << layers - 1 << ": "
              << std::min(texts.size(), i + kBatch) << "/" << texts.size() << std::flush;
  }
  std::cerr << "\n";
  return out;
}

std::vector<int> LabelIndices(const std::vector<std::string>& labels,
                              const std::vector<std::string>& names) {
  std::vector<int> y;
  for (const std::string& l : labels) {
    y.push_back(static_cast<int>(std::find(names.begin(), names.end(), l) - names.begin()));
  }
  return y;
}

std::string UtcDate() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

int Run(const std::string& model_dir, const std::string& data_dir, const std::string& name,
        std::string out_path, int max_tokens) {
  EngineConfig config;
  config.model_dir = model_dir;
  config.heads_dir = model_dir + "/heads/.none";  // train without loading old heads
  auto engine = Engine::Load(config);
  if (!engine.ok()) {
    std::cerr << "train_heads: " << engine.status() << "\n";
    return 2;
  }
  auto train = ReadLabelledJsonl(data_dir + "/train.jsonl");
  auto test = ReadLabelledJsonl(data_dir + "/test.jsonl");
  if (!train.ok() || !test.ok()) {
    std::cerr << "train_heads: " << (train.ok() ? test.status() : train.status()) << "\n";
    return 2;
  }
  std::vector<std::string> names = train->labels;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const std::vector<int> y_train = LabelIndices(train->labels, names);
  const std::vector<int> y_test = LabelIndices(test->labels, names);
  for (int y : y_test) {
    if (y >= static_cast<int>(names.size())) {
      std::cerr << "train_heads: the test split has a label the training split lacks\n";
      return 2;
    }
  }
  const ModelInfo& info = (*engine)->model_info();
  const int dim = info.embedding_dim;
  ClassifierHead head;
  head.name = name;
  head.labels = names;
  head.dim = dim;
  nlohmann::json layer_meta = nlohmann::json::array();
  for (int k = 0; k < info.num_layers; ++k) {
    auto x_train = EmbedAfter(**engine, train->texts, k + 1, max_tokens, "train");
    auto x_test = EmbedAfter(**engine, test->texts, k + 1, max_tokens, "test");
    if (!x_train.ok() || !x_test.ok()) {
      std::cerr << "train_heads: " << (x_train.ok() ? x_test.status() : x_train.status()) << "\n";
      return 2;
    }
    // Hold out every fifth training row to choose C.
    std::vector<float> fit_x, val_x;
    std::vector<int> fit_y, val_y;
    for (size_t i = 0; i < y_train.size(); ++i) {
      auto& xs = i % 5 == 4 ? val_x : fit_x;
      (i % 5 == 4 ? val_y : fit_y).push_back(y_train[i]);
      xs.insert(xs.end(), x_train->begin() + i * dim, x_train->begin() + (i + 1) * dim);
    }
    double best_c = 1, best_acc = -1;
    for (double c : {0.1, 1.0, 10.0, 100.0}) {
      LogisticRegressionOptions o;
      o.c = c;
      const double acc =
          Accuracy(FitLogisticRegression(fit_x, dim, fit_y, names.size(), o), val_x, val_y);
      if (acc > best_acc) best_acc = acc, best_c = c;
    }
    LogisticRegressionOptions o;
    o.c = best_c;
    const LogisticModel model = FitLogisticRegression(*x_train, dim, y_train, names.size(), o);
    LayerHead h;
    h.layer = k;
    h.weights.assign(model.weights.begin(), model.weights.end());
    h.bias.assign(model.bias.begin(), model.bias.end());
    h.test_accuracy = Accuracy(model, *x_test, y_test);
    const double train_acc = Accuracy(model, *x_train, y_train);
    std::cerr << "  layer " << k << ": C=" << best_c << " (validation " << best_acc << "), train "
              << train_acc << ", test " << h.test_accuracy << ", " << model.iterations
              << " L-BFGS iterations\n";
    layer_meta.push_back({{"layer", k},
                          {"c", best_c},
                          {"validation_accuracy", best_acc},
                          {"train_accuracy", train_acc},
                          {"test_accuracy", h.test_accuracy},
                          {"iterations", model.iterations}});
    head.layers.push_back(std::move(h));
  }
  std::string meta_text;
  if (std::ifstream m(data_dir + "/meta.json"); m) {
    meta_text.assign(std::istreambuf_iterator<char>(m), {});
  }
  head.metadata_json =
      nlohmann::json{
          {"training_set", std::filesystem::path(data_dir).filename().string()},
          {"data", meta_text.empty() ? nlohmann::json() : nlohmann::json::parse(meta_text)},
          {"train_size", y_train.size()},
          {"test_size", y_test.size()},
          {"model", info.name},
          {"max_tokens", max_tokens == 0 ? info.default_max_tokens : max_tokens},
          {"method",
           "multinomial logistic regression, L2 (C chosen on a held-out fifth of the "
           "training split from 0.1, 1, 10, 100), full-batch L-BFGS"},
          {"layers", layer_meta},
          {"date", UtcDate()},
          {"tool", "tools/train_heads"}}
          .dump();
  if (out_path.empty()) out_path = model_dir + "/heads/" + name + ".json";
  std::filesystem::create_directories(std::filesystem::path(out_path).parent_path());
  std::ofstream(out_path) << ClassifierHeadToJson(head) << "\n";
  std::cerr << "train_heads: wrote " << out_path << "\n";
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  CLI::App app{"train_heads: per-layer logistic-regression heads beside the model"};
  std::string model_dir = "models/use-lite", data_dir, name, out;
  int max_tokens = 0;
  app.add_option("--model", model_dir, "Model directory");
  app.add_option("--data", data_dir, "Data set folder with train.jsonl, test.jsonl")->required();
  app.add_option("--name", name, "Head name (default: the data folder's name)");
  app.add_option("--out", out, "Output file (default: <model>/heads/<name>.json)");
  app.add_option("--max-tokens", max_tokens, "Clip; 0 = the model's own");
  CLI11_PARSE(app, argc, argv);
  if (name.empty()) name = std::filesystem::path(data_dir).filename().string();
  return attnserve::Run(model_dir, data_dir, name, out, max_tokens);
}
