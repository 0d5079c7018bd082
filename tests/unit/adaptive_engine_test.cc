// Token pruning, early exit and classification heads through the engine on
// the real USE-lite model: exactness of the no-op settings, per-layer token
// counts, exit layers, validation errors, and head probabilities against a
// hand computation from the embeddings.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/engine.h"
#include "engine/policy/classifier_head.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_model.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

const std::vector<std::string>& Texts() {
  static const auto* texts = new std::vector<std::string>{
      "the quick brown fox jumps over the lazy dog near the river bank today",
      "hello world",
      "an exceptionally long sentence about nothing in particular that goes on and on",
  };
  return *texts;
}

// A deterministic random head over the model's embedding, one per layer.
ClassifierHead RandomHead(const std::string& name, int dim, int layers) {
  ClassifierHead head;
  head.name = name;
  head.labels = {"neg", "pos", "neutral"};
  head.dim = dim;
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (int k = 0; k < layers; ++k) {
    LayerHead h;
    h.layer = k;
    for (int i = 0; i < 3 * dim; ++i) h.weights.push_back(nd(rng));
    h.bias = {0.1f, -0.2f, 0.05f};
    head.layers.push_back(h);
  }
  head.metadata_json = "{\"training_set\": \"random (test)\"}";
  return head;
}

class AdaptiveEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::TestModelPresent()) return;
    heads_dir_ =
        new fs::path(fs::temp_directory_path() / ("attnserve_heads_" + std::to_string(::getpid())));
    fs::create_directories(*heads_dir_);
    std::ofstream(*heads_dir_ / "toy.json") << ClassifierHeadToJson(RandomHead("toy", 512, 2));
    EngineConfig config;
    config.model_dir = testing::TestModelDir();
    config.heads_dir = (*heads_dir_ / "none").string();
    auto plain = Engine::Load(config);
    ASSERT_TRUE(plain.ok()) << plain.status();
    plain_ = plain->release();
    config.heads_dir = heads_dir_->string();
    auto with_heads = Engine::Load(config);
    ASSERT_TRUE(with_heads.ok()) << with_heads.status();
    with_heads_ = with_heads->release();
  }
  static void TearDownTestSuite() {
    delete plain_;
    delete with_heads_;
    if (heads_dir_ != nullptr) fs::remove_all(*heads_dir_);
    delete heads_dir_;
  }
  void SetUp() override { ATTNSERVE_REQUIRE_TEST_MODEL(); }

  static Engine* plain_;
  static Engine* with_heads_;
  static fs::path* heads_dir_;
};
Engine* AdaptiveEngineTest::plain_ = nullptr;
Engine* AdaptiveEngineTest::with_heads_ = nullptr;
fs::path* AdaptiveEngineTest::heads_dir_ = nullptr;

TEST_F(AdaptiveEngineTest, KeepRatioOneEqualsNoPruningExactly) {
  RunOptions dense;
  auto want = plain_->Embed(Texts(), dense);
  ASSERT_TRUE(want.ok()) << want.status();
  RunOptions keep_all;
  keep_all.pruning.keep_ratio = {1.0, 1.0};
  auto got = plain_->Embed(Texts(), keep_all);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->embeddings, want->embeddings);  // bit for bit
  EXPECT_EQ(got->stats.tokens_per_layer, want->stats.tokens_per_layer);
  EXPECT_EQ(got->stats.flops, want->stats.flops);
}

TEST_F(AdaptiveEngineTest, TokensPerLayerReportKeptTokens) {
  RunOptions o;
  o.pruning.keep_ratio = {0.5};
  auto r = plain_->Embed(Texts(), o);
  ASSERT_TRUE(r.ok()) << r.status();
  int64_t in = 0, kept = 0;
  for (const TextStats& t : r->stats.texts) {
    in += t.tokens_used;
    kept += (t.tokens_used + 1) / 2;  // ceil(0.5 n)
    EXPECT_EQ(t.tokens_kept, (t.tokens_used + 1) / 2);
    EXPECT_EQ(t.exit_layer, 2);
  }
  EXPECT_THAT(r->stats.tokens_per_layer, ElementsAre(in, kept, kept));
  EXPECT_EQ(r->stats.exit_layer, 2);
  // Pruning changes the embedding but not beyond recognition.
  auto dense = plain_->Embed(Texts(), RunOptions{});
  ASSERT_TRUE(dense.ok());
  EXPECT_LT(r->stats.flops, dense->stats.flops);
  for (size_t i = 0; i < Texts().size(); ++i) {
    double dot = 0;
    for (int c = 0; c < r->dim; ++c) dot += r->embedding(i)[c] * dense->embedding(i)[c];
    EXPECT_GT(dot, 0.8) << "text " << i;
  }
}

