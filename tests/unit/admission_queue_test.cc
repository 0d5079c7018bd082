// AdmissionQueue: capacity, and how a worker gathers queued batch members
// (same key, within the request and token limits, oldest first), and the
// limits per model (ResolveBatchLimits).
#include "server/admission_queue.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/util/run_thread_cap.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/embed_batch.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;

// The model is the key's text before '/' ("m/x" -> "m").
struct FakeMember : BatchMember {
  FakeMember(std::string key, int64_t tokens, int id)
      : key(std::move(key)),
        model(this->key.substr(0, this->key.find('/'))),
        tokens(tokens),
        id(id) {}
  const std::string& batch_key() const override { return key; }
  int64_t batch_tokens() const override { return tokens; }
  const std::string& batch_model() const override { return model; }
  std::string key, model;
  int64_t tokens;
  int id;
};

// One worker held busy by a job until Open(), so members pile up in the queue.
class GatherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(queue_.TrySubmit([this](const AdmissionQueue::Release&) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return open_; });
    }),
              AdmissionQueue::Admit::kAccepted);
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void Submit(const std::string& key, int64_t tokens, int id) {
    ASSERT_EQ(queue_.TrySubmitBatchable(std::make_shared<FakeMember>(key, tokens, id),
                                        [this](std::vector<std::shared_ptr<BatchMember>> members,
                                               const AdmissionQueue::Release&) {
                                          std::vector<int> ids;
                                          for (const auto& m : members)
                                            ids.push_back(static_cast<FakeMember*>(m.get())->id);
                                          std::lock_guard<std::mutex> lock(mu_);
                                          groups_.push_back(ids);
                                        }),
              AdmissionQueue::Admit::kAccepted);
  }
  std::vector<std::vector<int>> Groups() {
    EXPECT_TRUE(queue_.WaitIdle(std::chrono::seconds(10)));
    std::lock_guard<std::mutex> lock(mu_);
    return groups_;
  }

  AdmissionQueue queue_{1, 16};
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  std::vector<std::vector<int>> groups_;
};

TEST_F(GatherTest, SameKeyMembersShareAGroupOthersWait) {
  queue_.SetBatchLimits([](const BatchMember&) {
    return BatchLimits{8, 1000, std::chrono::microseconds(0)};
  });
  Submit("a", 10, 1);
  Submit("a", 10, 2);
  Submit("b", 10, 3);
  Submit("a", 10, 4);
  Submit("", 10, 5);  // never batched
  Submit("", 10, 6);
  Open();
  EXPECT_THAT(Groups(),
              ElementsAre(ElementsAre(1, 2, 4), ElementsAre(3), ElementsAre(5), ElementsAre(6)));
}

TEST_F(GatherTest, RequestAndTokenLimitsSplitGroups) {
  queue_.SetBatchLimits([](const BatchMember&) {
    return BatchLimits{2, 100, std::chrono::microseconds(0)};
  });
  Submit("a", 10, 1);
  Submit("a", 10, 2);
  Submit("a", 10, 3);  // over 2 requests: the next group
  Submit("a", 95, 4);  // 10 + 95 > 100 tokens: waits for a group of its own
  Submit("a", 10, 5);
  Open();
  EXPECT_THAT(Groups(), ElementsAre(ElementsAre(1, 2), ElementsAre(3, 5), ElementsAre(4)));
}

// Limits are looked up for the member a worker takes first: model "small"
// batches two requests at most, model "big" eight.
TEST_F(GatherTest, LimitsFollowTheFirstMembersModel) {
  queue_.SetBatchLimits([](const BatchMember& first) {
    return BatchLimits{first.batch_model() == "small" ? 2 : 8, 1000, std::chrono::microseconds(0)};
  });
  for (int id = 1; id <= 4; ++id) Submit("small/a", 10, id);
  for (int id = 5; id <= 8; ++id) Submit("big/a", 10, id);
  Open();
  EXPECT_THAT(Groups(), ElementsAre(ElementsAre(1, 2), ElementsAre(3, 4), ElementsAre(5, 6, 7, 8)));
}

