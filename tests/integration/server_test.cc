// Every RPC and its error codes against the real server on a real socket.
#include <cmath>
#include <thread>

#include "engine/attention/length_defaults.h"
#include "engine/policy/classifier_head.h"
#include "gmock/gmock.h"
#include "server/text_proto.h"
#include "tests/integration/server_fixture.h"

namespace attnserve::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(ServerTest, HealthModelsAndTokenize) {
  StartServer(BaseConfig());
  auto health = client_->Health();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(*client_->Health("attnserve.v1.Inference"),
            grpc::health::v1::HealthCheckResponse::SERVING);

  auto models = client_->ListModels();
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->models_size(), 1);
  EXPECT_EQ(models->models(0).name(), "use-lite");
  EXPECT_EQ(models->models(0).embedding_dim(), 512);
  EXPECT_EQ(models->models(0).generation(), 1);

  v1::TokenizeRequest tokenize;
  tokenize.add_texts("hello");
  auto tokens = client_->Tokenize(tokenize);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_THAT(tokens->tokens(0).ids(), ::testing::ElementsAre(2002, 102));
  EXPECT_EQ(tokens->tokens(0).pieces(0), "\u2581hell");
  // Offsets are bytes of the text as sent: the first marker stands for none.
  EXPECT_THAT(tokens->tokens(0).starts(), ::testing::ElementsAre(0, 4));
  EXPECT_THAT(tokens->tokens(0).ends(), ::testing::ElementsAre(4, 5));
}

TEST_F(ServerTest, EmbedMatchesTheReferenceAndReportsStats) {
  StartServer(BaseConfig());
  v1::EmbedRequest request = EmbedOf({"The quick brown fox jumps over the lazy dog.", "hello"});
  request.set_return_token_ids(true);
  auto response = client_->Embed(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->embeddings_size(), 2);
  EXPECT_NEAR(response->embeddings(0).values(0), -0.0135338, 2e-6);
  EXPECT_NEAR(response->embeddings(1).values(0), 0.041678, 2e-6);
  EXPECT_EQ(response->embeddings(0).token_ids_size(), 12);
  const v1::RunStats& stats = response->stats();
  EXPECT_EQ(stats.attention_kernel(), "dense");
  EXPECT_EQ(stats.layers_run(), 2);
  EXPECT_EQ(stats.texts(0).tokens_used(), 12);
  EXPECT_GT(stats.compute_seconds(), 0);
  EXPECT_GE(stats.queue_seconds(), 0);
  EXPECT_EQ(stats.policy_version(), 1);
}

