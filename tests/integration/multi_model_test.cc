// Several models in one server: USE-lite (the default) and a tiny BERT
// classifier (tests/golden/bert, bert_tiny fixture) side by side in one
// model root; requests route by name, a reload touches only its model and
// loses no request, even under load on both.
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/server_fixture.h"
#include "tests/support/http_client.h"

namespace attnserve::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class MultiModelTest : public ServerTest {
 protected:
  // A model root holding links to both models.
  v1::Config TwoModels() {
    const std::filesystem::path root = dir_ / "models";
    std::filesystem::create_directories(root);
    std::filesystem::create_directory_symlink(std::filesystem::absolute(TestModelDir()),
                                              root / "use-lite");
    std::filesystem::create_directory_symlink(
        std::filesystem::path(ATTNSERVE_TINY_BERT_DIR) / "bert-cls", root / "bert-cls");
    v1::Config config = BaseConfig();
    config.set_model_root(root.string());
    config.set_model_dir("use-lite");
    config.add_extra_model_dirs("bert-cls");
    config.mutable_admission()->set_workers(2);
    return config;
  }

  int EmbeddingSize(const std::string& model) {
    v1::EmbedRequest request = EmbedOf({"hello world"});
    request.set_model(model);
    absl::StatusOr<v1::EmbedResponse> r = client_->Embed(request);
    EXPECT_TRUE(r.ok()) << model << ": " << r.status();
    if (!r.ok()) return -1;
    EXPECT_EQ(r->model(), model.empty() ? "use-lite" : model);
    return r->embeddings(0).values_size();
  }
};

TEST_F(MultiModelTest, RequestsRouteByNameAndEveryListShowsBoth) {
  StartServer(TwoModels());
  absl::StatusOr<v1::ListModelsResponse> models = client_->ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  ASSERT_EQ(models->models_size(), 2);
  EXPECT_EQ(models->models(0).name(), "use-lite");  // the default comes first
  EXPECT_EQ(models->models(1).name(), "bert-cls");
  EXPECT_NE(models->models(0).generation(), models->models(1).generation());

  EXPECT_EQ(EmbeddingSize(""), 512);
  EXPECT_EQ(EmbeddingSize("use-lite"), 512);
  EXPECT_EQ(EmbeddingSize("bert-cls"), models->models(1).embedding_dim());

  v1::EmbedRequest unknown = EmbedOf({"hello"});
  unknown.set_model("minilm");
  absl::StatusOr<v1::EmbedResponse> refused = client_->Embed(unknown);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(refused.status().message(), HasSubstr("'use-lite', 'bert-cls'"));

  const json openai = json::parse(HttpCall(server_->http_port(), "GET", "/v1/models").body);
  ASSERT_EQ(openai["data"].size(), 2u);
  EXPECT_EQ(openai["data"][1]["id"], "bert-cls");
  const json info = json::parse(HttpCall(server_->http_port(), "GET", "/info").body);
  EXPECT_EQ(info["model_id"], "use-lite");
  EXPECT_EQ(info["models"].size(), 2u);
  const std::string metrics = HttpCall(server_->metrics_port(), "GET", "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("attnserve_model_info{model=\"use-lite\""));
  EXPECT_THAT(metrics, HasSubstr("attnserve_model_info{model=\"bert-cls\""));
}

TEST_F(MultiModelTest, ReloadOfOneModelUnderLoadLosesNothingAndLeavesTheOther) {
  StartServer(TwoModels());
  const int64_t use_generation = client_->ListModels()->models(0).generation();
  std::atomic<bool> stop{false};
  std::atomic<int> served{0}, failed{0};
  std::vector<std::thread> load;
  for (const std::string model : {"use-lite", "bert-cls"}) {
    load.emplace_back([&, model] {
      std::unique_ptr<AttnClient> client = Connect(kAdminToken);
      while (!stop.load()) {
        v1::EmbedRequest request = EmbedOf({"the tide comes in", "and goes out"});
        request.set_model(model);
        absl::StatusOr<v1::EmbedResponse> r = client->Embed(request);
        if (r.ok() && r->model() == model && r->embeddings_size() == 2) {
          served.fetch_add(1);
        } else {
          failed.fetch_add(1);
          ADD_FAILURE() << model << ": " << r.status();
        }
      }
    });
  }
  int64_t last = 0;
  for (int i = 0; i < 3; ++i) {
    v1::ReloadModelRequest reload;
    reload.set_model("bert-cls");
    absl::StatusOr<v1::ModelInfo> info = client_->ReloadModel(reload);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->name(), "bert-cls");
    EXPECT_GT(info->generation(), last);
    last = info->generation();
  }
  // A reload that would give bert-cls's slot the name of the other model.
  v1::ReloadModelRequest clash;
  clash.set_model("bert-cls");
  clash.set_model_dir("use-lite");
  absl::StatusOr<v1::ModelInfo> refused = client_->ReloadModel(clash);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAlreadyExists);
  v1::ReloadModelRequest unknown;
  unknown.set_model("minilm");
  EXPECT_EQ(client_->ReloadModel(unknown).status().code(), absl::StatusCode::kNotFound);
  while (served.load() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop.store(true);
  for (std::thread& t : load) t.join();
  EXPECT_EQ(failed.load(), 0);

  absl::StatusOr<v1::ListModelsResponse> models = client_->ListModels();
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->models_size(), 2);
  EXPECT_EQ(models->models(0).name(), "use-lite");
  EXPECT_EQ(models->models(0).generation(), use_generation);  // not touched
  EXPECT_EQ(models->models(1).generation(), last);
}