TEST_F(AdaptiveEngineTest, RaggedBatchPrunesEachSequenceOnItsOwn) {
  RunOptions o;
  o.pruning.keep_ratio = {0.4};
  auto batch = plain_->Embed(Texts(), o);
  ASSERT_TRUE(batch.ok()) << batch.status();
  for (size_t i = 0; i < Texts().size(); ++i) {
    auto one = plain_->Embed({Texts()[i]}, o);
    ASSERT_TRUE(one.ok());
    for (int c = 0; c < one->dim; ++c) {
      EXPECT_NEAR(batch->embedding(i)[c], one->embedding(0)[c], 1e-5) << i << "," << c;
    }
  }
}

TEST_F(AdaptiveEngineTest, MaxLayersExitsAfterTheFirstLayer) {
  RunOptions o;
  o.early_exit.max_layers = 1;
  auto r = plain_->Embed(Texts(), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stats.layers_run, 1);
  EXPECT_EQ(r->stats.exit_layer, 1);
  EXPECT_EQ(r->stats.tokens_per_layer.size(), 2u);
  for (const TextStats& t : r->stats.texts) EXPECT_EQ(t.exit_layer, 1);
  // Any cosine threshold met after layer 0 gives the same embeddings.
  RunOptions cosine;
  cosine.early_exit.embed_cosine = 1e-6;
  auto c = plain_->Embed(Texts(), cosine);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->embeddings, r->embeddings);
  // An unreachable one runs every layer, exactly as the plain run.
  cosine.early_exit.embed_cosine = 1.0;
  auto all = plain_->Embed(Texts(), cosine);
  auto dense = plain_->Embed(Texts(), RunOptions{});
  ASSERT_TRUE(all.ok() && dense.ok());
  EXPECT_EQ(all->stats.exit_layer, 2);
  EXPECT_EQ(all->embeddings, dense->embeddings);
}

TEST_F(AdaptiveEngineTest, BadSettingsNameTheField) {
  const auto error = [](const Engine* e, RunOptions o) {
    absl::Status s = e->CheckOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    return std::string(s.message());
  };
  RunOptions o;
  o.pruning.keep_ratio = {0.0};
  EXPECT_THAT(error(plain_, o), HasSubstr("pruning.keep_ratio[0]"));
  o = RunOptions{};
  o.pruning.importance_threshold = {0.5};
  o.pruning.min_tokens = 0;
  EXPECT_THAT(error(plain_, o), HasSubstr("pruning.min_tokens"));
  o = RunOptions{};
  o.early_exit.max_layers = 3;
  EXPECT_THAT(error(plain_, o), HasSubstr("early_exit.max_layers"));
  o = RunOptions{};
  o.early_exit.embed_cosine = 1.5;
  EXPECT_THAT(error(plain_, o), HasSubstr("early_exit.embed_cosine"));
  o = RunOptions{};
  o.early_exit.min_confidence = 0.9;  // no heads on this engine
  EXPECT_THAT(error(plain_, o), HasSubstr("early_exit.min_confidence"));
  EXPECT_TRUE(with_heads_->CheckOptions(o).ok());
  o.early_exit.min_confidence = 2;
  EXPECT_THAT(error(with_heads_, o), HasSubstr("early_exit.min_confidence"));
}

TEST_F(AdaptiveEngineTest, ClassifyMatchesTheHeadOnTheEmbedding) {
  const ClassifierHead& head = with_heads_->heads().at("toy");
  auto emb = with_heads_->Embed(Texts(), RunOptions{});
  ASSERT_TRUE(emb.ok());
  auto r = with_heads_->Classify(Texts(), "", RunOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->labels, ElementsAre("neg", "pos", "neutral"));
  for (size_t i = 0; i < Texts().size(); ++i) {
    float want[3];
    head.Probabilities(1, emb->embedding(i), want);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(r->scores[i][c], want[c], 1e-5);
    EXPECT_EQ(r->predicted[i], std::max_element(want, want + 3) - want);
    EXPECT_EQ(r->stats.texts[i].exit_layer, 2);
  }
}

TEST_F(AdaptiveEngineTest, ConfidentHeadsExitEarly) {
  RunOptions o;
  o.early_exit.min_confidence = 0.34;  // any 3-label distribution's top label
  auto r = with_heads_->Classify(Texts(), "toy", o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stats.layers_run, 1);
  RunOptions first;
  first.early_exit.max_layers = 1;
  auto emb = with_heads_->Embed(Texts(), first);
  ASSERT_TRUE(emb.ok());
  const ClassifierHead& head = with_heads_->heads().at("toy");
  for (size_t i = 0; i < Texts().size(); ++i) {
    float want[3];
    head.Probabilities(0, emb->embedding(i), want);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(r->scores[i][c], want[c], 1e-5);
    EXPECT_EQ(r->stats.texts[i].exit_layer, 1);
  }
  // Entropy of at most 0 is never met: every text runs both layers.
  o = RunOptions{};
  o.early_exit.max_entropy = 0;
  auto all = with_heads_->Classify(Texts(), "toy", o);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->stats.exit_layer, 2);
}

TEST_F(AdaptiveEngineTest, ClassifyErrors) {
  auto none = plain_->Classify(Texts(), "", RunOptions{});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  auto unknown = with_heads_->Classify(Texts(), "spam", RunOptions{});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("toy"));
}

}  // namespace
}  // namespace attnserve
