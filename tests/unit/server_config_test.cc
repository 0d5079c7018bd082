// LoadConfig: the --model flag (one directory or several, comma-separated,
// sharing one parent) and the checks on extra_model_dirs.
#include "server/server_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ServerConfigTest, OneModelDirectorySetsTheRootAndTheDefault) {
  ConfigFlags flags;
  flags.models = {"models/use-lite/"};
  absl::StatusOr<v1::Config> config = LoadConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->model_root(), "models");
  EXPECT_EQ(config->model_dir(), "use-lite");
  EXPECT_TRUE(config->extra_model_dirs().empty());
}

TEST(ServerConfigTest, SeveralModelsShareTheRootAndTheFirstIsTheDefault) {
  ConfigFlags flags;
  flags.models = {"/srv/models/use-lite", "/srv/models/bert-cls", "/srv/models/minilm"};
  absl::StatusOr<v1::Config> config = LoadConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->model_root(), "/srv/models");
  EXPECT_EQ(config->model_dir(), "use-lite");
  EXPECT_THAT(config->extra_model_dirs(), ElementsAre("bert-cls", "minilm"));
}

TEST(ServerConfigTest, ModelsUnderDifferentParentsAreRefusedNamingTheFlag) {
  ConfigFlags flags;
  flags.models = {"/srv/models/use-lite", "/opt/other/bert-cls"};
  absl::StatusOr<v1::Config> config = LoadConfig(flags);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("--model: '/opt/other/bert-cls'"));
}

TEST(ServerConfigTest, ExtraModelDirsMustStayUnderTheRoot) {
  for (const std::string bad : {"../etc", "/abs", ""}) {
    v1::Config config;
    config.add_extra_model_dirs(bad);
    const absl::Status s = FinalizeConfig(&config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("extra_model_dirs[0]")) << bad;
  }
}

// model_limits: input limits only, none above the server's, names not empty
// (whether a name is served is checked at start, once the models are loaded).
TEST(ServerConfigTest, ModelLimitsTakeInputLimitsWithinTheServers) {
  v1::Config ok;
  v1::LimitsConfig& own = (*ok.mutable_model_limits())["bert-cls"];
  own.set_max_texts_per_request(4);
  own.set_max_tokens(512);
  EXPECT_TRUE(FinalizeConfig(&ok).ok());

  v1::Config transport;
  (*transport.mutable_model_limits())["bert-cls"].set_max_message_bytes(1 << 20);
  absl::Status s = FinalizeConfig(&transport);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("model_limits[\"bert-cls\"].max_message_bytes"));
  EXPECT_THAT(s.message(), HasSubstr("server-wide"));

  v1::Config above;
  above.mutable_limits()->set_max_tokens(1024);
  (*above.mutable_model_limits())["bert-cls"].set_max_tokens(2048);
  s = FinalizeConfig(&above);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("model_limits[\"bert-cls\"].max_tokens: 2048 is out of range [0, 1024]"));

  v1::Config negative;
  (*negative.mutable_model_limits())["x"].set_max_text_bytes(-1);
  EXPECT_THAT(FinalizeConfig(&negative).message(), HasSubstr("max_text_bytes: -1"));

  v1::Config unnamed;
  (*unnamed.mutable_model_limits())[""].set_max_tokens(16);
  EXPECT_THAT(FinalizeConfig(&unnamed).message(), HasSubstr("a model name is empty"));
}

}  // namespace
}  // namespace attnserve
