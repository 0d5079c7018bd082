// The quality grid's pure logic (percentile, retention, Pareto front, row
// fields) and a smoke run of one row on 10 synthetic labelled texts against
// the head applied by hand to the engine's embeddings.
#include "tools/quality_grid.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "engine/policy/classifier_head.h"
#include "gtest/gtest.h"
#include "tests/support/test_model.h"

namespace attnserve::quality {
namespace {

TEST(QualityGridTest, PercentileIsNearestRank) {
  std::vector<double> v;
  for (int i = 20; i >= 1; --i) v.push_back(i);  // unsorted on purpose
  EXPECT_EQ(Percentile(v, 95), 19);              // ceil(0.95 * 20) = 19th
  EXPECT_EQ(Percentile(v, 100), 20);
  EXPECT_EQ(Percentile(v, 50), 10);
  EXPECT_EQ(Percentile({7}, 95), 7);
  EXPECT_EQ(Percentile({}, 95), 0);
  EXPECT_EQ(Percentile({1, 2, 3}, 95), 3);  // ceil(2.85) = 3rd
}

TEST(QualityGridTest, MeanAndRetention) {
  EXPECT_DOUBLE_EQ(Mean({1, 2, 3, 6}), 3);
  EXPECT_EQ(Mean({}), 0);
  EXPECT_DOUBLE_EQ(Retention(0.85, 0.88), 0.85 / 0.88);
  EXPECT_EQ(Retention(0.5, 0), 0);
}

TEST(QualityGridTest, ParetoFrontKeepsUndominatedPointsByCost) {
  // (cost, quality)
  const std::vector<std::pair<double, double>> points = {
      {4.0, 1.00},  // 0: most expensive, best
      {2.0, 0.95},  // 1: front
      {3.0, 0.90},  // 2: dominated by 1
      {1.0, 0.80},  // 3: front (cheapest)
      {2.0, 0.93},  // 4: same cost as 1, worse: dominated
      {5.0, 1.00},  // 5: dominated by 0
  };
  EXPECT_EQ(ParetoFront(points), (std::vector<size_t>{3, 1, 0}));
  EXPECT_TRUE(ParetoFront({}).empty());
}

TEST(QualityGridTest, CosineOfKnownVectors) {
  const float a[] = {1, 0, 0}, b[] = {1, 1, 0}, c[] = {-2, 0, 0};
  EXPECT_NEAR(Cosine(a, b, 3), 1 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(Cosine(a, c, 3), -1, 1e-12);
}

TEST(QualityGridTest, RowJsonHasTheReportFieldsInOrder) {
  GridConfig config;
  config.name = "int8+keep0.5";
  config.attention = "int8";
  RowMeasurement dense, measured;
  dense.accuracy = 0.8;
  dense.flops_mean = 1000;
  measured.accuracy = 0.76;
  measured.flops_mean = 250;
  measured.latency_mean_ms = 2;
  measured.latency_p95_ms = 3;
  measured.tokens_kept_mean = 10.5;
  measured.exit_layer_mean = 1.5;
  const QualityRow row = MakeQualityRow(config, "imdb", measured, dense);
  EXPECT_DOUBLE_EQ(row.retention, 0.95);
  EXPECT_DOUBLE_EQ(row.relative_flops, 0.25);
  const nlohmann::ordered_json j = QualityRowToJson(row);
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "config", "attention", "linear_precision", "dataset", "accuracy",
                      "dense_accuracy", "retention", "latency_mean_ms", "latency_p95_ms",
                      "tokens_kept_mean", "exit_layer_mean", "relative_flops", "energy_mj_mean"}));
  EXPECT_EQ(j["linear_precision"], "f32");
  EXPECT_EQ(j["config"], "int8+keep0.5");
  EXPECT_EQ(j["attention"], "int8");
  EXPECT_EQ(j["dataset"], "imdb");
  EXPECT_TRUE(j["energy_mj_mean"].is_null());
  QualityRow with_energy = row;
  with_energy.energy_mj_mean = 12.5;
  EXPECT_EQ(QualityRowToJson(with_energy)["energy_mj_mean"], 12.5);
}

