// The Optimized, Efficient and Super attention layer types
// (docs/LAYER_TYPES.md) against PyTorch: tiny seeded checkpoints of each type
// and PyTorch's float64 outputs on them (generate.py, committed with the
// models: regenerating needs python3-torch, which CI does not install).
// Embeddings to cosine >= 0.99999 and |diff| <= 1e-4, probabilities and
// centred logits to 1e-4; then what a request may ask of them (kernels,
// precisions, early exit, pruning) and what loading refuses.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/kernels/linear_precision.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/per_test_dir.h"
#include "tests/support/reference_outputs.h"

namespace attnserve {
namespace {

using nlohmann::json;
using testing::Cosine;
using ::testing::HasSubstr;

constexpr const char* kTypes[] = {"standard", "optimized", "efficient", "super"};

std::string ModelDir(const std::string& type) {
  return std::string(ATTNSERVE_LAYER_TYPES_DIR) + "/models/" + type;
}

const json& Expected() {
  static const json* expected =
      new json(testing::ReadJsonFile(std::string(ATTNSERVE_LAYER_TYPES_DIR) + "/expected.json"));
  return *expected;
}

const Engine* Load(const std::string& type) {
  static auto* engines = new std::map<std::string, std::unique_ptr<Engine>>();
  auto it = engines->find(type);
  if (it != engines->end()) return it->second.get();
  EngineConfig config;
  config.model_dir = ModelDir(type);
  auto loaded = Engine::Load(config);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!loaded.ok()) return nullptr;
  const Engine* engine = loaded->get();
  (*engines)[type] = std::move(*loaded);
  return engine;
}

const std::vector<std::vector<int32_t>> kIds = {
    {88, 71, 35, 10}, {27, 96, 73, 66, 19, 23, 56, 57, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}};

class LayerTypesTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Expected().contains("models"))
        << "cannot read " << ATTNSERVE_LAYER_TYPES_DIR << "/expected.json";
  }
};

TEST_P(LayerTypesTest, MatchesPyTorch) {
  const Engine* engine = Load(GetParam());
  ASSERT_NE(engine, nullptr);
  const json& model = Expected()["models"][GetParam()];
  ASSERT_FALSE(model.is_null()) << GetParam();
  testing::CheckReferenceCases(*engine, model);
}

// Every kernel sees ordinary per-head queries, keys and values whatever the
// type made them from: all run, and the exact ones give dense's numbers.
TEST_P(LayerTypesTest, EveryAttentionKernelRuns) {
  const Engine* engine = Load(GetParam());
  ASSERT_NE(engine, nullptr);
  testing::CheckEveryKernelRuns(*engine, kIds);
}

// int8 / bf16 dense layers stay close to PyTorch (the same bounds as the BERT
// family's golden test), and differ from the f32 run, so an ignored
// precision would fail; Super's alignment stays f32 like the layer norms.
TEST_P(LayerTypesTest, LinearPrecisionStaysCloseToTheReference) {
  const Engine* engine = Load(GetParam());
  ASSERT_NE(engine, nullptr);
  for (const auto& [precision, min_cosine] : {std::pair{"int8", 0.995}, {"bf16", 0.9995}}) {
    SCOPED_TRACE(precision);
    RunOptions options;
    ASSERT_TRUE(SetLinearPrecision("linear_precision", precision, &options).ok());
    for (const json& c : Expected()["models"][GetParam()]["cases"]) {
      const auto ids = c["ids"].get<std::vector<std::vector<int32_t>>>();
      auto f32 = engine->EmbedTokenIds(ids, RunOptions());
      auto result = engine->EmbedTokenIds(ids, options);
      ASSERT_TRUE(f32.ok() && result.ok()) << result.status();
      EXPECT_NE(result->embeddings, f32->embeddings);
      const auto want = c["embeddings"].get<std::vector<std::vector<double>>>();
      for (size_t t = 0; t < want.size(); ++t) {
        EXPECT_GE(Cosine(result->embedding(t), want[t]), min_cosine) << c["ids"].dump();
      }
    }
  }
}

