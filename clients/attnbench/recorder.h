// attnbench's results: latencies of successful requests (overall, per
// kernel, per length), errors by gRPC code, server-side times; thread-safe.
#ifndef ATTNSERVE_CLIENTS_ATTNBENCH_RECORDER_H_
#define ATTNSERVE_CLIENTS_ATTNBENCH_RECORDER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "attnserve/v1/inference.pb.h"
#include "grpcpp/support/status.h"
#include "nlohmann/json.hpp"

namespace attnserve::bench {

// Latency percentiles (nearest rank) in ms of `samples` (sorted in place).
nlohmann::ordered_json LatencySummary(std::vector<double>* samples);
// p in [0, 100] of sorted samples; 0 when empty.
double Percentile(const std::vector<double>& sorted, double p);

class Recorder {
 public:
  Recorder(std::vector<std::string> kernel_labels, std::vector<std::string> length_labels);

  void Sent() { sent_.fetch_add(1, std::memory_order_relaxed); }
  void Dropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }
  // One finished request: its status, its latency and, when ok, its answer.
  void Done(int kernel, int length, const grpc::Status& status, double latency_ms, int texts,
            const v1::EmbedResponse* response);

  struct Progress {
    int64_t sent = 0, ok = 0, errors = 0, dropped = 0;
    double p50_ms = 0, p99_ms = 0;
  };
  Progress Snapshot() const;

  // The summary's measurement part (everything but the settings).
  nlohmann::ordered_json Summary(double elapsed_seconds) const;
  int64_t ok() const { return ok_.load(); }

 private:
  struct Bucket {
    int64_t ok = 0, errors = 0;
    std::vector<double> latency_ms;
  };

  std::vector<std::string> kernel_labels_, length_labels_;
  std::atomic<int64_t> sent_{0}, dropped_{0}, ok_{0}, errors_{0};
  mutable std::mutex mu_;
  std::vector<double> all_ms_;
  std::vector<Bucket> per_kernel_, per_length_;
  std::map<std::string, int64_t> errors_by_code_;
  std::map<std::string, std::string> error_examples_;
  int64_t texts_ok_ = 0;
  double queue_s_ = 0, tokenize_s_ = 0, compute_s_ = 0;
  int64_t tokens_used_ = 0;
};

}  // namespace attnserve::bench

#endif  // ATTNSERVE_CLIENTS_ATTNBENCH_RECORDER_H_
