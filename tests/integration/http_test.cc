// The HTTP/JSON API in-process: a real AttnServer on loopback ports, HTTP
// requests over a real socket, answers compared with the gRPC ones. The same
// binary runs under ASan and TSan (scripts/sanitizers.sh); the client-library
// tests with python3-requests and curl are tests/e2e/http_api_test.py.
#include <atomic>
#include <fstream>
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

class HttpTest : public ServerTest {
 protected:
  HttpAnswer Post(const std::string& path, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return HttpCall(server_->http_port(), "POST", path, body, headers);
  }
  HttpAnswer Get(const std::string& path) { return HttpCall(server_->http_port(), "GET", path); }
};

TEST_F(HttpTest, OpenAiEmbeddingsEqualTheGrpcOnes) {
  StartServer(BaseConfig());
  const HttpAnswer http =
      Post("/v1/embeddings", R"({"input": ["hello world", "How old are you?"]})");
  ASSERT_EQ(http.status, 200) << http.body;
  const json body = json::parse(http.body);
  absl::StatusOr<v1::EmbedResponse> grpc =
      client_->Embed(EmbedOf({"hello world", "How old are you?"}));
  ASSERT_TRUE(grpc.ok()) << grpc.status();
  ASSERT_EQ(body["data"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const json& values = body["data"][i]["embedding"];
    ASSERT_EQ(values.size(), static_cast<size_t>(grpc->embeddings(i).values_size()));
    for (int j = 0; j < grpc->embeddings(i).values_size(); ++j) {
      ASSERT_EQ(values[j].get<float>(), grpc->embeddings(i).values(j)) << i << "," << j;
    }
  }
  EXPECT_EQ(body["model"], "use-lite");
  EXPECT_EQ(body["usage"]["prompt_tokens"], body["usage"]["total_tokens"]);
  EXPECT_GT(body["usage"]["prompt_tokens"].get<int>(), 0);
}

// TEI's /tokenize on a BERT-family model: [CLS]/[SEP] are special with no
// offsets, every other token's "text" is its byte slice of the input, and the
// gRPC Tokenize gives the same offsets ((0, 0) for the specials).
TEST_F(HttpTest, TokenizeGivesTeiTokensWithOffsets) {
  v1::Config config = BaseConfig();
  config.set_model_root(ATTNSERVE_TINY_BERT_DIR);
  config.set_model_dir("bert-cls");
  StartServer(config);
  const std::string text = "Caf\xC3\xA9, d\xC3\xA9j\xC3\xA0 vu!";  // "Café, déjà vu!"
  const HttpAnswer http = Post("/tokenize", json({{"inputs", {text}}}).dump());
  ASSERT_EQ(http.status, 200) << http.body;
  const json tokens = json::parse(http.body).at(0);
  ASSERT_GE(tokens.size(), 4u);
  v1::TokenizeRequest request;
  request.add_texts(text);
  request.set_add_special_tokens(true);
  absl::StatusOr<v1::TokenizeResponse> grpc = client_->Tokenize(request);
  ASSERT_TRUE(grpc.ok()) << grpc.status();
  const v1::TokenIds& want = grpc->tokens(0);
  ASSERT_EQ(static_cast<int>(tokens.size()), want.ids_size());
  std::string covered;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const json& t = tokens[i];
    const int g = static_cast<int>(i);
    EXPECT_EQ(t["id"], want.ids(g));
    EXPECT_EQ(t["piece"], want.pieces(g));
    const bool special = i == 0 || i + 1 == tokens.size();
    EXPECT_EQ(t["special"], special) << i;
    if (special) {
      EXPECT_EQ(t["text"], i == 0 ? "[CLS]" : "[SEP]");
      EXPECT_TRUE(t["start"].is_null() && t["stop"].is_null());
      EXPECT_EQ(want.starts(g), 0);
      EXPECT_EQ(want.ends(g), 0);
      continue;
    }
    const int start = t["start"].get<int>(), stop = t["stop"].get<int>();
    EXPECT_EQ(start, want.starts(g));
    EXPECT_EQ(stop, want.ends(g));
    EXPECT_EQ(t["text"], text.substr(start, stop - start));
    covered += t["text"].get<std::string>();
  }
  // Every non-space byte of the text is in some token, in order.
  std::string letters;
  for (char c : text) {
    if (c != ' ') letters += c;
  }
  EXPECT_EQ(covered, letters);
}

// Embed's token_ids: the tokenizer's own by default (what token_inputs takes
// back), framed by [CLS] ... [SEP] on request, as Hugging Face's input_ids.
TEST_F(HttpTest, EmbedTokenIdsWithAndWithoutSpecialTokens) {
  v1::Config config = BaseConfig();
  config.set_model_root(ATTNSERVE_TINY_BERT_DIR);
  config.set_model_dir("bert-cls");
  StartServer(config);
  v1::TokenizeRequest tokenize;
  tokenize.add_texts("hello world");
  tokenize.set_add_special_tokens(true);
  absl::StatusOr<v1::TokenizeResponse> framed = client_->Tokenize(tokenize);
  ASSERT_TRUE(framed.ok()) << framed.status();
  const std::vector<int32_t> input_ids(framed->tokens(0).ids().begin(),
                                       framed->tokens(0).ids().end());
  ASSERT_GE(input_ids.size(), 3u);
  const std::vector<int32_t> own(input_ids.begin() + 1, input_ids.end() - 1);

  v1::EmbedRequest request = EmbedOf({"hello world"});
  request.set_return_token_ids(true);
  absl::StatusOr<v1::EmbedResponse> plain = client_->Embed(request);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_THAT(plain->embeddings(0).token_ids(), ::testing::ElementsAreArray(own));
  request.set_token_ids_with_special_tokens(true);
  absl::StatusOr<v1::EmbedResponse> with = client_->Embed(request);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_THAT(with->embeddings(0).token_ids(), ::testing::ElementsAreArray(input_ids));
}

