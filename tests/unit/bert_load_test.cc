// Engine::Load on BERT checkpoints built here (one layer, width 8): what a
// valid directory gives (text input, the checkpoint's classifier as a head)
// and the refusals that name the file, tensor or field. Numerics are checked
// against a float64 reference in tests/golden/bert.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/per_test_dir.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kH = 8, kFfn = 16, kPositions = 16;
const std::vector<std::string> kVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello",
                                         "world", "good",  "bad",   "movie", "##s",    "."};

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

class BertLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::PerTestDir("bert_load_test_");
    std::filesystem::create_directories(dir_);
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    auto add = [&](const std::string& name, std::vector<int64_t> shape, float base = 0.0f) {
      const int64_t n =
          std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
      Tensor t{shape, std::vector<float>(n)};
      for (float& v : t.values) v = base + normal(rng);
      tensors_[name] = std::move(t);
    };
    const int vocab = static_cast<int>(kVocab.size());
    add("embeddings.word_embeddings.weight", {vocab, kH});
    add("embeddings.position_embeddings.weight", {kPositions, kH});
    add("embeddings.token_type_embeddings.weight", {2, kH});
    add("embeddings.LayerNorm.weight", {kH}, 1.0f);
    add("embeddings.LayerNorm.bias", {kH});
    const std::string p = "encoder.layer.0.";
    for (const char* m : {"attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense"}) {
      add(p + m + ".weight", {kH, kH});
      add(p + m + ".bias", {kH});
    }
    add(p + "intermediate.dense.weight", {kFfn, kH});
    add(p + "intermediate.dense.bias", {kFfn});
    add(p + "output.dense.weight", {kH, kFfn});
    add(p + "output.dense.bias", {kH});
    for (const char* n : {"attention.output.LayerNorm", "output.LayerNorm"}) {
      add(p + n + ".weight", {kH}, 1.0f);
      add(p + n + ".bias", {kH});
    }
    config_ = {{"model_type", "bert"},
               {"vocab_size", vocab},
               {"hidden_size", kH},
               {"num_hidden_layers", 1},
               {"num_attention_heads", 2},
               {"intermediate_size", kFfn},
               {"max_position_embeddings", kPositions},
               {"type_vocab_size", 2}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void AddClassifier() {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 0.5f);
    auto fill = [&](std::vector<int64_t> shape) {
      Tensor t{shape, std::vector<float>(shape.size() == 2 ? shape[0] * shape[1] : shape[0])};
      for (float& v : t.values) v = normal(rng);
      return t;
    };
    // BertForSequenceClassification: the encoder under "bert.", head beside it.
    std::map<std::string, Tensor> prefixed;
    for (auto& [name, t] : tensors_) prefixed["bert." + name] = std::move(t);
    tensors_ = std::move(prefixed);
    tensors_["bert.pooler.dense.weight"] = fill({kH, kH});
    tensors_["bert.pooler.dense.bias"] = fill({kH});
    tensors_["classifier.weight"] = fill({2, kH});
    tensors_["classifier.bias"] = fill({2});
    config_["id2label"] = {{"0", "NEGATIVE"}, {"1", "POSITIVE"}};
  }

  void WriteModel() {
    std::ofstream(dir_ / "config.json") << config_.dump();
    std::ofstream vocab(dir_ / "vocab.txt");
    for (const std::string& t : kVocab) vocab << t << "\n";
    vocab.close();
    nlohmann::json header = nlohmann::json::object();
    std::string data;
    for (const auto& [name, t] : tensors_) {
      const size_t begin = data.size();
      data.append(reinterpret_cast<const char*>(t.values.data()), 4 * t.values.size());
      header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
    }
    const std::string text = header.dump();
    const uint64_t n = text.size();
    std::ofstream out(dir_ / "model.safetensors", std::ios::binary);
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << text << data;
  }

  absl::StatusOr<std::unique_ptr<Engine>> Load() {
    EngineConfig config;
    config.model_dir = dir_.string();
    config.default_threads = 1;
    return Engine::Load(config);
  }
  std::string LoadError() {
    auto engine = Load();
    return engine.ok() ? "" : std::string(engine.status().message());
  }

  std::filesystem::path dir_;
  std::map<std::string, Tensor> tensors_;
  nlohmann::json config_;
};