// Field by field: the policy's model_batching[model], else the policy's
// batching, else the config's; unset or zero fields fall through.
TEST(ResolveBatchLimitsTest, ModelOverPolicyOverConfig) {
  v1::Batching config;
  config.set_max_batch_requests(32);
  config.set_max_batch_tokens(1024);
  config.set_max_queue_delay_us(0);
  v1::Policy policy;
  policy.mutable_batching()->set_max_batch_tokens(512);
  v1::Batching& bert = (*policy.mutable_model_batching())["bert"];
  bert.set_max_batch_requests(4);
  bert.set_max_queue_delay_us(2000);

  const BatchLimits for_bert = ResolveBatchLimits(config, policy, "bert");
  EXPECT_EQ(for_bert.max_requests, 4);
  EXPECT_EQ(for_bert.max_tokens, 512);
  EXPECT_EQ(for_bert.max_delay, std::chrono::microseconds(2000));

  const BatchLimits for_other = ResolveBatchLimits(config, policy, "use-lite");
  EXPECT_EQ(for_other.max_requests, 32);
  EXPECT_EQ(for_other.max_tokens, 512);
  EXPECT_EQ(for_other.max_delay, std::chrono::microseconds(0));

  const BatchLimits config_only = ResolveBatchLimits(config, v1::Policy(), "bert");
  EXPECT_EQ(config_only.max_requests, 32);
  EXPECT_EQ(config_only.max_tokens, 1024);
}

TEST_F(GatherTest, WithoutLimitsEveryMemberRunsAlone) {
  Submit("a", 1, 1);
  Submit("a", 1, 2);
  Open();
  EXPECT_THAT(Groups(), ElementsAre(ElementsAre(1), ElementsAre(2)));
}

TEST(AdmissionQueueTest, BatchMembersCountAgainstTheCapacityAndTheRunningGauge) {
  AdmissionQueue queue(1, 2);
  queue.SetBatchLimits([](const BatchMember&) {
    return BatchLimits{8, 1000, std::chrono::microseconds(0)};
  });
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> seen_running{0};
  auto blocker = [&](const AdmissionQueue::Release&) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return open; });
  };
  ASSERT_EQ(queue.TrySubmit(blocker), AdmissionQueue::Admit::kAccepted);
  auto group = [&](std::vector<std::shared_ptr<BatchMember>>, const AdmissionQueue::Release&) {
    seen_running = queue.running();
  };
  ASSERT_EQ(queue.TrySubmitBatchable(std::make_shared<FakeMember>("a", 1, 1), group),
            AdmissionQueue::Admit::kAccepted);
  ASSERT_EQ(queue.TrySubmitBatchable(std::make_shared<FakeMember>("a", 1, 2), group),
            AdmissionQueue::Admit::kAccepted);
  EXPECT_EQ(queue.TrySubmitBatchable(std::make_shared<FakeMember>("a", 1, 3), group),
            AdmissionQueue::Admit::kQueueFull);
  {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
  }
  cv.notify_all();
  ASSERT_TRUE(queue.WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(seen_running.load(), 2);  // both members of the group were running
  EXPECT_EQ(queue.running(), 0);
}

TEST(AdmissionQueueTest, DelayWaitsForMoreMembers) {
  AdmissionQueue queue(1, 16);
  queue.SetBatchLimits([](const BatchMember&) {
    return BatchLimits{4, 1000, std::chrono::milliseconds(500)};
  });
  std::mutex mu;
  std::vector<int> sizes;
  auto group = [&](std::vector<std::shared_ptr<BatchMember>> members,
                   const AdmissionQueue::Release&) {
    std::lock_guard<std::mutex> lock(mu);
    sizes.push_back(static_cast<int>(members.size()));
  };
  // The first member starts a group at once; the worker waits for up to
  // 500 ms, and the group closes as soon as it holds 4.
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(queue.TrySubmitBatchable(std::make_shared<FakeMember>("a", 1, i), group),
              AdmissionQueue::Admit::kAccepted);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(queue.WaitIdle(std::chrono::seconds(10)));
  EXPECT_THAT(sizes, ElementsAre(4));
}