TEST(QualityGridTest, LongRowComparesWithDense) {
  LongMeasurement dense, measured;
  dense.embeddings = {{1, 0}, {0, 1}};
  dense.latency_ms = 100;
  dense.flops_mean = 10;
  measured.embeddings = {{1, 0}, {1, 1}};
  measured.latency_ms = 20;
  measured.flops_mean = 2;
  measured.tokens = 512;
  GridConfig config;
  config.name = "sliding_window";
  auto row = MakeLongRow(config, measured, dense);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_NEAR(row->cosine_mean, (1 + 1 / std::sqrt(2.0)) / 2, 1e-9);
  EXPECT_NEAR(row->cosine_min, 1 / std::sqrt(2.0), 1e-9);
  EXPECT_DOUBLE_EQ(row->speedup, 5);
  EXPECT_DOUBLE_EQ(row->relative_flops, 0.2);
  measured.embeddings.pop_back();
  EXPECT_FALSE(MakeLongRow(config, measured, dense).ok());
}

TEST(QualityGridTest, LinearPrecisionIsNamedAndRuns) {
  const AttentionChoice dense{"dense", "dense", {}};
  const GridConfig c =
      Compose(dense, PruningChoice{"keep0.5", {}}, ExitChoice{}, LinearPrecision::kInt8);
  EXPECT_EQ(c.name, "dense+keep0.5+linear_int8");
  EXPECT_EQ(c.ToRunOptions(1, 0).linear_precision, LinearPrecision::kInt8);
  EXPECT_EQ(Compose(dense, PruningChoice{}, ExitChoice{}).name, "dense");
  int low_precision_rows = 0;
  for (const GridConfig& g : ClassificationGrid())
    low_precision_rows += g.linear_precision != LinearPrecision::kF32;
  EXPECT_GE(low_precision_rows, 2);
}

TEST(QualityGridTest, GridsStartWithDenseAndNameEachConfigOnce) {
  for (const auto& grid : {ClassificationGrid(), LongGrid()}) {
    ASSERT_FALSE(grid.empty());
    EXPECT_EQ(grid.front().name, "dense");
    EXPECT_FALSE(grid.front().pruning.active());
    EXPECT_FALSE(grid.front().early_exit.active());
    std::set<std::string> names;
    for (const GridConfig& c : grid) EXPECT_TRUE(names.insert(c.name).second) << c.name;
  }
}

