// Admission control: a fixed pool of workers and a bounded queue in front of
// it. A job that finds the queue full is refused at once (the caller answers
// RESOURCE_EXHAUSTED): never an unbounded backlog.
#ifndef ATTNSERVE_SERVER_ADMISSION_QUEUE_H_
#define ATTNSERVE_SERVER_ADMISSION_QUEUE_H_

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

  // `workers` jobs run at once; up to `capacity` more wait.
  AdmissionQueue(int workers, int capacity);
  ~AdmissionQueue();  // Shutdown(), then joins the workers

  AdmissionQueue(const AdmissionQueue&) = delete;
  AdmissionQueue& operator=(const AdmissionQueue&) = delete;

  Admit TrySubmit(std::function<void()> job);

  // Refuses new jobs; accepted ones still run. Returns when all have finished.
  void Shutdown();

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
  std::deque<std::function<void()>> jobs_;
  int running_ = 0;
  bool shutting_down_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_ADMISSION_QUEUE_H_
