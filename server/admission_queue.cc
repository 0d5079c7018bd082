#include "server/admission_queue.h"

#include <utility>

namespace attnserve {

AdmissionQueue::AdmissionQueue(int workers, int capacity) : capacity_(capacity) {
  if (workers < 1) workers = 1;
  threads_.reserve(workers);
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { WorkerLoop(); });
}

AdmissionQueue::~AdmissionQueue() {
  Shutdown();
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& t : threads_) t.join();
}

AdmissionQueue::Admit AdmissionQueue::TrySubmit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) return Admit::kShuttingDown;
    // A free worker takes the job at once; otherwise it waits in the queue.
    const int free_workers = static_cast<int>(threads_.size()) - running_;
    if (static_cast<int>(jobs_.size()) >= capacity_ + free_workers) return Admit::kQueueFull;
    jobs_.push_back(std::move(job));
  }
  work_ready_.notify_one();
  return Admit::kAccepted;
}

void AdmissionQueue::Shutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  shutting_down_ = true;
  idle_.wait(lock, [this] { return jobs_.empty() && running_ == 0; });
}

bool AdmissionQueue::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_.wait_for(lock, timeout, [this] { return jobs_.empty() && running_ == 0; });
}

int AdmissionQueue::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(jobs_.size());
}

int AdmissionQueue::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void AdmissionQueue::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_ready_.wait(lock, [this] { return !jobs_.empty() || shutting_down_; });
    if (jobs_.empty()) {
      if (shutting_down_) return;
      continue;
    }
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    bool released = false;
    const Release release = [this, &released] {
      if (released) return;
      released = true;
      std::lock_guard<std::mutex> guard(mu_);
      --running_;
      if (jobs_.empty() && running_ == 0) idle_.notify_all();
    };
    job(release);
    release();
    lock.lock();
  }
}

}  // namespace attnserve
