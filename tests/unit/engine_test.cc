// The engine on the real USE-lite model: options validation, batching, the
// clip, deadlines and cancellation, and load faults on damaged model copies.
#include "engine/engine.h"

#include <sched.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/attention/length_defaults.h"
#include "engine/attention/registry.h"
#include "engine/util/cpu_budget.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/per_test_dir.h"
#include "tests/support/test_model.h"

namespace attnserve {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::TestModelPresent()) return;
    EngineConfig config;
    config.model_dir = testing::TestModelDir();
    auto engine = Engine::Load(config);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = engine->release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  void SetUp() override { ATTNSERVE_REQUIRE_TEST_MODEL(); }

  static Engine* engine_;
};
Engine* EngineTest::engine_ = nullptr;

double Cosine(const float* a, const float* b, int n) {
  double dot = 0, na = 0, nb = 0;
  for (int i = 0; i < n; ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  return dot / std::sqrt(na * nb);
}

TEST_F(EngineTest, ModelInfoComesFromTheFiles) {
  const ModelInfo& info = engine_->model_info();
  EXPECT_EQ(info.name, "use-lite");
  EXPECT_EQ(info.embedding_dim, 512);
  EXPECT_EQ(info.default_max_tokens, 128);
  EXPECT_EQ(info.num_layers, 2);
  EXPECT_EQ(info.vocab_size, 8000);
  EXPECT_GT(info.num_parameters, 6'900'000);
  EXPECT_EQ(info.weight_bytes, 27'903'656);
}

TEST_F(EngineTest, FactsSheetSanityValues) {
  // Values the facts sheet reads off the reference runtime.
  auto r = engine_->Embed({"The quick brown fox jumps over the lazy dog.", "hello"}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->embedding(0)[0], -0.0135338, 2e-6);
  EXPECT_NEAR(r->embedding(0)[1], -0.0425640, 2e-6);
  EXPECT_NEAR(r->embedding(0)[2], 0.0368427, 2e-6);
  EXPECT_NEAR(r->embedding(1)[0], 0.041678, 2e-6);
  EXPECT_NEAR(r->embedding(1)[1], -0.022363, 2e-6);
  EXPECT_NEAR(r->embedding(1)[2], -0.047608, 2e-6);
  double norm = 0;
  for (int i = 0; i < r->dim; ++i) norm += r->embedding(0)[i] * r->embedding(0)[i];
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_EQ(r->stats.attention_kernel, "dense");
  EXPECT_EQ(r->stats.layers_run, 2);
  EXPECT_GT(r->stats.cpu_seconds, 0);
  EXPECT_LT(r->stats.cpu_seconds, 10 * r->stats.compute_seconds + 0.01);
  EXPECT_EQ(r->stats.texts[0].tokens_in, 12);
  EXPECT_EQ(r->stats.texts[0].tokens_used, 12);
  // Linear FLOPs of the facts sheet: 9,306,112 n + 524,288 per text, plus attention.
  EXPECT_EQ(r->stats.flops, 9'306'112LL * 14 + 2 * 524'288 + 3'072LL * (12 * 12 + 2 * 2));
}

// default_threads 0 means the CPU budget, not every online core: an engine
// loaded on a thread pinned to one CPU (taskset -c 0) runs on one thread.
TEST_F(EngineTest, DefaultThreadsFollowTheCpuBudget) {
  absl::StatusOr<std::unique_ptr<Engine>> pinned;
  std::thread([&pinned] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    EngineConfig config;
    config.model_dir = testing::TestModelDir();
    pinned = Engine::Load(config);
  }).join();
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_EQ((*pinned)->config().default_threads, 1);
  absl::StatusOr<EmbedResult> result = (*pinned)->Embed({"hello"}, RunOptions{});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->stats.num_threads, 1);
  EXPECT_EQ(engine_->config().default_threads, ReadCpuBudget().cpus);
}

TEST_F(EngineTest, BatchEqualsSingles) {
  const std::vector<std::string> texts = {"short", "A somewhat longer sentence, with commas.",
                                          "東京は日本の首都です。", "10:30 :)"};
  auto batch = engine_->Embed(texts, {});
  ASSERT_TRUE(batch.ok()) << batch.status();
  for (size_t i = 0; i < texts.size(); ++i) {
    auto single = engine_->Embed({texts[i]}, {});
    ASSERT_TRUE(single.ok());
    for (int j = 0; j < batch->dim; ++j) {
      EXPECT_NEAR(batch->embedding(i)[j], single->embedding(0)[j], 1e-6) << i << "," << j;
    }
  }
}

