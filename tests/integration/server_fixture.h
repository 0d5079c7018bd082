// A real attnserve (AttnServer) on a real loopback port with the real model,
// and a client connected to it.
#ifndef ATTNSERVE_TESTS_INTEGRATION_SERVER_FIXTURE_H_
#define ATTNSERVE_TESTS_INTEGRATION_SERVER_FIXTURE_H_

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cpp/attnserve_client.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "server/server_config.h"
#include "tests/support/test_model.h"

namespace attnserve::testing {

inline constexpr char kAdminToken[] = "test-admin-token-0123456789";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ATTNSERVE_REQUIRE_TEST_MODEL();
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("attnserve_it_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "token") << kAdminToken << "\n";
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The config every test starts from; tests adjust it before StartServer.
  v1::Config BaseConfig() {
    std::filesystem::path model = std::filesystem::absolute(TestModelDir());
    v1::Config config;
    config.set_model_root(model.parent_path().string());
    config.set_model_dir(model.filename().string());
    config.set_grpc_address("127.0.0.1:0");
    config.set_metrics_address("127.0.0.1:0");  // tests run in parallel
    config.set_http_address("127.0.0.1:0");
    config.set_admin_token_file((dir_ / "token").string());
    config.set_policy_file((dir_ / "policy.textproto").string());
    // Tests choose their heads: none unless a test writes some here.
    config.set_heads_dir((dir_ / "heads").string());
    config.set_calibration_file((dir_ / "calibration.json").string());
    config.mutable_admission()->set_workers(1);
    config.mutable_admission()->set_threads_per_request(1);
    config.mutable_admission()->set_queue_capacity(8);
    return config;
  }

  // Throws (gtest reports it as a failure) rather than returning into a test
  // body that would then use a null server.
  void StartServer(v1::Config config) {
    if (absl::Status s = FinalizeConfig(&config); !s.ok()) {
      throw std::runtime_error("bad test config: " + std::string(s.message()));
    }
    auto server = AttnServer::Start(config);
    if (!server.ok()) {
      throw std::runtime_error("server did not start: " + std::string(server.status().message()));
    }
    server_ = *std::move(server);
    client_ = Connect(kAdminToken);
  }

  std::unique_ptr<AttnClient> Connect(const std::string& token) {
    ClientOptions options;
    options.address = absl::StrCat("127.0.0.1:", server_->port());
    options.admin_token = token;
    return *AttnClient::Connect(options);
  }

  static v1::EmbedRequest EmbedOf(std::initializer_list<std::string> texts) {
    v1::EmbedRequest request;
    for (const std::string& t : texts) request.add_texts(t);
    return request;
  }

  std::filesystem::path dir_;
  std::unique_ptr<AttnServer> server_;
  std::unique_ptr<AttnClient> client_;
};

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_INTEGRATION_SERVER_FIXTURE_H_
