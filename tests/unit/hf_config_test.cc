// ParseHfConfig and LoadSentencePipeline: the transformers defaults, the
// three families' key names, and refusals that name the field.
#include "engine/model/hf_config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/per_test_dir.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Status ParseError(const std::string& json) {
  auto c = ParseHfConfig(json, "config.json");
  return c.ok() ? absl::OkStatus() : c.status();
}

TEST(HfConfigTest, MiniLmStyleBert) {
  auto c = ParseHfConfig(R"({"model_type": "bert", "hidden_size": 384, "num_hidden_layers": 6,
      "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
      "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "type_vocab_size": 2,
      "vocab_size": 30522, "architectures": ["BertModel"]})",
                         "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->family, HfFamily::kBert);
  EXPECT_EQ(c->hidden_size, 384);
  EXPECT_EQ(c->num_layers, 6);
  EXPECT_EQ(c->num_heads, 12);
  EXPECT_EQ(c->intermediate_size, 1536);
  EXPECT_EQ(c->activation, HfActivation::kGelu);
  EXPECT_EQ(c->type_vocab_size, 2);
  EXPECT_EQ(c->embedding_size, 384);
  EXPECT_EQ(c->inner_size(), 384);
  EXPECT_TRUE(c->labels.empty());
}

TEST(HfConfigTest, BertDefaults) {
  auto c = ParseHfConfig(R"({"model_type": "bert"})", "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hidden_size, 768);
  EXPECT_EQ(c->num_layers, 12);
  EXPECT_EQ(c->intermediate_size, 3072);
  EXPECT_EQ(c->max_position_embeddings, 512);
  EXPECT_DOUBLE_EQ(c->layer_norm_eps, 1e-12);
}

TEST(HfConfigTest, DistilBertSst2) {
  auto c = ParseHfConfig(R"({"model_type": "distilbert", "dim": 768, "n_layers": 6, "n_heads": 12,
      "hidden_dim": 3072, "activation": "gelu", "max_position_embeddings": 512,
      "id2label": {"1": "POSITIVE", "0": "NEGATIVE"}, "sinusoidal_pos_embds": false})",
                         "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->family, HfFamily::kDistilBert);
  EXPECT_EQ(c->hidden_size, 768);
  EXPECT_EQ(c->intermediate_size, 3072);
  EXPECT_EQ(c->type_vocab_size, 0);
  EXPECT_THAT(c->labels, ElementsAre("NEGATIVE", "POSITIVE"));
}

TEST(HfConfigTest, MobileBertDefaultsAndOverrides) {
  auto c = ParseHfConfig(R"({"model_type": "mobilebert"})", "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hidden_size, 512);
  EXPECT_EQ(c->embedding_size, 128);
  EXPECT_EQ(c->intra_bottleneck_size, 128);
  EXPECT_EQ(c->num_feedforward_networks, 4);
  EXPECT_TRUE(c->no_norm);
  EXPECT_TRUE(c->trigram_input);
  EXPECT_TRUE(c->use_bottleneck);
  EXPECT_TRUE(c->key_query_shared_bottleneck);
  EXPECT_EQ(c->activation, HfActivation::kRelu);
  EXPECT_EQ(c->inner_size(), 128);

  c = ParseHfConfig(R"({"model_type": "mobilebert", "normalization_type": "layer_norm",
      "use_bottleneck": false, "hidden_act": "gelu_new", "num_attention_heads": 8})",
                    "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->no_norm);
  EXPECT_EQ(c->inner_size(), 512);
  EXPECT_EQ(c->activation, HfActivation::kGeluTanh);
}