TEST_F(BertLoadTest, LoadsAndEmbedsText) {
  WriteModel();
  auto engine = Load();
  ASSERT_TRUE(engine.ok()) << engine.status();
  const ModelInfo& info = (*engine)->model_info();
  EXPECT_EQ(info.family, "bert");
  EXPECT_EQ(info.embedding_dim, kH);
  EXPECT_EQ(info.position_limit, kPositions - 2);  // [CLS] and [SEP] take two rows
  EXPECT_EQ(info.num_layers, 1);
  // Ids without [CLS]/[SEP]: the model adds them.
  auto ids = (*engine)->Tokenize("Hello worlds.");
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(*ids, ElementsAre(5, 6, 10, 11));
  EXPECT_EQ((*engine)->Piece(10), "##s");
  auto result = (*engine)->Embed({"hello world", "good movie ."}, RunOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->dim, kH);
  for (float v : result->embeddings) EXPECT_TRUE(std::isfinite(v));
  EXPECT_TRUE((*engine)->HeadNames().empty());
}

TEST_F(BertLoadTest, LongTextIsClippedKeepingRoomForSpecialTokens) {
  WriteModel();
  auto engine = Load();
  ASSERT_TRUE(engine.ok()) << engine.status();
  std::string text;
  for (int i = 0; i < 40; ++i) text += "hello ";
  auto result = (*engine)->Embed({text}, RunOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->stats.texts[0].tokens_used, kPositions - 2);
  RunOptions too_long;
  too_long.max_tokens = kPositions;
  EXPECT_THAT((*engine)->Embed({text}, too_long).status().message(),
              HasSubstr("max_position_embeddings"));
}

TEST_F(BertLoadTest, CheckpointClassifierBecomesAHead) {
  AddClassifier();
  WriteModel();
  auto engine = Load();
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_THAT((*engine)->HeadNames(), ElementsAre("classifier"));
  auto result = (*engine)->Classify({"good movie", "bad movie"}, "", RunOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->labels, ElementsAre("NEGATIVE", "POSITIVE"));
  for (const auto& scores : result->scores) {
    ASSERT_EQ(scores.size(), 2u);
    EXPECT_NEAR(scores[0] + scores[1], 1.0, 1e-5);
  }

  // A head file of the same name would be ambiguous: refused.
  std::filesystem::create_directories(dir_ / "heads");
  std::ofstream(dir_ / "heads" / "classifier.json")
      << ClassifierHeadToJson((*engine)->heads().at("classifier"));
  EXPECT_THAT(LoadError(), HasSubstr("'classifier' is both a head file"));
}

TEST_F(BertLoadTest, LabelCountMismatchNamesId2label) {
  AddClassifier();
  config_["id2label"] = {{"0", "A"}, {"1", "B"}, {"2", "C"}};
  WriteModel();
  EXPECT_THAT(LoadError(), HasSubstr("id2label has 3 labels, classifier.weight has 2"));
}

TEST_F(BertLoadTest, MissingTensorIsNamed) {
  tensors_.erase("encoder.layer.0.attention.self.key.weight");
  WriteModel();
  const std::string error = LoadError();
  EXPECT_THAT(error, HasSubstr("model.safetensors"));
  EXPECT_THAT(error, HasSubstr("no tensor 'encoder.layer.0.attention.self.key.weight'"));
}

TEST_F(BertLoadTest, WrongShapeIsNamed) {
  tensors_["encoder.layer.0.intermediate.dense.weight"].shape = {kH, kFfn};
  WriteModel();
  EXPECT_THAT(LoadError(), HasSubstr("tensor 'encoder.layer.0.intermediate.dense.weight' has "
                                     "shape [8, 16], expected [16, 8]"));
}

TEST_F(BertLoadTest, ConfigErrorsNameTheField) {
  config_["num_attention_heads"] = 3;
  WriteModel();
  EXPECT_THAT(LoadError(), HasSubstr("num_attention_heads: 3 heads do not divide"));
}

TEST_F(BertLoadTest, PickleOnlyCheckpointIsExplained) {
  WriteModel();
  std::filesystem::remove(dir_ / "model.safetensors");
  std::ofstream(dir_ / "pytorch_model.bin") << "not loaded";
  auto engine = Load();
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(engine.status().message(), HasSubstr("pytorch_model.bin is a pickle"));
}

TEST_F(BertLoadTest, VocabularyLargerThanTheTableIsRefused) {
  config_["vocab_size"] = 5;
  tensors_["embeddings.word_embeddings.weight"].shape = {5, kH};
  tensors_["embeddings.word_embeddings.weight"].values.resize(5 * kH);
  WriteModel();
  EXPECT_THAT(LoadError(), HasSubstr("more than config.json vocab_size 5"));
}

}  // namespace
}  // namespace attnserve
