// TLS and mutual TLS on a real socket, with certificates made by openssl for
// the test: an mTLS client reaches Inference and Admin (the certificate is
// its admin credential), a client without a certificate cannot connect, and
// TLS without client certificates still needs the admin token.
#include <cstdlib>

#include "gmock/gmock.h"
#include "tests/integration/server_fixture.h"

namespace attnserve::testing {
namespace {

class TlsTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    if (std::system("command -v openssl > /dev/null 2>&1") != 0) {
      if (ModelRequired()) FAIL() << "openssl not installed";
      GTEST_SKIP() << "openssl not installed";
    }
    const std::string d = dir_.string();
    // A CA, a server certificate for 127.0.0.1 and a client certificate.
    const std::string script =
        absl::StrCat(
            "set -e; cd '", d, "';",
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca "
            "-keyout ca.key -out ca.pem;",
            "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext;",
            "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out "
            "server.csr;",
            "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
            "-extfile san.ext -out server.pem;",
            "openssl req -newkey rsa:2048 -nodes -subj /CN=operator -keyout client.key -out "
            "client.csr;",
            "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
            "-out client.pem") +
        " > openssl.log 2>&1";
    ASSERT_EQ(std::system(("bash -c \"" + script + "\"").c_str()), 0)
        << "see " << d << "/openssl.log";
  }

  std::unique_ptr<AttnClient> TlsClient(bool with_certificate, const std::string& token = "") {
    ClientOptions options;
    options.address = absl::StrCat("127.0.0.1:", server_->port());
    options.ca_file = (dir_ / "ca.pem").string();
    if (with_certificate) {
      options.cert_file = (dir_ / "client.pem").string();
      options.key_file = (dir_ / "client.key").string();
    }
    options.admin_token = token;
    options.timeout = absl::Seconds(20);
    return *AttnClient::Connect(options);
  }

  v1::Config TlsConfig(bool mutual) {
    v1::Config config = BaseConfig();
    config.mutable_tls()->set_cert_file((dir_ / "server.pem").string());
    config.mutable_tls()->set_key_file((dir_ / "server.key").string());
    if (mutual) config.mutable_tls()->set_client_ca_file((dir_ / "ca.pem").string());
    return config;
  }
};

TEST_F(TlsTest, MutualTlsAuthorisesInferenceAndAdmin) {
  v1::Config config = TlsConfig(/*mutual=*/true);
  config.clear_admin_token_file();  // the certificate alone must do
  v1::Config finalized = config;
  ASSERT_TRUE(FinalizeConfig(&finalized).ok());
  auto server = AttnServer::Start(finalized);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);

  auto client = TlsClient(/*with_certificate=*/true);
  auto embedded = client->Embed(EmbedOf({"hello"}));
  ASSERT_TRUE(embedded.ok()) << embedded.status();
  EXPECT_NEAR(embedded->embeddings(0).values(0), 0.041678, 2e-6);
  EXPECT_TRUE(client->GetPolicy().ok());

  // No client certificate: the handshake fails, nothing is served.
  auto anonymous = TlsClient(/*with_certificate=*/false);
  EXPECT_FALSE(anonymous->Embed(EmbedOf({"hello"})).ok());
}

TEST_F(TlsTest, ServerTlsStillNeedsTheAdminToken) {
  StartServer(TlsConfig(/*mutual=*/false));
  auto no_token = TlsClient(false);
  ASSERT_TRUE(no_token->Embed(EmbedOf({"hello"})).ok());
  EXPECT_EQ(no_token->GetPolicy().status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(TlsClient(false, kAdminToken)->GetPolicy().ok());
}

TEST_F(TlsTest, MissingCertificateFileIsAStartupError) {
  v1::Config config = TlsConfig(false);
  config.mutable_tls()->set_cert_file((dir_ / "absent.pem").string());
  ASSERT_TRUE(FinalizeConfig(&config).ok());
  auto server = AttnServer::Start(config);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), ::testing::HasSubstr("tls.cert_file"));
}

}  // namespace
}  // namespace attnserve::testing