// model_defaults["bert-cls"] changes what bert-cls requests run and nothing
// else; a name the server does not serve, or a value one model cannot take,
// is refused naming it, and the policy in force stays.
TEST_F(MultiModelTest, PolicyModelDefaultsApplyToTheirModelOnly) {
  StartServer(TwoModels());
  const auto kernel_and_precision = [&](const std::string& model) {
    v1::EmbedRequest request = EmbedOf({"hello world"});
    request.set_model(model);
    absl::StatusOr<v1::EmbedResponse> r = client_->Embed(request);
    EXPECT_TRUE(r.ok()) << model << ": " << r.status();
    return r.ok() ? r->stats().attention_kernel() + "/" + r->stats().linear_precision()
                  : std::string("error");
  };
  EXPECT_EQ(kernel_and_precision("bert-cls"), "dense/f32");
  v1::SetPolicyRequest set;
  *set.mutable_policy() = *client_->GetPolicy();
  v1::ExecutionOptions& bert = (*set.mutable_policy()->mutable_model_defaults())["bert-cls"];
  bert.mutable_attention()->set_kernel("flash");
  bert.set_linear_precision("int8");
  ASSERT_TRUE(client_->SetPolicy(set).ok());
  EXPECT_EQ(kernel_and_precision("bert-cls"), "flash/int8");
  EXPECT_EQ(kernel_and_precision("use-lite"), "dense/f32");
  EXPECT_EQ(kernel_and_precision(""), "dense/f32");
  const int64_t version = client_->GetPolicy()->version();

  v1::SetPolicyRequest unknown = set;
  (*unknown.mutable_policy()->mutable_model_defaults())["minilm"].set_max_tokens(8);
  absl::Status refused = client_->SetPolicy(unknown).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("policy.model_defaults: 'minilm' is not served"));

  // 100 content tokens exceed the tiny BERT's position table, not USE-lite's.
  v1::SetPolicyRequest too_long = set;
  (*too_long.mutable_policy()->mutable_model_defaults())["bert-cls"].set_max_tokens(100);
  refused = client_->SetPolicy(too_long).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("model_defaults[\"bert-cls\"]"));
  EXPECT_THAT(refused.message(), HasSubstr("max_tokens"));
  EXPECT_EQ(client_->GetPolicy()->version(), version);
  EXPECT_EQ(kernel_and_precision("bert-cls"), "flash/int8");
}