TEST_F(EngineTest, ClipKeepsTheFirstTokensAndCanBeLifted) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "word ";
  auto ids = engine_->Tokenize(text);
  ASSERT_TRUE(ids.ok());
  ASSERT_GT(ids->size(), 128u);
  std::vector<int32_t> first(ids->begin(), ids->begin() + 128);
  auto clipped = engine_->EmbedTokenIds({*ids}, {});
  auto prefix = engine_->EmbedTokenIds({first}, {});
  ASSERT_TRUE(clipped.ok() && prefix.ok());
  EXPECT_EQ(clipped->stats.texts[0].tokens_used, 128);
  EXPECT_EQ(clipped->stats.texts[0].tokens_in, static_cast<int>(ids->size()));
  EXPECT_EQ(clipped->embeddings, prefix->embeddings);
  RunOptions lifted;
  lifted.max_tokens = 1024;
  auto full = engine_->EmbedTokenIds({*ids}, lifted);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->stats.texts[0].tokens_used, static_cast<int>(ids->size()));
  EXPECT_LT(Cosine(full->embedding(0), clipped->embedding(0), 512), 0.999999);
}

TEST_F(EngineTest, ThreadCountDoesNotChangeResults) {
  RunOptions one, two;
  one.num_threads = 1;
  two.num_threads = 2;
  auto a = engine_->Embed({"Threads must not change the answer."}, one);
  auto b = engine_->Embed({"Threads must not change the answer."}, two);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT(Cosine(a->embedding(0), b->embedding(0), 512), 0.9999999);
  EXPECT_EQ(a->stats.num_threads, 1);
  EXPECT_EQ(b->stats.num_threads, 2);
}

// A kernel whose budget follows the length runs, with no parameter set,
// exactly as with the rule's value at the text's length set explicitly.
TEST_F(EngineTest, LengthDependentDefaultsFollowTheTextsLength) {
  ASSERT_FALSE(AllLengthDefaults().empty());
  const LengthDefault& rule = AllLengthDefaults().front();
  std::string text;
  for (int i = 0; i < 80; ++i) text += "The harbour lights went out one by one as the ship left. ";
  RunOptions options;
  options.attention = rule.kernel;
  options.max_tokens = 700;
  absl::StatusOr<EmbedResult> by_default = engine_->Embed({text}, options);
  ASSERT_TRUE(by_default.ok()) << by_default.status();
  const int64_t n = by_default->stats.texts[0].tokens_used;
  ASSERT_GT(n, 600);

  const ParamSpec* spec = nullptr;
  for (const ParamSpec& p : (*FindAttentionKernel(rule.kernel))->info().params) {
    if (p.name == rule.param) spec = &p;
  }
  ASSERT_NE(spec, nullptr);
  const double at_n = rule.At(n, *spec);
  options.attention_params = {{rule.param, absl::StrCat(at_n)}};
  absl::StatusOr<EmbedResult> explicit_value = engine_->Embed({text}, options);
  ASSERT_TRUE(explicit_value.ok()) << explicit_value.status();
  EXPECT_EQ(by_default->embeddings, explicit_value->embeddings);
  EXPECT_EQ(by_default->stats.attention_pairs_scored, explicit_value->stats.attention_pairs_scored);

  ASSERT_NE(at_n, spec->default_value) << "pick a length where the rule moves the default";
  options.attention_params = {{rule.param, absl::StrCat(spec->default_value)}};
  absl::StatusOr<EmbedResult> fixed = engine_->Embed({text}, options);
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  EXPECT_NE(by_default->embeddings, fixed->embeddings);
}

