// The real /metrics of a real server after real traffic: the series the
// dashboards need exist with bounded labels, and promtool accepts the text.
#include <cstdio>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/util/build_info.h"
#include "gmock/gmock.h"
#include "tests/integration/server_fixture.h"
#include "tests/support/http_client.h"

namespace attnserve::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(ServerTest, MetricsReflectTrafficAndPassPromtool) {
  v1::Config config = BaseConfig();
  config.set_metrics_address("127.0.0.1:0");
  config.mutable_admission()->set_queue_capacity(0);
  StartServer(config);
  ASSERT_GT(server_->metrics_port(), 0);

  auto embedded = client_->Embed(EmbedOf({"hello", "world"}));
  ASSERT_TRUE(embedded.ok());
  // Energy per request comes with its source (an estimate is labelled so).
  ASSERT_TRUE(embedded->stats().has_energy_millijoules());
  EXPECT_GT(embedded->stats().energy_millijoules(), 0);
  EXPECT_FALSE(embedded->stats().energy_source().empty());
  EXPECT_FALSE(client_->Embed(EmbedOf({""})).ok());  // INVALID_ARGUMENT
  v1::SetPolicyRequest set;
  set.mutable_policy()->mutable_defaults()->set_max_tokens(64);
  set.mutable_policy()->add_overridable("max_tokens");
  ASSERT_TRUE(client_->SetPolicy(set).ok());
  // Overload with no queue: a burst is shed.
  std::string text;
  for (int i = 0; i < 1500; ++i) text += "tide ";
  v1::EmbedRequest heavy = EmbedOf({text});
  heavy.mutable_options()->set_max_tokens(2048);
  std::vector<std::thread> burst;
  for (int i = 0; i < 8; ++i) burst.emplace_back([&] { (void)client_->Embed(heavy); });
  for (std::thread& t : burst) t.join();

  const std::string metrics = HttpCall(server_->metrics_port(), "GET", "/metrics").body;
  ASSERT_FALSE(metrics.empty());
  EXPECT_THAT(metrics, HasSubstr("attnserve_requests_total{code=\"OK\",kernel=\"dense\",model="
                                 "\"use-lite\",rpc=\"Embed\",transport=\"grpc\"}"));
  EXPECT_THAT(metrics, HasSubstr("code=\"INVALID_ARGUMENT\""));
  EXPECT_THAT(metrics,
              HasSubstr("attnserve_admission_rejections_total{reason=\"queue_full\",rpc=\"Embed\","
                        "transport=\"grpc\"}"));
  EXPECT_THAT(metrics, HasSubstr("attnserve_linear_precision_requests_total{model=\"use-lite\","
                                 "precision=\"f32\"}"));
  EXPECT_THAT(metrics, HasSubstr("attnserve_policy_changes_total 1"));
  EXPECT_THAT(metrics, HasSubstr("attnserve_policy_version 2"));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("attnserve_build_info{version=\"",
                                              std::string(GetBuildInfo().version), "\",")));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat(",arch=\"", std::string(GetBuildInfo().arch),
                                              "\",gemm_backend=\"")));
  EXPECT_THAT(metrics, HasSubstr("attnserve_tokens_in_total{model=\"use-lite\"}"));
  EXPECT_THAT(metrics, HasSubstr("attnserve_request_duration_seconds_bucket"));
  EXPECT_THAT(metrics, HasSubstr("attnserve_exit_layer_bucket"));
  EXPECT_THAT(metrics, HasSubstr("attnserve_process_resident_memory_bytes"));
  EXPECT_THAT(metrics, HasSubstr("attnserve_model_info{"));
  EXPECT_THAT(metrics,
              HasSubstr("attnserve_power_watts{source=\"" + embedded->stats().energy_source()));
  EXPECT_THAT(metrics, HasSubstr("attnserve_energy_joules_total{source="));
  EXPECT_THAT(metrics, HasSubstr("attnserve_request_energy_joules_bucket"));
  // Never raw text in labels.
  EXPECT_THAT(metrics, Not(HasSubstr("tide")));
  EXPECT_THAT(metrics, Not(HasSubstr("hello")));

  // promtool (Debian package prometheus) lints the exposition.
  if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
    if (ModelRequired()) FAIL() << "promtool not installed";
    GTEST_SKIP() << "promtool not installed";
  }
  const std::string file = (dir_ / "metrics.txt").string();
  std::ofstream(file) << metrics;
  const std::string command = "promtool check metrics < " + file + " > " + file + ".out 2>&1";
  const int rc = std::system(command.c_str());
  std::ifstream out(file + ".out");
  const std::string lint((std::istreambuf_iterator<char>(out)), {});
  EXPECT_EQ(rc, 0) << lint;
}

}  // namespace
}  // namespace attnserve::testing