// model_batching per served model: accepted for a served name and kept in
// the policy; an unknown name or an out-of-range field is refused naming it.
// Batching off for bert-cls (1 request per run) leaves its answers single.
TEST_F(MultiModelTest, PolicyModelBatchingIsCheckedByName) {
  StartServer(TwoModels());
  v1::SetPolicyRequest set;
  *set.mutable_policy() = *client_->GetPolicy();
  (*set.mutable_policy()->mutable_model_batching())["bert-cls"].set_max_batch_requests(1);
  ASSERT_TRUE(client_->SetPolicy(set).ok());
  EXPECT_EQ(client_->GetPolicy()->model_batching().at("bert-cls").max_batch_requests(), 1);
  const int64_t version = client_->GetPolicy()->version();

  v1::SetPolicyRequest unknown = set;
  (*unknown.mutable_policy()->mutable_model_batching())["minilm"].set_max_batch_requests(4);
  absl::Status refused = client_->SetPolicy(unknown).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("policy.model_batching: 'minilm' is not served"));

  v1::SetPolicyRequest out_of_range = set;
  (*out_of_range.mutable_policy()->mutable_model_batching())["use-lite"].set_max_batch_requests(
      5000);
  refused = client_->SetPolicy(out_of_range).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(),
              HasSubstr("policy.model_batching[\"use-lite\"].max_batch_requests"));
  EXPECT_EQ(client_->GetPolicy()->version(), version);

  // Concurrent calls to bert-cls all run alone under its own limit.
  std::vector<std::thread> callers;
  std::atomic<int> merged{0}, answered{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        v1::EmbedRequest request = EmbedOf({"hello world"});
        request.set_model("bert-cls");
        absl::StatusOr<v1::EmbedResponse> r = client_->Embed(request);
        if (!r.ok()) continue;
        ++answered;
        if (r->stats().batch_requests() > 1) ++merged;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(answered.load(), 40);
  EXPECT_EQ(merged.load(), 0);
}

// config.model_limits: bert-cls takes at most 2 texts and 16 tokens; use-lite
// keeps the server's limits.
TEST_F(MultiModelTest, ModelLimitsApplyToTheirModelOnly) {
  v1::Config config = TwoModels();
  v1::LimitsConfig& own = (*config.mutable_model_limits())["bert-cls"];
  own.set_max_texts_per_request(2);
  own.set_max_tokens(16);
  StartServer(config);

  v1::EmbedRequest three = EmbedOf({"one", "two", "three"});
  three.set_model("bert-cls");
  absl::StatusOr<v1::EmbedResponse> refused = client_->Embed(three);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("texts: 3 texts exceed the limit of 2 for model 'bert-cls'"));
  three.set_model("use-lite");
  EXPECT_TRUE(client_->Embed(three).ok());

  // A larger clip is refused; without one, the model's default clip is lowered.
  v1::EmbedRequest long_text = EmbedOf({std::string(400, 'a') + " hello world again and again"});
  for (int i = 0; i < 40; ++i) long_text.mutable_texts(0)->append(" word");
  long_text.set_model("bert-cls");
  long_text.mutable_options()->set_max_tokens(32);
  refused = client_->Embed(long_text);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr("options.max_tokens: 32 exceeds the limit of 16 for model 'bert-cls'"));
  long_text.mutable_options()->clear_max_tokens();
  absl::StatusOr<v1::EmbedResponse> clipped = client_->Embed(long_text);
  ASSERT_TRUE(clipped.ok()) << clipped.status();
  EXPECT_EQ(clipped->stats().max_tokens(), 16);
  long_text.set_model("use-lite");
  absl::StatusOr<v1::EmbedResponse> unclipped = client_->Embed(long_text);
  ASSERT_TRUE(unclipped.ok()) << unclipped.status();
  EXPECT_GT(unclipped->stats().max_tokens(), 16);

  v1::TokenizeRequest tokenize;
  tokenize.set_model("bert-cls");
  for (const char* t : {"a", "b", "c"}) tokenize.add_texts(t);
  absl::Status tokenize_refused = client_->Tokenize(tokenize).status();
  EXPECT_THAT(tokenize_refused.message(), HasSubstr("limit of 2 for model 'bert-cls'"));
}

TEST_F(MultiModelTest, ModelLimitsOfAModelNotServedRefuseToStart) {
  v1::Config config = TwoModels();
  (*config.mutable_model_limits())["minilm"].set_max_tokens(16);
  ASSERT_TRUE(FinalizeConfig(&config).ok());
  absl::StatusOr<std::unique_ptr<AttnServer>> server = AttnServer::Start(config);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(),
              HasSubstr("model_limits: 'minilm' is not served; this server serves 'use-lite', "
                        "'bert-cls'"));
}

TEST_F(MultiModelTest, TwoDirectoriesOfOneNameRefuseToStart) {
  v1::Config config = TwoModels();
  std::filesystem::create_directory_symlink(std::filesystem::absolute(TestModelDir()),
                                            dir_ / "models" / "use-lite-copy");
  config.add_extra_model_dirs("use-lite-copy");
  ASSERT_TRUE(FinalizeConfig(&config).ok());
  absl::StatusOr<std::unique_ptr<AttnServer>> server = AttnServer::Start(config);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(server.status().message(), HasSubstr("'use-lite-copy' is model 'use-lite'"));
}

}  // namespace
}  // namespace attnserve::testing