TEST_F(EngineTest, BadInputsNameTheField) {
  auto empty = engine_->Embed({"fine", ""}, {});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("texts[1]: text is empty"));

  auto utf8 = engine_->Embed({"ok", "bad \xC3\x28"}, {});
  EXPECT_EQ(utf8.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(utf8.status().message(), HasSubstr("texts[1]"));
  EXPECT_THAT(utf8.status().message(), HasSubstr("UTF-8"));

  EXPECT_THAT(engine_->Embed({}, {}).status().message(), HasSubstr("texts: no texts"));

  RunOptions too_long;
  too_long.max_tokens = 1 << 20;
  EXPECT_THAT(engine_->Embed({"x"}, too_long).status().message(), HasSubstr("max_tokens"));
  RunOptions negative;
  negative.max_tokens = -1;
  EXPECT_THAT(engine_->CheckOptions(negative).message(), HasSubstr("max_tokens"));
  RunOptions threads;
  threads.num_threads = 100000;
  EXPECT_THAT(engine_->Embed({"x"}, threads).status().message(), HasSubstr("num_threads"));
  RunOptions kernel;
  kernel.attention = "no_such_kernel";
  EXPECT_THAT(engine_->Embed({"x"}, kernel).status().message(),
              HasSubstr("unknown attention kernel 'no_such_kernel'"));
  // Names are parsed at the edge, once; the engine only sees the enum.
  RunOptions precision;
  const absl::Status fp16 = SetLinearPrecision("linear_precision", "fp16", &precision);
  EXPECT_EQ(fp16.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(fp16.message(), HasSubstr("linear_precision: 'fp16'"));
  std::vector<std::string> many(engine_->config().max_batch_texts + 1, "x");
  EXPECT_THAT(engine_->Embed(many, {}).status().message(), HasSubstr("exceed the limit"));
}

TEST_F(EngineTest, ExpiredDeadlineAndCancellationStopTheRun) {
  RunOptions late;
  late.deadline = absl::Now() - absl::Seconds(1);
  auto expired = engine_->Embed({"too late"}, late);
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(expired.status().message(), HasSubstr("before layer 0"));

  RunOptions cancel;
  cancel.is_cancelled = [] { return true; };
  EXPECT_EQ(engine_->Embed({"never mind"}, cancel).status().code(), absl::StatusCode::kCancelled);
}

// The memory a request needs is estimated and bounded before the run
// allocates anything: over the bound is ResourceExhausted, not an OOM kill.
TEST_F(EngineTest, RequestMemoryIsBoundedBeforeAllocation) {
  EngineConfig config;
  config.model_dir = testing::TestModelDir();
  config.max_request_bytes = int64_t{64} << 20;
  auto bounded = Engine::Load(config);
  ASSERT_TRUE(bounded.ok()) << bounded.status();
  std::string long_text;
  for (int i = 0; i < 5000; ++i) long_text += "word ";
  RunOptions lifted;
  lifted.max_tokens = 4096;
  lifted.num_threads = 1;
  auto refused = (*bounded)->Embed({long_text}, lifted);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("estimated"));
  EXPECT_THAT(refused.status().message(), HasSubstr("67108864"));
  // The model's own clip fits; so does the default (2 GiB) engine with the lift.
  RunOptions clipped;
  clipped.num_threads = 1;
  EXPECT_TRUE((*bounded)->Embed({long_text}, clipped).ok());
  EXPECT_TRUE(engine_->Embed({long_text}, lifted).ok());

  auto dense = FindAttentionKernel("dense");
  auto window = FindAttentionKernel("sliding_window");
  ASSERT_TRUE(dense.ok() && window.ok());
  const int64_t dense_bytes = engine_->EstimateRunBytes({4096}, 1, **dense);
  EXPECT_GT(dense_bytes, int64_t{4096} * 4096 * 4);  // the score matrix alone
  EXPECT_LT(engine_->EstimateRunBytes({4096}, 1, **window), dense_bytes);
  EXPECT_GT(engine_->EstimateRunBytes({4096}, 8, **dense), dense_bytes);  // heads in flight
  EXPECT_GT(engine_->EstimateRunBytes({128, 128}, 1, **dense),
            engine_->EstimateRunBytes({128}, 1, **dense));
}

// Load faults on a damaged copy of the real model.
class DamagedModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ATTNSERVE_REQUIRE_TEST_MODEL();
    dir_ = testing::PerTestDir("damaged_model_");
    fs::remove_all(dir_);
    fs::copy(testing::TestModelDir(), dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  absl::Status LoadStatus() {
    EngineConfig config;
    config.model_dir = dir_.string();
    return Engine::Load(config).status();
  }
  fs::path dir_;
};