// The CPU budget: a lone job may use every CPU (up to threads_per_run), a
// job that starts while others hold CPUs gets what they leave (at least 1),
// and a released grant is free again. Jobs report RunThreadCap() as the
// engine would read it.
TEST(AdmissionQueueTest, WorkersShareTheCpuBudget) {
  AdmissionQueue queue(/*workers=*/3, /*capacity=*/4, /*cpus=*/4, /*threads_per_run=*/3);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> caps;
  int gate = 0;  // jobs with index < gate may finish
  const auto submit = [&](int index) {
    ASSERT_EQ(queue.TrySubmit([&, index](const AdmissionQueue::Release& release) {
      std::unique_lock<std::mutex> lock(mu);
      caps.push_back(RunThreadCap());
      cv.notify_all();
      cv.wait(lock, [&] { return gate > index; });
      lock.unlock();
      release();
    }),
              AdmissionQueue::Admit::kAccepted);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return static_cast<int>(caps.size()) > index; });
  };
  submit(0);  // alone: min(4 free, 3 per run)
  submit(1);  // 1 CPU left
  submit(2);  // none left: still 1
  EXPECT_THAT(caps, ElementsAre(3, 1, 1));
  EXPECT_EQ(queue.cpus_in_use(), 5);
  {
    std::lock_guard<std::mutex> lock(mu);
    gate = 1;  // the first job releases its 3
  }
  cv.notify_all();
  EXPECT_FALSE(queue.WaitIdle(std::chrono::milliseconds(0))) << "jobs 1 and 2 still run";
  for (int i = 0; i < 200 && queue.cpus_in_use() != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(queue.cpus_in_use(), 2);
  submit(3);  // 2 free
  EXPECT_THAT(caps, ElementsAre(3, 1, 1, 2));
  {
    std::lock_guard<std::mutex> lock(mu);
    gate = 4;
  }
  cv.notify_all();
  EXPECT_TRUE(queue.WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(queue.cpus_in_use(), 0);
  EXPECT_EQ(RunThreadCap(), 0) << "the cap belongs to the worker's run only";
}

TEST(AdmissionQueueTest, WithoutACpuBudgetRunsAreNotCapped) {
  AdmissionQueue queue(/*workers=*/1, /*capacity=*/1);
  std::atomic<int> cap{-1};
  ASSERT_EQ(queue.TrySubmit([&](const AdmissionQueue::Release&) { cap = RunThreadCap(); }),
            AdmissionQueue::Admit::kAccepted);
  ASSERT_TRUE(queue.WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(cap.load(), 0);
}

// Two workers freed together find six queued members of one key: the first
// to gather sees the other idle and takes half, not all six (one CPU would
// run them while the other worker found nothing).
TEST(AdmissionQueueTest, AGroupLeavesAShareForIdleWorkers) {
  AdmissionQueue queue(/*workers=*/2, /*capacity=*/8);
  queue.SetBatchLimits([](const BatchMember&) {
    return BatchLimits{32, 1000, std::chrono::microseconds(0)};
  });
  std::mutex mu;
  std::condition_variable cv;
  int released = 0;
  bool go = false;
  std::vector<int> sizes;
  // Each blocker frees its worker's slot, then holds the worker until both
  // have: both workers then count as idle when the first one gathers.
  auto blocker = [&](const AdmissionQueue::Release& release) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return go; });
    lock.unlock();
    release();
    lock.lock();
    ++released;
    cv.notify_all();
    cv.wait(lock, [&] { return released == 2; });
  };
  ASSERT_EQ(queue.TrySubmit(blocker), AdmissionQueue::Admit::kAccepted);
  ASSERT_EQ(queue.TrySubmit(blocker), AdmissionQueue::Admit::kAccepted);
  // A group holds its worker until all six are taken, so the second worker
  // to gather sees none idle and takes the rest.
  int taken = 0;
  auto group = [&](std::vector<std::shared_ptr<BatchMember>> members,
                   const AdmissionQueue::Release&) {
    std::unique_lock<std::mutex> lock(mu);
    sizes.push_back(static_cast<int>(members.size()));
    taken += static_cast<int>(members.size());
    cv.notify_all();
    cv.wait(lock, [&] { return taken == 6; });
  };
  for (int id = 1; id <= 6; ++id) {
    ASSERT_EQ(queue.TrySubmitBatchable(std::make_shared<FakeMember>("a", 1, id), group),
              AdmissionQueue::Admit::kAccepted);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    go = true;
  }
  cv.notify_all();
  ASSERT_TRUE(queue.WaitIdle(std::chrono::seconds(10)));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(sizes, ElementsAre(3, 3));
}

}  // namespace
}  // namespace attnserve
