// Admission control: a fixed pool of workers and a bounded queue in front of
// it. A job that finds the queue full is refused at once (the caller answers
// RESOURCE_EXHAUSTED): never an unbounded backlog.
#ifndef ATTNSERVE_SERVER_ADMISSION_QUEUE_H_
#define ATTNSERVE_SERVER_ADMISSION_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace attnserve {

class AdmissionQueue {
 public:
  enum class Admit { kAccepted, kQueueFull, kShuttingDown };
  // A job receives `release`: calling it (once, e.g. just before replying)
  // frees the job's slot, so a client that sends its next request the moment
  // it gets the reply is not refused by a slot still being counted busy.
  // The worker releases the slot itself if the job did not.
  using Release = std::function<void()>;
  using Job = std::function<void(const Release& release)>;

  // `workers` jobs run at once; up to `capacity` more wait.
  AdmissionQueue(int workers, int capacity);
  ~AdmissionQueue();  // Shutdown(), then joins the workers

  AdmissionQueue(const AdmissionQueue&) = delete;
  AdmissionQueue& operator=(const AdmissionQueue&) = delete;

  Admit TrySubmit(Job job);

  // Refuses new jobs; accepted ones still run. Returns when all have finished.
  void Shutdown();

  // Waits until no job is queued or running, at most `timeout`; true if idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

  int queued() const;
  int running() const;
  int workers() const { return static_cast<int>(threads_.size()); }
  int capacity() const { return capacity_; }

 private:
  void WorkerLoop();

  const int capacity_;
  mutable std::mutex mu_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::deque<Job> jobs_;
  int running_ = 0;
  bool shutting_down_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_ADMISSION_QUEUE_H_