// 10 synthetic texts, a head with fixed random weights written to a temporary
// heads dir, one dense row and one exit-after-layer-0 row; the expected
// accuracy is the head applied by hand to the embeddings Embed returns.
TEST(QualityGridSmokeTest, OneConfigGridOnTenTexts) {
  ATTNSERVE_REQUIRE_TEST_MODEL();
  const std::vector<std::string> texts = {"The food was wonderful and the staff were kind.",
                                          "Terrible service, I will never come back.",
                                          "A delightful film with a moving story.",
                                          "The plot was dull and the acting was worse.",
                                          "Great value, works exactly as described.",
                                          "It broke after two days, a waste of money.",
                                          "I loved every minute of it.",
                                          "Boring, slow and far too long.",
                                          "Highly recommended to anyone who likes jazz.",
                                          "The battery life is awful."};
  const std::vector<std::string> labels = {"pos", "neg", "pos", "neg", "pos",
                                           "neg", "pos", "neg", "pos", "neg"};
  EngineConfig plain;
  plain.model_dir = testing::TestModelDir();
  const std::filesystem::path heads =
      std::filesystem::temp_directory_path() / ("quality_grid_test_" + std::to_string(getpid()));
  plain.heads_dir = (heads / "none").string();
  auto base = Engine::Load(plain);
  ASSERT_TRUE(base.ok()) << base.status();
  const int dim = (*base)->model_info().embedding_dim;
  const int layers = (*base)->model_info().num_layers;

  ClassifierHead head;
  head.name = "synthetic";
  head.labels = {"neg", "pos"};
  head.dim = dim;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0, 1);
  for (int k = 0; k < layers; ++k) {
    LayerHead h;
    h.layer = k;
    for (int i = 0; i < 2 * dim; ++i) h.weights.push_back(normal(rng));
    h.bias = {0.1f, -0.1f};
    head.layers.push_back(h);
  }
  std::filesystem::create_directories(heads);
  std::ofstream(heads / "synthetic.json") << ClassifierHeadToJson(head);

  // Expected: argmax of W x + b on the embedding after `run_layers` layers.
  auto expected_accuracy = [&](int run_layers) {
    RunOptions o;
    o.num_threads = 1;
    if (run_layers < layers) o.early_exit.max_layers = run_layers;
    auto e = (*base)->Embed(texts, o);
    EXPECT_TRUE(e.ok()) << e.status();
    const LayerHead& h = head.layers[run_layers - 1];
    int correct = 0;
    for (size_t t = 0; t < texts.size(); ++t) {
      double z[2];
      for (int c = 0; c < 2; ++c) {
        z[c] = h.bias[c];
        for (int i = 0; i < dim; ++i) z[c] += double{h.weights[c * dim + i]} * e->embedding(t)[i];
      }
      correct += head.labels[z[1] > z[0] ? 1 : 0] == labels[t];
    }
    return correct / 10.0;
  };

  EngineConfig with_heads = plain;
  with_heads.heads_dir = heads.string();
  auto engine = Engine::Load(with_heads);
  ASSERT_TRUE(engine.ok()) << engine.status();

  // Every grid configuration is one the engine accepts.
  for (const auto& grid : {ClassificationGrid(), LongGrid()}) {
    for (const GridConfig& c : grid) {
      EXPECT_TRUE((*engine)->CheckOptions(c.ToRunOptions(1, 0)).ok()) << c.name;
    }
  }

  RowOptions options;
  options.warmup = 2;
  size_t calls = 0;
  options.progress = [&](size_t done, size_t total) {
    ++calls;
    EXPECT_EQ(total, texts.size());
    EXPECT_EQ(done, calls);
  };
  const GridConfig dense = ClassificationGrid().front();
  auto row = MeasureClassification(**engine, dense, texts, labels, "synthetic", options);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(calls, texts.size());
  EXPECT_DOUBLE_EQ(row->accuracy, expected_accuracy(layers));
  ASSERT_EQ(row->latencies_ms.size(), texts.size());
  for (double ms : row->latencies_ms) EXPECT_GT(ms, 0);
  EXPECT_GE(row->latency_p95_ms, Percentile(row->latencies_ms, 50));
  double tokens = 0;
  for (const std::string& t : texts) tokens += (*engine)->Tokenize(t)->size();
  EXPECT_DOUBLE_EQ(row->tokens_kept_mean, tokens / texts.size());
  EXPECT_DOUBLE_EQ(row->exit_layer_mean, layers);
  EXPECT_GT(row->flops_mean, 0);
  EXPECT_FALSE(row->energy_mj_mean.has_value());

  GridConfig first_layer = dense;
  first_layer.name = "dense+max1";
  first_layer.early_exit.max_layers = 1;
  auto exited = MeasureClassification(**engine, first_layer, texts, labels, "synthetic", {});
  ASSERT_TRUE(exited.ok()) << exited.status();
  EXPECT_DOUBLE_EQ(exited->accuracy, expected_accuracy(1));
  EXPECT_DOUBLE_EQ(exited->exit_layer_mean, 1);
  const QualityRow q = MakeQualityRow(first_layer, "synthetic", *exited, *row);
  EXPECT_GT(q.relative_flops, 0);
  EXPECT_LT(q.relative_flops, 1);

  // Bad input: a clear error, not a crash.
  auto mismatched = MeasureClassification(**engine, dense, texts, {"pos"}, "synthetic", {});
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(mismatched.status().message()).find("labels"), std::string::npos);
  auto unknown = MeasureClassification(**engine, dense, texts, labels, "no_such_head", {});
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(std::string(unknown.status().message()).find("texts[0]"), std::string::npos);

  // Long part: dense against itself is cosine 1, a narrow window is not.
  const std::vector<std::string> passages = {texts[0] + " " + texts[2] + " " + texts[4],
                                             texts[1] + " " + texts[3] + " " + texts[5]};
  RowOptions long_options;
  auto d = MeasureLong(**engine, dense, passages, 64, long_options);
  ASSERT_TRUE(d.ok()) << d.status();
  auto same = MakeLongRow(dense, *d, *d);
  ASSERT_TRUE(same.ok());
  EXPECT_NEAR(same->cosine_min, 1, 1e-6);
  GridConfig narrow = dense;
  narrow.name = "sliding_window(window=1)";
  narrow.attention = "sliding_window";
  narrow.attention_params = {{"window", "1"}};
  auto w = MeasureLong(**engine, narrow, passages, 64, long_options);
  ASSERT_TRUE(w.ok()) << w.status();
  auto approx = MakeLongRow(narrow, *w, *d);
  ASSERT_TRUE(approx.ok());
  EXPECT_LT(approx->cosine_min, 0.9999);
  EXPECT_GT(approx->cosine_min, 0);
  EXPECT_EQ(approx->tokens, d->tokens);
  std::filesystem::remove_all(heads);
}

}  // namespace
}  // namespace attnserve::quality
