// Dynamic batching through the real server: queued Embed requests with the
// same options share one engine run, answers equal the requests run alone,
// stats are per request, a member whose deadline passed in the queue leaves
// without failing the others, and long texts do not batch with short ones.
#include <atomic>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/server_fixture.h"
#include "tests/support/http_client.h"

namespace attnserve::testing {
namespace {

// A text of about `words` tokens (USE-lite's pieces are mostly whole words).
std::string Words(int words, int salt) {
  static const char* const kWords[] = {"river",  "quiet",  "engine", "morning", "paper", "silver",
                                       "window", "garden", "letter", "station", "winter"};
  std::string text;
  for (int i = 0; i < words; ++i) {
    absl::StrAppend(&text, i ? " " : "", kWords[(i * 7 + salt) % 11]);
  }
  return text;
}

class BatchingTest : public ServerTest {
 protected:
  // One worker and a 200 ms gathering delay, so concurrent requests batch.
  v1::Config BatchingConfig() {
    v1::Config config = BaseConfig();
    config.mutable_admission()->set_queue_capacity(32);
    config.mutable_batching()->set_max_batch_requests(16);
    config.mutable_batching()->set_max_queue_delay_us(200000);
    return config;
  }

  // Sends each request from its own thread at once.
  std::vector<absl::StatusOr<v1::EmbedResponse>> Concurrently(
      const std::vector<v1::EmbedRequest>& requests, AttnClient* client) {
    std::vector<absl::StatusOr<v1::EmbedResponse>> out(requests.size(),
                                                       absl::UnknownError("not sent"));
    std::vector<std::thread> threads;
    for (size_t i = 0; i < requests.size(); ++i) {
      threads.emplace_back([&, i] { out[i] = client->Embed(requests[i]); });
    }
    for (std::thread& t : threads) t.join();
    return out;
  }
};

TEST_F(BatchingTest, BatchedAnswersEqualSingleOnesAndStatsArePerRequest) {
  StartServer(BatchingConfig());
  std::vector<v1::EmbedRequest> requests;
  for (int i = 0; i < 6; ++i) {
    v1::EmbedRequest r;
    for (int t = 0; t <= i % 2; ++t) r.add_texts(Words(12, i * 3 + t));
    requests.push_back(r);
  }
  const auto batched = Concurrently(requests, client_.get());

  // The same requests one at a time (a lone request runs alone).
  int shared = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(batched[i].ok()) << batched[i].status();
    const v1::EmbedResponse& b = *batched[i];
    absl::StatusOr<v1::EmbedResponse> alone = client_->Embed(requests[i]);
    ASSERT_TRUE(alone.ok()) << alone.status();
    EXPECT_EQ(alone->stats().batch_requests(), 1);
    ASSERT_EQ(b.embeddings_size(), requests[i].texts_size());
    for (int t = 0; t < b.embeddings_size(); ++t) {
      ASSERT_EQ(b.embeddings(t).values_size(), 512);
      for (int j = 0; j < 512; ++j) {
        ASSERT_NEAR(b.embeddings(t).values(j), alone->embeddings(t).values(j), 1e-6)
            << "request " << i << " text " << t << " value " << j;
      }
    }
    // Per-request figures: its own texts, its own tokens at every layer.
    ASSERT_EQ(b.stats().texts_size(), requests[i].texts_size());
    int64_t used = 0;
    for (const v1::TextStats& t : b.stats().texts()) used += t.tokens_used();
    for (int64_t alive : b.stats().tokens_per_layer()) EXPECT_EQ(alive, used);
    EXPECT_EQ(b.stats().texts(0).tokens_in(), alone->stats().texts(0).tokens_in());
    EXPECT_GE(b.stats().batch_texts(), b.stats().texts_size());
    if (b.stats().batch_requests() > 1) {
      ++shared;
      EXPECT_GT(b.stats().batch_texts(), b.stats().texts_size());
      EXPECT_LT(b.stats().flops(), alone->stats().flops() * b.stats().batch_requests());
    }
  }
  // The first request runs at once; the others wait behind it and share.
  EXPECT_GE(shared, 2);
}

TEST_F(BatchingTest, AnExpiredMemberLeavesTheBatchTheOthersRun) {
  StartServer(BatchingConfig());
  // Occupy the worker with a long text, so the short ones queue behind it.
  v1::EmbedRequest slow;
  slow.add_texts(Words(3000, 1));
  slow.mutable_options()->set_max_tokens(4096);
  std::atomic<bool> blocker_done = false;
  std::thread blocker([&] {
    EXPECT_TRUE(client_->Embed(slow).ok());
    blocker_done = true;
  });
  ASSERT_TRUE(
      WaitUntilServerHolds(server_->metrics_port(), 1, [&] { return blocker_done.load(); }));

  ClientOptions hurried_options;
  hurried_options.address = absl::StrCat("127.0.0.1:", server_->port());
  hurried_options.timeout = absl::Milliseconds(60);
  std::unique_ptr<AttnClient> hurried = *AttnClient::Connect(hurried_options);
  absl::StatusOr<v1::EmbedResponse> expired = absl::UnknownError("not sent");
  std::thread impatient([&] { expired = hurried->Embed(EmbedOf({Words(10, 9)})); });
  std::vector<v1::EmbedRequest> patient;
  for (int i = 0; i < 3; ++i) patient.push_back(EmbedOf({Words(10, i)}));
  const auto answers = Concurrently(patient, client_.get());
  impatient.join();
  blocker.join();

  EXPECT_EQ(expired.status().code(), absl::StatusCode::kDeadlineExceeded);
  for (const auto& a : answers) {
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->embeddings_size(), 1);
  }
}

TEST_F(BatchingTest, LongTextsDoNotBatchWithShortOnes) {
  StartServer(BatchingConfig());
  std::vector<v1::EmbedRequest> requests = {EmbedOf({Words(10, 1)}), EmbedOf({Words(10, 2)}),
                                            EmbedOf({Words(10, 3)})};
  v1::EmbedRequest long_one = EmbedOf({Words(1500, 4)});
  long_one.mutable_options()->set_max_tokens(2048);
  requests.push_back(long_one);
  const auto answers = Concurrently(requests, client_.get());
  for (const auto& a : answers) ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(answers[3]->stats().batch_requests(), 1);  // max_tokens differs too
  // Same options, different length class.
  v1::EmbedRequest short_clip = EmbedOf({Words(10, 5)});
  short_clip.mutable_options()->set_max_tokens(2048);
  const auto mixed = Concurrently({short_clip, short_clip, long_one}, client_.get());
  for (const auto& a : mixed) ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(mixed[2]->stats().batch_requests(), 1);
  EXPECT_EQ(mixed[2]->stats().batch_texts(), 1);
}

TEST_F(BatchingTest, PolicyCanTurnBatchingOffAtRuntime) {
  StartServer(BatchingConfig());
  v1::SetPolicyRequest set;
  *set.mutable_policy() = *client_->GetPolicy();
  set.mutable_policy()->mutable_batching()->set_max_batch_requests(1);
  ASSERT_TRUE(client_->SetPolicy(set).ok());
  std::vector<v1::EmbedRequest> requests;
  for (int i = 0; i < 4; ++i) requests.push_back(EmbedOf({Words(12, i)}));
  for (const auto& a : Concurrently(requests, client_.get())) {
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->stats().batch_requests(), 1);
  }
  set.mutable_policy()->mutable_batching()->set_max_batch_requests(-1);
  EXPECT_EQ(client_->SetPolicy(set).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace attnserve::testing