TEST_P(LayerTypesTest, EarlyExitStopsAtTheRequestedLayer) {
  const Engine* engine = Load(GetParam());
  ASSERT_NE(engine, nullptr);
  RunOptions options;
  options.early_exit.max_layers = 1;
  auto result = engine->EmbedTokenIds(kIds, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->stats.exit_layer, 1);
  auto full = engine->EmbedTokenIds(kIds, RunOptions());
  ASSERT_TRUE(full.ok());
  EXPECT_NE(result->embeddings, full->embeddings);
  // All layers run one by one give the plain run's numbers.
  options.early_exit.max_layers = engine->model_info().num_layers;
  auto stepwise = engine->EmbedTokenIds(kIds, options);
  ASSERT_TRUE(stepwise.ok()) << stepwise.status();
  for (size_t i = 0; i < full->embeddings.size(); ++i) {
    ASSERT_NEAR(stepwise->embeddings[i], full->embeddings[i], 1e-5) << i;
  }
}

// Pruning drops tokens on the types whose attention is per token; Super's
// alignment needs every position, so a pruning request is refused by name.
TEST_P(LayerTypesTest, PruningRunsOrIsRefusedByName) {
  const Engine* engine = Load(GetParam());
  ASSERT_NE(engine, nullptr);
  RunOptions options;
  options.pruning.keep_ratio = {0.5, 0.5};
  auto result = engine->EmbedTokenIds(kIds, options);
  if (std::string(GetParam()) == "super") {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(result.status().message()), HasSubstr("pruning: model 'super'"));
    EXPECT_THAT(std::string(result.status().message()), HasSubstr("super attention"));
    return;
  }
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->stats.tokens_per_layer.size(), 3u);
  EXPECT_EQ(result->stats.tokens_per_layer[0], 26);  // 6 + 20 rows enter
  EXPECT_LT(result->stats.tokens_per_layer[1], 26);
  for (float v : result->embeddings) ASSERT_TRUE(std::isfinite(v));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, LayerTypesTest, ::testing::ValuesIn(kTypes));

// The parameter savings the note claims, counted from the loaded tensors: per
// layer, Optimized drops one d x d projection and its bias, Efficient two,
// Super drops one and adds l x l + l.
TEST(LayerTypesParameters, EachTypeDropsOrAddsWhatItShould) {
  std::map<std::string, int64_t> params;
  for (const char* type : kTypes) {
    const Engine* engine = Load(type);
    ASSERT_NE(engine, nullptr);
    params[type] = engine->model_info().num_parameters;
  }
  const json config = testing::ReadJsonFile(ModelDir("super") + "/config.json");
  const int64_t d = config["hidden_size"], layers = config["num_hidden_layers"];
  const int64_t l = config["max_position_embeddings"];
  const int64_t projection = d * d + d;
  EXPECT_EQ(params["standard"] - params["optimized"], layers * projection);
  EXPECT_EQ(params["standard"] - params["efficient"], 2 * layers * projection);
  EXPECT_EQ(params["super"] - params["optimized"], layers * (l * l + l));
}

// Loads a copy of the `from` model whose config.json says attention_type
// `type`; returns the load error ("" if it loaded).
std::string LoadErrorRelabelled(const std::string& from, const std::string& type) {
  const std::filesystem::path root = testing::PerTestDir("layer_types_");
  const std::string dir = (root / (from + "-as-" + type)).string();
  std::filesystem::create_directories(dir);
  std::filesystem::copy(ModelDir(from), dir, std::filesystem::copy_options::recursive);
  json config = testing::ReadJsonFile(dir + "/config.json");
  config["attention_type"] = type;
  std::ofstream(dir + "/config.json") << config.dump();
  EngineConfig engine_config;
  engine_config.model_dir = dir;
  auto loaded = Engine::Load(engine_config);
  std::filesystem::remove_all(root);
  return loaded.ok() ? "" : std::string(loaded.status().message());
}

TEST(LayerTypesLoad, TensorTheTypeDoesNotUseIsRefused) {
  EXPECT_THAT(LoadErrorRelabelled("standard", "optimized"),
              HasSubstr("'bert.encoder.layer.0.attention.self.value.weight' is not used by "
                        "attention_type 'optimized'"));
}

TEST(LayerTypesLoad, MissingTensorIsNamed) {
  EXPECT_THAT(LoadErrorRelabelled("optimized", "super"), HasSubstr("alignment.weight"));
}

TEST(LayerTypesLoad, UnknownTypeListsTheKnownOnes) {
  EXPECT_THAT(LoadErrorRelabelled("standard", "sparse"),
              HasSubstr("attention_type: 'sparse' is not supported (standard, optimized, "
                        "efficient, super)"));
}

}  // namespace
}  // namespace attnserve