TEST_F(ServerTest, BadRequestsNameTheField) {
  v1::Config config = BaseConfig();
  config.mutable_limits()->set_max_texts_per_request(3);
  config.mutable_limits()->set_max_text_bytes(100);
  config.mutable_limits()->set_max_tokens(1024);
  StartServer(config);
  struct Case {
    v1::EmbedRequest request;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back({v1::EmbedRequest(), grpc::INVALID_ARGUMENT, "texts: at least one"});
  cases.push_back({EmbedOf({"a", "b", "c", "d"}), grpc::INVALID_ARGUMENT, "exceed the limit of 3"});
  cases.push_back(
      {EmbedOf({"ok", std::string(101, 'x')}), grpc::INVALID_ARGUMENT, "texts[1]: 101 bytes"});
  cases.push_back({EmbedOf({"ok", "bad \xC3\x28 utf8"}), grpc::INVALID_ARGUMENT, "texts[1]"});
  cases.push_back({EmbedOf({"fine", ""}), grpc::INVALID_ARGUMENT, "texts[1]: text is empty"});
  v1::EmbedRequest kernel = EmbedOf({"x"});
  kernel.mutable_options()->mutable_attention()->set_kernel("nope");
  cases.push_back({kernel, grpc::INVALID_ARGUMENT, "unknown attention kernel 'nope'"});
  v1::EmbedRequest tokens = EmbedOf({"x"});
  tokens.mutable_options()->set_max_tokens(5000);
  cases.push_back({tokens, grpc::INVALID_ARGUMENT, "options.max_tokens: 5000 exceeds"});
  v1::EmbedRequest model = EmbedOf({"x"});
  model.set_model("bert");
  cases.push_back({model, grpc::NOT_FOUND, "'bert' is not served"});
  for (const Case& c : cases) {
    auto response = client_->Embed(c.request);
    ASSERT_FALSE(response.ok()) << c.message;
    EXPECT_EQ(static_cast<int>(response.status().code()), static_cast<int>(c.code)) << c.message;
    EXPECT_THAT(std::string(response.status().message()), HasSubstr(c.message));
  }
  v1::ClassifyRequest classify;
  classify.add_texts("x");
  EXPECT_EQ(client_->Classify(classify).status().code(), absl::StatusCode::kFailedPrecondition);
}

// Classify through the server equals the head applied to the embedding the
// server returns for the same text (softmax of W e + b, computed here).
TEST_F(ServerTest, ClassifyAppliesTheHeadToTheEmbedding) {
  ClassifierHead head;
  head.name = "mood";
  head.labels = {"calm", "upset"};
  head.dim = 512;
  for (int k = 0; k < 2; ++k) {
    LayerHead layer;
    layer.layer = k;
    for (int i = 0; i < 2 * 512; ++i) layer.weights.push_back(std::sin(0.37f * i + k) * 4.0f);
    layer.bias = {0.2f, -0.1f};
    head.layers.push_back(layer);
  }
  std::filesystem::create_directories(dir_ / "heads");
  std::ofstream(dir_ / "heads" / "mood.json") << ClassifierHeadToJson(head);
  StartServer(BaseConfig());

  const std::string text = "The service was slow and the soup was cold.";
  auto embedded = client_->Embed(EmbedOf({text}));
  ASSERT_TRUE(embedded.ok()) << embedded.status();
  v1::ClassifyRequest request;
  request.add_texts(text);
  auto classified = client_->Classify(request);
  ASSERT_TRUE(classified.ok()) << classified.status();
  ASSERT_EQ(classified->results_size(), 1);

  const auto& e = embedded->embeddings(0).values();
  const LayerHead& last = head.layers.back();
  double logits[2];
  for (int c = 0; c < 2; ++c) {
    logits[c] = last.bias[c];
    for (int i = 0; i < 512; ++i) logits[c] += last.weights[c * 512 + i] * e[i];
  }
  const double p_upset = 1.0 / (1.0 + std::exp(logits[0] - logits[1]));
  const v1::Classification& result = classified->results(0);
  EXPECT_EQ(result.label(), p_upset > 0.5 ? "upset" : "calm");
  EXPECT_NEAR(result.scores().at("upset"), p_upset, 1e-4);
  EXPECT_NEAR(result.scores().at("calm"), 1 - p_upset, 1e-4);
  EXPECT_EQ(classified->stats().layers_run(), 2);

  request.set_head("nope");
  auto unknown = client_->Classify(request);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("nope"));
}

TEST_F(ServerTest, OversizedMessageIsRefused) {
  v1::Config config = BaseConfig();
  config.mutable_limits()->set_max_message_bytes(4096);
  StartServer(config);
  auto response = client_->Embed(EmbedOf({std::string(10000, 'a')}));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(ServerTest, RequestOverTheMemoryBoundIsResourceExhausted) {
  v1::Config config = BaseConfig();
  config.mutable_limits()->set_max_request_bytes(int64_t{32} << 20);
  StartServer(config);
  std::string long_text;
  for (int i = 0; i < 5000; ++i) long_text += "word ";
  v1::EmbedRequest request = EmbedOf({long_text});
  request.mutable_options()->set_max_tokens(4096);
  auto refused = client_->Embed(request);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("over the limit of 33554432 bytes"));
  EXPECT_TRUE(client_->Embed(EmbedOf({long_text})).ok());  // the model's own clip fits
}

