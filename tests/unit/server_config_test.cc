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

}  // namespace
}  // namespace attnserve