TEST(HfConfigTest, RefusalsNameTheField) {
  EXPECT_THAT(ParseError("not json").message(), HasSubstr("config.json: not a JSON object"));
  EXPECT_THAT(ParseError(R"({"model_type": "roberta"})").message(),
              HasSubstr("model_type: 'roberta' is not supported"));
  EXPECT_THAT(ParseError(R"({})").message(), HasSubstr("model_type"));
  EXPECT_THAT(ParseError(R"({"model_type": "bert", "hidden_act": "swish"})").message(),
              HasSubstr("hidden_act: 'swish' is not supported"));
  EXPECT_THAT(ParseError(R"({"model_type": "distilbert", "activation": "silu"})").message(),
              HasSubstr("activation: 'silu'"));
  EXPECT_THAT(ParseError(R"({"model_type": "bert", "hidden_size": 0})").message(),
              HasSubstr("hidden_size: 0 is out of range"));
  EXPECT_THAT(ParseError(R"({"model_type": "bert", "hidden_size": "768"})").message(),
              HasSubstr("hidden_size: must be an integer"));
  EXPECT_THAT(ParseError(R"({"model_type": "bert", "num_attention_heads": 7})").message(),
              HasSubstr("num_attention_heads: 7 heads do not divide the attention width 768"));
  EXPECT_THAT(ParseError(R"({"model_type": "bert", "max_position_embeddings": 2})").message(),
              HasSubstr("max_position_embeddings: 2 is out of range"));
  EXPECT_THAT(ParseError(R"({"model_type": "bert", "layer_norm_eps": -1})").message(),
              HasSubstr("layer_norm_eps"));
  EXPECT_THAT(ParseError(R"({"model_type": "mobilebert", "normalization_type": "rms"})").message(),
              HasSubstr("normalization_type: 'rms'"));
  EXPECT_THAT(ParseError(R"({"model_type": "bert", "id2label": {"0": "a", "2": "b"}})").message(),
              HasSubstr("id2label: ids must be 0..1"));
  EXPECT_THAT(ParseError(R"({"model_type": "bert", "id2label": {"x": "a"}})").message(),
              HasSubstr("id2label.x"));
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::PerTestDir("hf_pipeline_test_");
    std::filesystem::create_directories(dir_ / "1_Pooling");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  absl::StatusOr<SentencePipeline> Load() { return LoadSentencePipeline(dir_.string(), 384); }

  static constexpr char kModules[] = R"([
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
  ])";
  std::filesystem::path dir_;
};

TEST_F(PipelineTest, AbsentMeansClsWithoutNormalisation) {
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->present);
  EXPECT_EQ(p->pooling, PoolingMode::kCls);
  EXPECT_FALSE(p->normalize);
}

TEST_F(PipelineTest, MeanPoolingAndNormalize) {
  Write("modules.json", kModules);
  Write("1_Pooling/config.json", R"({"word_embedding_dimension": 384,
      "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true,
      "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false})");
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->present);
  EXPECT_EQ(p->pooling, PoolingMode::kMean);
  EXPECT_TRUE(p->normalize);
}

TEST_F(PipelineTest, ClsAndMax) {
  Write("modules.json", kModules);
  Write("1_Pooling/config.json", R"({"pooling_mode_cls_token": true})");
  ASSERT_TRUE(Load().ok());
  EXPECT_EQ(Load()->pooling, PoolingMode::kCls);
  Write("1_Pooling/config.json", R"({"pooling_mode_max_tokens": true})");
  EXPECT_EQ(Load()->pooling, PoolingMode::kMax);
}

TEST_F(PipelineTest, RefusesWhatItDoesNotRun) {
  Write("modules.json", kModules);
  Write("1_Pooling/config.json", R"({"pooling_mode_mean_sqrt_len_tokens": true})");
  EXPECT_THAT(Load().status().message(), HasSubstr("pooling_mode_mean_sqrt_len_tokens"));
  Write("1_Pooling/config.json",
        R"({"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true})");
  EXPECT_THAT(Load().status().message(), HasSubstr("2 modes are true"));
  Write("1_Pooling/config.json",
        R"({"pooling_mode_mean_tokens": true, "word_embedding_dimension": 768})");
  EXPECT_THAT(Load().status().message(), HasSubstr("word_embedding_dimension: 768"));
  Write("modules.json",
        R"([{"idx": 0, "path": "2_Dense", "type": "sentence_transformers.models.Dense"}])");
  EXPECT_THAT(Load().status().message(),
              HasSubstr("module 'sentence_transformers.models.Dense' is not supported"));
  Write("modules.json", R"([{"path": "../x", "type": "sentence_transformers.models.Pooling"}])");
  EXPECT_THAT(Load().status().message(), HasSubstr("is not a subdirectory"));
  Write("modules.json", "{");
  EXPECT_THAT(Load().status().message(), HasSubstr("modules.json: not a JSON array"));
}

}  // namespace
}  // namespace attnserve