TEST_F(HttpTest, ErrorsNameTheFieldAndTheServerStaysUp) {
  StartServer(BaseConfig());
  const HttpAnswer bad_json = Post("/v1/embeddings", "{\"input\": ");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(json::parse(bad_json.body)["error"]["param"], "body");
  // A number too large for a double is nlohmann's out_of_range, not a parse_error.
  const HttpAnswer huge = Post("/v1/embeddings", R"({"input": "x", "dimensions": 1e999})");
  EXPECT_EQ(huge.status, 400);
  EXPECT_THAT(huge.body, HasSubstr("number overflow"));
  const HttpAnswer bad_kernel = Post("/embed", R"({"inputs": "x", "attention": "nope"})");
  EXPECT_EQ(bad_kernel.status, 400);
  EXPECT_THAT(json::parse(bad_kernel.body)["error"].get<std::string>(),
              HasSubstr("attention.kernel: unknown attention kernel 'nope'"));
  const HttpAnswer bad_id = Post("/v1/embeddings", R"({"input": [[3, -1]]})");
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_THAT(bad_id.body, HasSubstr("input[0][1]"));
  EXPECT_EQ(Post("/v1/embeddings", R"({"input": "x", "model": "other"})").status, 404);
  EXPECT_EQ(Get("/embed").status, 405);
  EXPECT_EQ(Get("/health").status, 200);
}

TEST_F(HttpTest, ExpiredDeadlineIs504) {
  StartServer(BaseConfig());
  const HttpAnswer r =
      Post("/v1/embeddings", R"({"input": "hello"})", {{"X-Request-Timeout", "0.000001"}});
  EXPECT_EQ(r.status, 504) << r.body;
}

TEST_F(HttpTest, ApiKeysGuardBothTransports) {
  const std::string keys = (dir_ / "keys").string();
  std::ofstream(keys) << "# test keys\nhttp-test-key-0123456789\n";
  v1::Config config = BaseConfig();
  config.set_api_key_file(keys);
  StartServer(config);
  EXPECT_EQ(Post("/v1/embeddings", R"({"input": "hi"})").status, 401);
  EXPECT_EQ(Post("/v1/embeddings", R"({"input": "hi"})",
                 {{"Authorization", "Bearer wrong-key-0123456789"}})
                .status,
            403);
  EXPECT_EQ(Post("/v1/embeddings", R"({"input": "hi"})",
                 {{"Authorization", "Bearer http-test-key-0123456789"}})
                .status,
            200);
  EXPECT_EQ(Get("/health").status, 200);  // probes need no key
  EXPECT_EQ(client_->Embed(EmbedOf({"hi"})).status().code(), absl::StatusCode::kUnauthenticated);
  ClientOptions options;
  options.address = absl::StrCat("127.0.0.1:", server_->port());
  options.api_key = "http-test-key-0123456789";
  std::unique_ptr<AttnClient> keyed = *AttnClient::Connect(options);
  EXPECT_TRUE(keyed->Embed(EmbedOf({"hi"})).ok());
}

// Many clients on every route at once (the case TSan watches), then a drain
// with requests in flight: each is answered.
TEST_F(HttpTest, ConcurrentRoutesThenDrainLosesNothing) {
  v1::Config config = BaseConfig();
  config.mutable_admission()->set_queue_capacity(64);
  StartServer(config);
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"/v1/embeddings", R"({"input": ["a short text", "another one"]})"},
      {"/embed", R"({"inputs": "tei style", "return_stats": true})"},
      {"/tokenize", R"({"inputs": ["hello world"]})"},
      {"/v1/embeddings", R"({"input": "bad", "linear_precision": "fp16"})"},
  };
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, refused{0}, other{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        const auto& [path, body] = calls[(t + i) % calls.size()];
        const int status = Post(path, body).status;
        (status == 200 ? ok : status == 400 ? refused : other)++;
        if (i % 3 == 0 && Get("/info").status != 200) other++;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 28);  // (t + i) % 4 == 3 picks the bad call 8 times of 36
  EXPECT_EQ(refused.load(), 8);
  EXPECT_EQ(other.load(), 0);

  const std::string long_body = json{
      {"input", std::vector<std::string>(2, std::string(6000, 'a') + " b c d e f g")},
      {"max_tokens", 1024}}.dump();
  std::vector<int> statuses(3, 0);
  std::atomic<int> answered = 0;
  std::vector<std::thread> in_flight;
  for (int i = 0; i < 3; ++i) {
    in_flight.emplace_back([&, i] {
      statuses[i] = Post("/v1/embeddings", long_body).status;
      ++answered;
    });
  }
  // Drain once the server holds all three (a fixed sleep can lose the race
  // on a loaded machine, and the listener would refuse them unanswered).
  WaitUntilServerHolds(server_->metrics_port(), 3, [&] { return answered.load() > 0; });
  const int port = server_->http_port();
  server_->Drain(absl::Seconds(60));
  for (std::thread& t : in_flight) t.join();
  EXPECT_EQ(statuses, std::vector<int>({200, 200, 200}));
  // After the drain the listener is closed: no answer at all.
  EXPECT_EQ(HttpCall(port, "GET", "/health").status, 0);
}

}  // namespace
}  // namespace attnserve::testing