TEST_F(ServerTest, AdminNeedsTheToken) {
  StartServer(BaseConfig());
  EXPECT_EQ(Connect("")->GetPolicy().status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Connect("wrong-token-wrong-token")->GetPolicy().status().code(),
            absl::StatusCode::kPermissionDenied);
  auto policy = client_->GetPolicy();
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->version(), 1);
  auto kernels = client_->ListAttentionKernels();
  ASSERT_TRUE(kernels.ok());
  EXPECT_EQ(kernels->kernels(0).name(), "dense");
  // A default that follows the length lists its points.
  bool listed = false;
  for (const v1::AttentionKernelInfo& k : kernels->kernels()) {
    for (const v1::ParamSchema& p : k.params()) {
      const LengthDefault* rule = FindLengthDefault(k.name(), p.name());
      ASSERT_EQ(static_cast<size_t>(p.default_by_length_size()),
                rule == nullptr ? 0u : rule->points.size())
          << k.name() << "." << p.name();
      if (rule == nullptr) continue;
      listed = true;
      EXPECT_EQ(p.default_by_length(0).tokens(), rule->points[0].first);
      EXPECT_EQ(p.default_by_length(0).value(), rule->points[0].second);
    }
  }
  EXPECT_TRUE(listed);
}

TEST_F(ServerTest, AdminDisabledWithoutTokenOrMtls) {
  v1::Config config = BaseConfig();
  config.clear_admin_token_file();
  StartServer(config);
  auto policy = Connect("")->GetPolicy();
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(policy.status().message()), HasSubstr("disabled"));
  EXPECT_EQ(client_->GetPolicy().status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(ServerTest, PolicySetValidatesPersistsAndSurvivesRestart) {
  StartServer(BaseConfig());
  v1::SetPolicyRequest set;
  set.mutable_policy()->mutable_defaults()->set_max_tokens(16);
  set.mutable_policy()->add_overridable("attention");
  auto installed = client_->SetPolicy(set);
  ASSERT_TRUE(installed.ok()) << installed.status();
  EXPECT_EQ(installed->version(), 2);

  // The new defaults apply: a long text is clipped at 16 tokens.
  std::string text;
  for (int i = 0; i < 50; ++i) text += "word ";
  auto response = client_->Embed(EmbedOf({text}));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->stats().texts(0).tokens_used(), 16);
  EXPECT_EQ(response->stats().policy_version(), 2);
  // max_tokens is no longer overridable.
  v1::EmbedRequest override = EmbedOf({text});
  override.mutable_options()->set_max_tokens(64);
  auto refused = client_->Embed(override);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("options.max_tokens"));

  // Invalid policies and stale versions change nothing.
  v1::SetPolicyRequest bad;
  bad.mutable_policy()->mutable_defaults()->mutable_attention()->set_kernel("nope");
  EXPECT_EQ(client_->SetPolicy(bad).status().code(), absl::StatusCode::kInvalidArgument);
  v1::SetPolicyRequest stale = set;
  stale.set_expected_version(1);
  EXPECT_EQ(client_->SetPolicy(stale).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(client_->GetPolicy()->version(), 2);

  // A restart keeps the persisted policy.
  server_.reset();
  StartServer(BaseConfig());
  auto reloaded = client_->GetPolicy();
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->version(), 2);
  EXPECT_EQ(reloaded->defaults().max_tokens(), 16);
}

