// Admission control: a fixed pool of workers and a bounded queue in front of
// it. A job that finds the queue full is refused at once (the caller answers
// RESOURCE_EXHAUSTED): never an unbounded backlog.
//
// Dynamic batching: a job may carry a BatchMember. A worker that takes such a
// job also takes the queued jobs with the same batch key, within the batch
// limits (waiting up to their delay for more), and runs them as one group.
#ifndef ATTNSERVE_SERVER_ADMISSION_QUEUE_H_
#define ATTNSERVE_SERVER_ADMISSION_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace attnserve {

// A queued request that may share one run with others of the same key.
class BatchMember {
 public:
  virtual ~BatchMember() = default;
  // Requests share a run only when their keys are equal ("" never batched).
  virtual const std::string& batch_key() const = 0;
  // Estimated tokens, for the batch's token limit.
  virtual int64_t batch_tokens() const = 0;
  // The served model's name, for per-model batch limits ("" = none).
  virtual const std::string& batch_model() const = 0;
};

struct BatchLimits {
  int max_requests = 1;  // 1 = no batching
  int64_t max_tokens = 0;
  std::chrono::microseconds max_delay{0};
};

class AdmissionQueue {
 public:
  enum class Admit { kAccepted, kQueueFull, kShuttingDown };
  // A job receives `release`: calling it (once, e.g. just before replying)
  // frees the job's slot, so a client that sends its next request the moment
  // it gets the reply is not refused by a slot still being counted busy.
  // The worker releases the slot itself if the job did not.
  using Release = std::function<void()>;
  using Job = std::function<void(const Release& release)>;
  // Runs a group of batch members (the first is the one the worker took);
  // `release` frees all their slots.
  using GroupJob =
      std::function<void(std::vector<std::shared_ptr<BatchMember>> members, const Release&)>;

  // `workers` jobs run at once; up to `capacity` more wait. With `cpus` > 0
  // the workers share a budget of that many CPUs: each job runs under a
  // RunThreadCap (engine/util/run_thread_cap.h) of the CPUs the jobs in
  // flight leave free, at least 1 and at most `threads_per_run`, held until
  // it releases. A lone request gets every thread it may use; under load each
  // run gets one, and the workers keep the CPUs busy instead of one run's
  // threads waiting on each other (docs/BATCHING.md, "CPU sharing between
  // workers").
  AdmissionQueue(int workers, int capacity, int cpus = 0, int threads_per_run = 0);
  ~AdmissionQueue();  // Shutdown(), then joins the workers

  AdmissionQueue(const AdmissionQueue&) = delete;
  AdmissionQueue& operator=(const AdmissionQueue&) = delete;

  Admit TrySubmit(Job job);
  // A request that may be batched: `run` is called with it and the queued
  // members gathered with it (each gathered member's own `run` is not).
  Admit TrySubmitBatchable(std::shared_ptr<BatchMember> member, GroupJob run);

  // Where the batch limits come from, read each time a group is gathered
  // for the member a worker took first (the policy may change them at
  // runtime, per model). Unset: no batching.
  using LimitsFn = std::function<BatchLimits(const BatchMember& first)>;
  void SetBatchLimits(LimitsFn limits);

  // Refuses new jobs; accepted ones still run. Returns when all have finished.
  void Shutdown();

  // Waits until no job is queued or running, at most `timeout`; true if idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

  int queued() const;
  int running() const;  // requests in workers (a batch counts each member)
  int workers() const { return static_cast<int>(threads_.size()); }
  int capacity() const { return capacity_; }
  int cpus_in_use() const;  // granted to the jobs in flight

 private:
  struct Entry {
    Job job;
    std::shared_ptr<BatchMember> member;  // null: not batchable
    GroupJob group;
  };
  Admit Push(Entry entry);
  void WorkerLoop();
  // Moves queued members compatible with `members` into it; waits up to the
  // limits' delay for more. Called with `lock` held.
  void Gather(std::unique_lock<std::mutex>& lock,
              std::vector<std::shared_ptr<BatchMember>>* members);

  // The CPUs the next job may use (0: no budget). Called with mu_ held.
  int GrantLocked() const;

  const int capacity_;
  const int cpus_;
  const int threads_per_run_;
  mutable std::mutex mu_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::deque<Entry> jobs_;
  int running_ = 0;       // requests taken by workers, not yet released
  int busy_workers_ = 0;  // workers running a job or a group
  int cpus_in_use_ = 0;   // sum of the grants of the jobs in flight
  bool shutting_down_ = false;
  LimitsFn limits_;
  std::vector<std::thread> threads_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_ADMISSION_QUEUE_H_
