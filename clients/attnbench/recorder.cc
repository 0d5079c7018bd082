#include "clients/attnbench/recorder.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/status/status.h"

namespace attnserve::bench {

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const size_t index =
      static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(sorted.size()))) - 1;
  return sorted[index];
}

namespace {

double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace

nlohmann::ordered_json LatencySummary(std::vector<double>* samples) {
  std::sort(samples->begin(), samples->end());
  if (samples->empty()) return {{"count", 0}};
  const double mean =
      std::accumulate(samples->begin(), samples->end(), 0.0) / static_cast<double>(samples->size());
  return {{"count", samples->size()},
          {"mean", Round3(mean)},
          {"min", Round3(samples->front())},
          {"p50", Round3(Percentile(*samples, 50))},
          {"p95", Round3(Percentile(*samples, 95))},
          {"p99", Round3(Percentile(*samples, 99))},
          {"max", Round3(samples->back())}};
}

Recorder::Recorder(std::vector<std::string> kernel_labels, std::vector<std::string> length_labels)
    : kernel_labels_(std::move(kernel_labels)),
      length_labels_(std::move(length_labels)),
      per_kernel_(kernel_labels_.size()),
      per_length_(length_labels_.size()) {}

void Recorder::Done(int kernel, int length, const grpc::Status& status, double latency_ms,
                    int texts, const v1::EmbedResponse* response) {
  std::lock_guard<std::mutex> lock(mu_);
  if (status.ok()) {
    ok_.fetch_add(1, std::memory_order_relaxed);
    all_ms_.push_back(latency_ms);
    for (Bucket* b : {&per_kernel_[kernel], &per_length_[length]}) {
      ++b->ok;
      b->latency_ms.push_back(latency_ms);
    }
    texts_ok_ += texts;
    if (response != nullptr) {
      queue_s_ += response->stats().queue_seconds();
      tokenize_s_ += response->stats().tokenize_seconds();
      compute_s_ += response->stats().compute_seconds();
      for (const v1::TextStats& t : response->stats().texts()) tokens_used_ += t.tokens_used();
    }
    return;
  }
  errors_.fetch_add(1, std::memory_order_relaxed);
  ++per_kernel_[kernel].errors;
  ++per_length_[length].errors;
  const std::string code =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  ++errors_by_code_[code];
  if (!error_examples_.contains(code)) error_examples_[code] = status.error_message();
}

Recorder::Progress Recorder::Snapshot() const {
  Progress p;
  p.sent = sent_.load();
  p.dropped = dropped_.load();
  std::vector<double> copy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    p.ok = ok_.load();
    p.errors = errors_.load();
    copy = all_ms_;
  }
  std::sort(copy.begin(), copy.end());
  p.p50_ms = Percentile(copy, 50);
  p.p99_ms = Percentile(copy, 99);
  return p;
}

nlohmann::ordered_json Recorder::Summary(double elapsed_seconds) const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::ordered_json out;
  const int64_t ok = ok_.load();
  out["elapsed_s"] = Round3(elapsed_seconds);
  out["sent"] = sent_.load();
  out["ok"] = ok;
  out["errors"] = errors_.load();
  out["client_dropped"] = dropped_.load();
  const double secs = std::max(elapsed_seconds, 1e-9);
  out["throughput"] = {{"requests_per_s", Round3(static_cast<double>(ok) / secs)},
                       {"texts_per_s", Round3(static_cast<double>(texts_ok_) / secs)},
                       {"sent_per_s", Round3(static_cast<double>(sent_.load()) / secs)}};
  std::vector<double> all = all_ms_;
  out["latency_ms"] = LatencySummary(&all);
  const double n = static_cast<double>(std::max<int64_t>(ok, 1));
  out["server_ms"] = {
      {"queue_mean", Round3(queue_s_ * 1e3 / n)},
      {"tokenize_mean", Round3(tokenize_s_ * 1e3 / n)},
      {"compute_mean", Round3(compute_s_ * 1e3 / n)},
      {"tokens_used_mean_per_request", Round3(static_cast<double>(tokens_used_) / n)}};
  auto buckets = [](const std::vector<Bucket>& buckets, const std::vector<std::string>& labels) {
    nlohmann::ordered_json json = nlohmann::ordered_json::object();
    for (size_t i = 0; i < buckets.size(); ++i) {
      std::vector<double> samples = buckets[i].latency_ms;
      json[labels[i]] = {{"ok", buckets[i].ok},
                         {"errors", buckets[i].errors},
                         {"latency_ms", LatencySummary(&samples)}};
    }
    return json;
  };
  out["per_kernel"] = buckets(per_kernel_, kernel_labels_);
  out["per_length"] = buckets(per_length_, length_labels_);
  out["errors_by_code"] = errors_by_code_;
  out["error_examples"] = error_examples_;
  return out;
}

}  // namespace attnserve::bench
