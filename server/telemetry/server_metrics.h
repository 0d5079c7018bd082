// Prometheus metrics of the server: request counters and latency histograms
// by rpc/model/kernel/code, engine figures (tokens, exit layer, attention
// time, FLOPs), admission rejections, policy changes and reloads, plus
// gauges read at scrape time (queue, in-flight, model and policy info,
// process CPU/memory/threads, power and energy). Only bounded label values.
#ifndef ATTNSERVE_SERVER_TELEMETRY_SERVER_METRICS_H_
#define ATTNSERVE_SERVER_TELEMETRY_SERVER_METRICS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/serving_state.h"

namespace attnserve {

// Power and energy at scrape time, from whatever source the server has.
struct PowerSnapshot {
  std::string source;  // "rapl", "hwmon", "rpi_pmic", "estimate"
  double watts = 0;
  double joules_total = 0;
};

class ServerMetrics final : public RequestObserver {
 public:
  // `state` must outlive the metrics. With a non-empty `address`, serves
  // /metrics there (HOST:PORT; port 0 picks a free one).
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> Create(const ServingState* state,
                                                               const std::string& address);
  ~ServerMetrics() override;

  void OnRequest(const RequestRecord& record) override;
  void OnRejected(const std::string& rpc, const std::string& transport,
                  const std::string& reason) override;
  void OnPolicyChange(int64_t version) override;
  void OnBatchRun(const std::string& model, int requests, int64_t tokens) override;
  void OnModelReload(bool ok) override;

  // Where power figures come from; unset = no power metrics.
  void SetPowerProvider(std::function<absl::StatusOr<PowerSnapshot>()> provider);

  // The text exposition of every metric (what /metrics serves).
  std::string Render() const;
  int port() const { return port_; }

 private:
  class ScrapeCollector;
  explicit ServerMetrics(const ServingState* state);

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ScrapeCollector> scrape_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;

  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Family<prometheus::Histogram>* queue_;
  prometheus::Family<prometheus::Histogram>* compute_;
  prometheus::Family<prometheus::Counter>* attention_seconds_;
  prometheus::Family<prometheus::Counter>* cpu_seconds_;
  prometheus::Family<prometheus::Counter>* flops_;
  prometheus::Family<prometheus::Counter>* pairs_scored_;
  prometheus::Family<prometheus::Counter>* pairs_dense_;
  prometheus::Family<prometheus::Counter>* texts_;
  prometheus::Family<prometheus::Counter>* tokens_in_;
  prometheus::Family<prometheus::Counter>* tokens_used_;
  prometheus::Family<prometheus::Counter>* tokens_kept_;
  prometheus::Family<prometheus::Histogram>* exit_layer_;
  prometheus::Family<prometheus::Histogram>* batch_size_;
  prometheus::Family<prometheus::Histogram>* request_energy_;
  prometheus::Family<prometheus::Counter>* auto_selections_;
  prometheus::Family<prometheus::Counter>* linear_precision_;
  prometheus::Family<prometheus::Counter>* rejections_;
  prometheus::Family<prometheus::Counter>* policy_changes_;
  prometheus::Family<prometheus::Counter>* reloads_;
  prometheus::Family<prometheus::Counter>* executions_;
  prometheus::Family<prometheus::Histogram>* batch_requests_;
  prometheus::Family<prometheus::Histogram>* batch_tokens_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_TELEMETRY_SERVER_METRICS_H_