// The dense layers' precision: per request, as the policy's default, refused
// when unknown or not overridable.
TEST_F(ServerTest, LinearPrecisionPerRequestAndByPolicy) {
  v1::Config config = BaseConfig();
  config.add_warm_linear_precisions("int8");  // packed at load; a bad name is a config error
  v1::Config bad_config = config;
  bad_config.add_warm_linear_precisions("int4");
  const absl::Status refused_config = FinalizeConfig(&bad_config);
  EXPECT_EQ(refused_config.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused_config.message()),
              HasSubstr("warm_linear_precisions[1]: 'int4'"));
  StartServer(config);
  const std::string text = "The quick brown fox jumps over the lazy dog.";
  auto f32 = client_->Embed(EmbedOf({text}));
  ASSERT_TRUE(f32.ok()) << f32.status();
  EXPECT_EQ(f32->stats().linear_precision(), "f32");
  v1::EmbedRequest int8 = EmbedOf({text});
  int8.mutable_options()->set_linear_precision("int8");
  auto quantised = client_->Embed(int8);
  ASSERT_TRUE(quantised.ok()) << quantised.status();
  EXPECT_EQ(quantised->stats().linear_precision(), "int8");
  double dot = 0;
  bool identical = true;
  for (int i = 0; i < f32->embeddings(0).values_size(); ++i) {
    dot += double{f32->embeddings(0).values(i)} * quantised->embeddings(0).values(i);
    identical = identical && f32->embeddings(0).values(i) == quantised->embeddings(0).values(i);
  }
  EXPECT_GT(dot, 0.998);  // both L2-normalised
  EXPECT_FALSE(identical);

  v1::EmbedRequest unknown = EmbedOf({text});
  unknown.mutable_options()->set_linear_precision("fp16");
  auto refused = client_->Embed(unknown);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("options.linear_precision: 'fp16'"));

  v1::SetPolicyRequest set;
  set.mutable_policy()->mutable_defaults()->set_linear_precision("bf16");
  set.mutable_policy()->add_overridable("attention");
  ASSERT_TRUE(client_->SetPolicy(set).ok());
  auto by_policy = client_->Embed(EmbedOf({text}));
  ASSERT_TRUE(by_policy.ok());
  EXPECT_EQ(by_policy->stats().linear_precision(), "bf16");
  auto not_allowed = client_->Embed(int8);
  EXPECT_EQ(not_allowed.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(not_allowed.status().message()), HasSubstr("options.linear_precision"));
  v1::SetPolicyRequest bad;
  bad.mutable_policy()->mutable_defaults()->set_linear_precision("int4");
  auto bad_policy = client_->SetPolicy(bad);
  EXPECT_EQ(bad_policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_policy.status().message()), HasSubstr("linear_precision: 'int4'"));
}

TEST_F(ServerTest, UnwritablePolicyFileKeepsThePreviousPolicy) {
  v1::Config config = BaseConfig();
  config.set_policy_file((dir_ / "no_such_dir" / "policy.textproto").string());
  StartServer(config);
  v1::SetPolicyRequest set;
  set.mutable_policy()->mutable_defaults()->set_max_tokens(32);
  auto result = client_->SetPolicy(set);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("policy not changed"));
  EXPECT_EQ(client_->GetPolicy()->version(), 1);
}

TEST_F(ServerTest, ReloadKeepsServingOnFailure) {
  StartServer(BaseConfig());
  v1::ReloadModelRequest reload;
  auto ok = client_->ReloadModel(reload);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->generation(), 2);
  reload.set_model_dir("../etc");
  EXPECT_EQ(client_->ReloadModel(reload).status().code(), absl::StatusCode::kInvalidArgument);
  reload.set_model_dir("no-such-model");
  auto failed = client_->ReloadModel(reload);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("previous model keeps serving"));
  EXPECT_TRUE(client_->Embed(EmbedOf({"still here"})).ok());
  EXPECT_EQ(client_->ListModels()->models(0).generation(), 2);
}

