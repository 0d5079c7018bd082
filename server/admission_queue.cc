#include "server/admission_queue.h"

#include <algorithm>
#include <utility>

#include "engine/util/run_thread_cap.h"

namespace attnserve {

AdmissionQueue::AdmissionQueue(int workers, int capacity, int cpus, int threads_per_run)
    : capacity_(capacity),
      cpus_(cpus),
      threads_per_run_(threads_per_run > 0 ? threads_per_run : cpus) {
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

AdmissionQueue::Admit AdmissionQueue::Push(Entry entry) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) return Admit::kShuttingDown;
    // A free worker takes the job at once; otherwise it waits in the queue.
    const int free_workers = static_cast<int>(threads_.size()) - busy_workers_;
    if (static_cast<int>(jobs_.size()) >= capacity_ + free_workers) return Admit::kQueueFull;
    jobs_.push_back(std::move(entry));
  }
  // All: a worker gathering a batch waits here too, and must see new members.
  work_ready_.notify_all();
  return Admit::kAccepted;
}

AdmissionQueue::Admit AdmissionQueue::TrySubmit(Job job) {
  return Push(Entry{std::move(job), nullptr, nullptr});
}

AdmissionQueue::Admit AdmissionQueue::TrySubmitBatchable(std::shared_ptr<BatchMember> member,
                                                         GroupJob run) {
  return Push(Entry{nullptr, std::move(member), std::move(run)});
}

void AdmissionQueue::SetBatchLimits(LimitsFn limits) {
  std::lock_guard<std::mutex> lock(mu_);
  limits_ = std::move(limits);
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

void AdmissionQueue::Gather(std::unique_lock<std::mutex>& lock,
                            std::vector<std::shared_ptr<BatchMember>>* members) {
  BatchLimits limits = limits_ ? limits_(*members->front()) : BatchLimits{};
  const std::string& key = members->front()->batch_key();
  if (key.empty() || limits.max_requests <= 1) return;
  // A fair share when other workers are idle (woken for these very jobs, not
  // yet here): one group taking the whole queue would run it on one CPU
  // while they find nothing.
  const int idle = static_cast<int>(threads_.size()) - busy_workers_;
  if (idle > 0) {
    const int share = static_cast<int>((jobs_.size() + 1 + idle) / (idle + 1));
    limits.max_requests = std::max(1, std::min(limits.max_requests, share));
  }
  int64_t tokens = members->front()->batch_tokens();
  const auto give_up = std::chrono::steady_clock::now() + limits.max_delay;
  while (true) {
    // Oldest first; a member too large for what is left stays queued for
    // the next group (it keeps its place).
    for (auto it = jobs_.begin();
         it != jobs_.end() && static_cast<int>(members->size()) < limits.max_requests;) {
      if (it->member == nullptr || it->member->batch_key() != key ||
          tokens + it->member->batch_tokens() > limits.max_tokens) {
        ++it;
        continue;
      }
      tokens += it->member->batch_tokens();
      members->push_back(std::move(it->member));
      ++running_;
      it = jobs_.erase(it);
    }
    // No delay: only what is queued now (a wait with a past deadline still
    // releases and retakes the lock, and measured ~80 us at concurrency 1).
    if (static_cast<int>(members->size()) >= limits.max_requests || shutting_down_ ||
        limits.max_delay <= std::chrono::microseconds::zero() ||
        work_ready_.wait_until(lock, give_up) == std::cv_status::timeout) {
      break;
    }
  }
  // A final pass for what arrived with the timeout.
  for (auto it = jobs_.begin();
       it != jobs_.end() && static_cast<int>(members->size()) < limits.max_requests;) {
    if (it->member != nullptr && it->member->batch_key() == key &&
        tokens + it->member->batch_tokens() <= limits.max_tokens) {
      tokens += it->member->batch_tokens();
      members->push_back(std::move(it->member));
      ++running_;
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

int AdmissionQueue::GrantLocked() const {
  if (cpus_ <= 0) return 0;
  return std::clamp(cpus_ - cpus_in_use_, 1, std::max(1, threads_per_run_));
}

int AdmissionQueue::cpus_in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cpus_in_use_;
}

void AdmissionQueue::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_ready_.wait(lock, [this] { return !jobs_.empty() || shutting_down_; });
    if (jobs_.empty()) {
      if (shutting_down_) return;
      continue;
    }
    Entry entry = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    ++busy_workers_;
    std::vector<std::shared_ptr<BatchMember>> members;
    if (entry.member != nullptr) {
      members.push_back(std::move(entry.member));
      Gather(lock, &members);
      // What the group left is for the idle workers.
      if (!jobs_.empty() && busy_workers_ < static_cast<int>(threads_.size())) {
        work_ready_.notify_one();
      }
    }
    const int taken = entry.group ? static_cast<int>(members.size()) : 1;
    const int grant = GrantLocked();
    cpus_in_use_ += grant;
    lock.unlock();
    bool released = false;
    const Release release = [this, &released, taken, grant] {
      if (released) return;
      released = true;
      std::lock_guard<std::mutex> guard(mu_);
      running_ -= taken;
      --busy_workers_;
      cpus_in_use_ -= grant;
      if (jobs_.empty() && running_ == 0) idle_.notify_all();
    };
    {
      const ScopedRunThreadCap cap(grant);
      if (entry.group) {
        entry.group(std::move(members), release);
      } else {
        entry.job(release);
      }
    }
    release();
    lock.lock();
  }
}

}  // namespace attnserve