TEST_F(DamagedModelTest, TruncatedShardNamesATensor) {
  fs::resize_file(dir_ / "group1-shard7of7", 1000);
  const absl::Status s = LoadStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("tensor '"));
}

TEST_F(DamagedModelTest, MissingShardVocabOrManifest) {
  fs::remove(dir_ / "group1-shard3of7");
  EXPECT_THAT(LoadStatus().message(), HasSubstr("group1-shard3of7"));
  fs::copy(testing::TestModelDir() + "/group1-shard3of7", dir_ / "group1-shard3of7");
  fs::remove(dir_ / "vocab.json");
  EXPECT_THAT(LoadStatus().message(), HasSubstr("vocab.json"));
  fs::remove(dir_ / "model.json");
  EXPECT_THAT(LoadStatus().message(), HasSubstr("no supported model"));
}

TEST_F(DamagedModelTest, CorruptManifestAndRenamedTensor) {
  std::ifstream in(dir_ / "model.json");
  std::string json((std::istreambuf_iterator<char>(in)), {});
  in.close();
  std::ofstream(dir_ / "model.json", std::ios::trunc) << json.substr(0, json.size() / 2);
  EXPECT_THAT(LoadStatus().message(), HasSubstr("invalid JSON"));
  std::string renamed = json;
  const std::string name = "module/Embeddings_en";
  renamed.replace(renamed.find(name, renamed.find("weightsManifest")), name.size(),
                  "module/Embeddings_xx");
  std::ofstream(dir_ / "model.json", std::ios::trunc) << renamed;
  EXPECT_THAT(LoadStatus().message(), HasSubstr("no tensor 'module/Embeddings_en'"));
}

// linformer fitted=1 needs the fit tools/fetch_model.sh installs beside the
// weights; a fit for other weights refuses to load.
TEST_F(DamagedModelTest, FittedLinformerRunsOnTheShippedFitOnly) {
  if (!fs::exists(dir_ / "linformer_fit.json")) {
    if (testing::ModelRequired()) FAIL() << "no linformer_fit.json (run tools/fetch_model.sh)";
    GTEST_SKIP() << "no linformer_fit.json beside the model";
  }
  std::string text;
  for (int i = 0; i < 60; ++i) absl::StrAppend(&text, "the whale swam past the ship at dawn. ");
  RunOptions options;
  options.attention = "linformer";
  options.max_tokens = 256;
  auto embed = [&](const std::string& fitted) {
    EngineConfig config;
    config.model_dir = dir_.string();
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Load(config);
    if (!engine.ok()) return absl::StatusOr<EmbedResult>(engine.status());
    options.attention_params = {{"k", "64"}, {"fitted", fitted}};
    return (*engine)->Embed({text}, options);
  };
  absl::StatusOr<EmbedResult> fitted = embed("1"), means = embed("0");
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  ASSERT_TRUE(means.ok()) << means.status();
  const int dim = static_cast<int>(means->embeddings.size());
  const double cos = Cosine(fitted->embeddings.data(), means->embeddings.data(), dim);
  EXPECT_LT(cos, 0.999999);  // the filters are not segment means
  EXPECT_GT(cos, 0.9);
  EXPECT_EQ(fitted->stats.attention_pairs_scored, means->stats.attention_pairs_scored);

  fs::remove(dir_ / "linformer_fit.json");
  absl::StatusOr<EmbedResult> none = embed("1");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(none.status().message(), HasSubstr("linformer_fit.json"));

  fs::copy(testing::TestModelDir() + "/linformer_fit.json", dir_ / "linformer_fit.json");
  {
    std::fstream shard(dir_ / "group1-shard2of7", std::ios::in | std::ios::out | std::ios::binary);
    shard.seekp(1000);
    shard.put('\x42');
  }
  const absl::Status other = LoadStatus();
  EXPECT_EQ(other.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(other.message(), HasSubstr("group1-shard2of7 differs"));
}

TEST(EngineLoadTest, MissingDirectory) {
  EngineConfig config;
  config.model_dir = "/nonexistent/model/dir";
  const absl::Status s = Engine::Load(config).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("does not exist"));
}

}  // namespace
}  // namespace attnserve