TEST_F(ServerTest, EmbedStreamAnswersEveryMessageInOrder) {
  StartServer(BaseConfig());
  v1::Inference::Stub stub(client_->channel());
  grpc::ClientContext context;
  auto stream = stub.EmbedStream(&context);
  const std::vector<std::string> texts = {"one", "two words", "three little words", "hello"};
  for (const std::string& t : texts) {
    v1::EmbedRequest request;
    request.add_texts(t);
    request.set_return_token_ids(true);
    ASSERT_TRUE(stream->Write(request));
    v1::EmbedResponse response;
    ASSERT_TRUE(stream->Read(&response));
    ASSERT_EQ(response.embeddings_size(), 1);
    auto single = client_->Embed(EmbedOf({t}));
    ASSERT_TRUE(single.ok());
    EXPECT_EQ(response.embeddings(0).values(0), single->embeddings(0).values(0)) << t;
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ServerTest, ExpiredDeadlineIsReported) {
  StartServer(BaseConfig());
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "word ";
  v1::EmbedRequest request = EmbedOf({text});
  request.mutable_options()->set_max_tokens(4096);
  v1::Inference::Stub stub(client_->channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(30));
  v1::EmbedResponse response;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status = stub.Embed(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server stops between layers; a fresh request is served promptly after.
  EXPECT_TRUE(client_->Embed(EmbedOf({"next"})).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// The auto policy through the server: a request asks for "auto" with a
// budget; RunStats says what ran and whether the budget was met. An operator
// can make "auto" the default at runtime.
TEST_F(ServerTest, AutoPolicyMeetsBudgetsAndReportsTheChoice) {
  std::ofstream(dir_ / "calibration.json") << R"({
    "model": "use-lite", "lengths": [16, 512],
    "entries": [
      {"name": "dense", "attention": "dense", "latency_ms": [2, 60], "cosine": [1, 1]},
      {"name": "window64", "attention": "sliding_window", "attention_params": {"window": "64"},
       "latency_ms": [2, 20], "cosine": [1, 0.999]},
      {"name": "exit1", "attention": "dense", "early_exit": {"max_layers": 1},
       "latency_ms": [1, 25], "cosine": [0.9, 0.9]}]})";
  StartServer(BaseConfig());
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the quick brown fox jumps over the lazy dog ";
  v1::EmbedRequest request = EmbedOf({text});
  request.mutable_options()->set_max_tokens(512);
  request.mutable_options()->mutable_attention()->set_kernel("auto");
  request.mutable_options()->mutable_early_exit()->set_mode("auto");
  request.mutable_options()->mutable_budget()->set_min_retention(0.99);
  auto response = client_->Embed(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->stats().attention_kernel(), "sliding_window");
  EXPECT_EQ(response->stats().auto_selection().config(), "window64");
  EXPECT_TRUE(response->stats().auto_selection().budget_met());
  EXPECT_GT(response->stats().auto_selection().predicted_latency_ms(), 0);

  // A budget nothing meets still runs, and says so.
  request.mutable_options()->mutable_budget()->set_min_retention(0);
  request.mutable_options()->mutable_budget()->set_max_latency_ms(0.01);
  response = client_->Embed(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_FALSE(response->stats().auto_selection().budget_met());
  EXPECT_EQ(response->stats().auto_selection().config(), "window64");
  EXPECT_THAT(response->stats().auto_selection().note(), HasSubstr("budget not met"));

  // Bad budgets and modes name the field.
  request.mutable_options()->mutable_budget()->set_min_retention(2);
  auto bad = client_->Embed(request);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("budget.min_retention"));
  v1::EmbedRequest mode = EmbedOf({"x"});
  mode.mutable_options()->mutable_pruning()->set_mode("sometimes");
  bad = client_->Embed(mode);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("options.pruning.mode"));
  v1::EmbedRequest budget_alone = EmbedOf({"x"});
  budget_alone.mutable_options()->mutable_budget()->set_max_latency_ms(5);
  bad = client_->Embed(budget_alone);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("needs the auto policy"));

  // The operator makes auto the default: plain requests now go through it.
  v1::SetPolicyRequest set;
  set.mutable_policy()->mutable_defaults()->mutable_attention()->set_kernel("auto");
  set.mutable_policy()->mutable_defaults()->mutable_budget()->set_min_retention(0.95);
  ASSERT_TRUE(client_->SetPolicy(set).ok());
  v1::EmbedRequest plain = EmbedOf({text});
  response = client_->Embed(plain);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_FALSE(response->stats().auto_selection().config().empty());
}

TEST_F(ServerTest, AutoPolicyWithoutCalibrationIsRefused) {
  StartServer(BaseConfig());
  v1::EmbedRequest request = EmbedOf({"hello"});
  request.mutable_options()->mutable_attention()->set_kernel("auto");
  auto refused = client_->Embed(request);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("tools/calibrate"));
  v1::SetPolicyRequest set;
  set.mutable_policy()->mutable_defaults()->mutable_attention()->set_kernel("auto");
  EXPECT_FALSE(client_->SetPolicy(set).ok());
}

}  // namespace
}  // namespace attnserve::testing
