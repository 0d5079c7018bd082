#include "server/telemetry/server_metrics.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "engine/kernels/gemm.h"
#include "engine/util/build_info.h"
#include "grpcpp/support/status.h"
#include "prometheus/collectable.h"
#include "prometheus/text_serializer.h"
#include "server/status_util.h"
#include "server/telemetry/process_stats.h"

namespace attnserve {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// 1 ms .. ~33 s in factors of 2: edge latencies span four decades.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  prometheus::Histogram::BucketBoundaries b;
  for (double v = 0.001; v < 40; v *= 2) b.push_back(v);
  return b;
}

MetricFamily Gauge(const std::string& name, const std::string& help, double value,
                   std::vector<ClientMetric::Label> labels = {}) {
  MetricFamily f{name, help, MetricType::Gauge, {}};
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

MetricFamily Counter(const std::string& name, const std::string& help, double value,
                     std::vector<ClientMetric::Label> labels = {}) {
  MetricFamily f{name, help, MetricType::Counter, {}};
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

// Values that are read, not counted: collected at scrape time.
class ServerMetrics::ScrapeCollector final : public prometheus::Collectable {
 public:
  explicit ScrapeCollector(const ServingState* state) : state_(state) {}

  void SetPowerProvider(std::function<absl::StatusOr<PowerSnapshot>()> provider) {
    std::lock_guard<std::mutex> lock(mu_);
    power_ = std::move(provider);
  }

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    if (state_->queue != nullptr) {
      out.push_back(Gauge("attnserve_in_flight_requests", "Requests running in a worker.",
                          state_->queue->running()));
      out.push_back(Gauge("attnserve_queue_depth", "Admitted requests waiting for a worker.",
                          state_->queue->queued()));
      out.push_back(Gauge("attnserve_queue_capacity", "Waiting requests allowed before shedding.",
                          state_->queue->capacity()));
      out.push_back(
          Gauge("attnserve_workers", "Concurrent engine runs.", state_->queue->workers()));
      out.push_back(Gauge("attnserve_cpus_in_use",
                          "CPUs granted to the runs in flight, out of attnserve_cpu_budget.",
                          state_->queue->cpus_in_use()));
    }
    out.push_back(Gauge("attnserve_cpu_budget",
                        "CPUs the server may use: online, narrowed by affinity and cgroup quota.",
                        state_->cpu_budget));
    out.push_back(
        Gauge("attnserve_draining", "1 while the server drains.", state_->draining.load() ? 1 : 0));
    if (state_->models != nullptr) {
      const std::vector<ModelManager::Served> served = state_->models->All();
      out.push_back(
          Gauge("attnserve_model_loaded", "1 when a model is serving.", served.empty() ? 0 : 1));
      if (!served.empty()) {
        MetricFamily info_family{
            "attnserve_model_info", "A served model (value 1).", MetricType::Gauge, {}};
        MetricFamily generation_family{
            "attnserve_model_generation",
            "Which load (counted over all models) this model's current one was.",
            MetricType::Gauge,
            {}};
        for (const ModelManager::Served& m : served) {
          const ModelInfo& info = m.engine->model_info();
          info_family.metric.push_back(
              Gauge("", "", 1, {{"model", info.name}, {"family", info.family}}).metric[0]);
          generation_family.metric.push_back(
              Gauge("", "", static_cast<double>(m.generation), {{"model", info.name}}).metric[0]);
        }
        out.push_back(std::move(info_family));
        out.push_back(std::move(generation_family));
      }
    }
    if (state_->Started()) {
      auto policy = state_->policy->Current();
      const std::string kernel = policy->defaults().attention().kernel().empty()
                                     ? "dense"
                                     : policy->defaults().attention().kernel();
      out.push_back(Gauge("attnserve_policy_info", "The default attention kernel (value 1).", 1,
                          {{"kernel", kernel}}));
      out.push_back(Gauge("attnserve_policy_version", "Version of the runtime policy.",
                          static_cast<double>(policy->version())));
    }
    const BuildInfo& build = GetBuildInfo();
    out.push_back(Gauge("attnserve_build_info", "Build facts (value 1).", 1,
                        {{"version", std::string(build.version)},
                         {"build_type", std::string(build.build_type)},
                         {"compiler", std::string(build.compiler)},
                         {"arch", std::string(build.arch)},
                         {"gemm_backend", std::string(build.gemm_backend)}}));
    if (absl::StatusOr<ProcessStats> p = ReadProcessStats(); p.ok()) {
      out.push_back(Counter("attnserve_process_cpu_seconds_total", "CPU time of the process.",
                            p->cpu_seconds));
      out.push_back(Gauge("attnserve_process_resident_memory_bytes", "Resident memory.",
                          static_cast<double>(p->resident_bytes)));
      out.push_back(Gauge("attnserve_process_virtual_memory_bytes", "Virtual memory.",
                          static_cast<double>(p->virtual_bytes)));
      out.push_back(Gauge("attnserve_process_threads", "OS threads of the process.", p->threads));
      out.push_back(Gauge("attnserve_process_start_time_seconds",
                          "Start time since the Unix epoch.", p->start_time_seconds));
    }
    std::function<absl::StatusOr<PowerSnapshot>()> power;
    {
      std::lock_guard<std::mutex> lock(mu_);
      power = power_;
    }
    if (power) {
      if (absl::StatusOr<PowerSnapshot> s = power(); s.ok()) {
        out.push_back(Gauge("attnserve_power_watts",
                            "Power of the box (source says whether read or estimated).", s->watts,
                            {{"source", s->source}}));
        out.push_back(Counter("attnserve_energy_joules_total", "Energy of the box since start.",
                              s->joules_total, {{"source", s->source}}));
      }
    }
    return out;
  }

 private:
  const ServingState* const state_;
  mutable std::mutex mu_;
  std::function<absl::StatusOr<PowerSnapshot>()> power_;
};

ServerMetrics::ServerMetrics(const ServingState* state)
    : registry_(std::make_shared<prometheus::Registry>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildHistogram;
  auto& r = *registry_;
  requests_ = &BuildCounter()
                   .Name("attnserve_requests_total")
                   .Help(
                       "Finished requests by rpc (HTTP: the route), transport, model, attention "
                       "kernel and status code.")
                   .Register(r);
  duration_ = &BuildHistogram()
                   .Name("attnserve_request_duration_seconds")
                   .Help("Time from arrival to reply, by rpc (HTTP: the route) and transport.")
                   .Register(r);
  queue_ = &BuildHistogram()
                .Name("attnserve_queue_duration_seconds")
                .Help("Time admitted requests waited for a worker.")
                .Register(r);
  compute_ = &BuildHistogram()
                  .Name("attnserve_compute_duration_seconds")
                  .Help("Time in the encoder (attention included).")
                  .Register(r);
  attention_seconds_ = &BuildCounter()
                            .Name("attnserve_attention_seconds_total")
                            .Help("Time inside attention kernels.")
                            .Register(r);
  cpu_seconds_ = &BuildCounter()
                      .Name("attnserve_engine_cpu_seconds_total")
                      .Help("CPU time of the threads that ran requests.")
                      .Register(r);
  flops_ = &BuildCounter()
                .Name("attnserve_flops_total")
                .Help("Floating-point operations of finished requests (multiply-add = 2).")
                .Register(r);
  pairs_scored_ = &BuildCounter()
                       .Name("attnserve_attention_pairs_scored_total")
                       .Help("Query-key pairs the attention kernels scored.")
                       .Register(r);
  pairs_dense_ = &BuildCounter()
                      .Name("attnserve_attention_pairs_dense_total")
                      .Help("Query-key pairs dense attention would have scored.")
                      .Register(r);
  texts_ = &BuildCounter().Name("attnserve_texts_total").Help("Texts processed.").Register(r);
  tokens_in_ = &BuildCounter()
                    .Name("attnserve_tokens_in_total")
                    .Help("Tokens out of the tokenizer, before the clip.")
                    .Register(r);
  tokens_used_ = &BuildCounter()
                      .Name("attnserve_tokens_used_total")
                      .Help("Tokens entering the first layer (after the clip).")
                      .Register(r);
  tokens_kept_ = &BuildCounter()
                      .Name("attnserve_tokens_kept_total")
                      .Help("Tokens alive after the last layer run (after pruning).")
                      .Register(r);
  exit_layer_ = &BuildHistogram()
                     .Name("attnserve_exit_layer")
                     .Help("Layers run per request (early exit stops sooner).")
                     .Register(r);
  batch_size_ =
      &BuildHistogram().Name("attnserve_batch_size").Help("Texts per request.").Register(r);
  request_energy_ = &BuildHistogram()
                         .Name("attnserve_request_energy_joules")
                         .Help("Energy attributed to each request.")
                         .Register(r);
  auto_selections_ = &BuildCounter()
                          .Name("attnserve_auto_selections_total")
                          .Help(
                              "Requests the auto policy configured, by calibrated configuration "
                              "and whether the predicted budget was met.")
                          .Register(r);
  linear_precision_ = &BuildCounter()
                           .Name("attnserve_linear_precision_requests_total")
                           .Help(
                               "Requests that ran, by the arithmetic of the model's dense layers "
                               "(f32, int8 or bf16; docs/QUANTIZATION.md).")
                           .Register(r);
  rejections_ = &BuildCounter()
                     .Name("attnserve_admission_rejections_total")
                     .Help("Requests refused by admission control.")
                     .Register(r);
  policy_changes_ = &BuildCounter()
                         .Name("attnserve_policy_changes_total")
                         .Help("Successful SetPolicy calls.")
                         .Register(r);
  reloads_ = &BuildCounter()
                  .Name("attnserve_model_reloads_total")
                  .Help("Model reloads by result.")
                  .Register(r);
  executions_ = &BuildCounter()
                     .Name("attnserve_batch_executions_total")
                     .Help("Engine runs of embedding calls (one per dynamic batch).")
                     .Register(r);
  batch_requests_ = &BuildHistogram()
                         .Name("attnserve_batch_requests")
                         .Help("Requests sharing one engine run (dynamic batching).")
                         .Register(r);
  batch_tokens_ = &BuildHistogram()
                       .Name("attnserve_batch_tokens")
                       .Help("Tokens of one engine run of batched embedding calls.")
                       .Register(r);
  scrape_ = std::make_shared<ScrapeCollector>(state);
  // Series that should read 0 before anything happens.
  policy_changes_->Add({});
  reloads_->Add({{"result", "ok"}});
  reloads_->Add({{"result", "failed"}});
}

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::Create(const ServingState* state,
                                                                     const std::string& address) {
  std::unique_ptr<ServerMetrics> m(new ServerMetrics(state));
  if (!address.empty()) {
    try {
      m->exposer_ = std::make_unique<prometheus::Exposer>(address);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("metrics_address: cannot listen on ", address, ": ", e.what()));
    }
    m->exposer_->RegisterCollectable(m->registry_);
    m->exposer_->RegisterCollectable(m->scrape_);
    const std::vector<int> ports = m->exposer_->GetListeningPorts();
    m->port_ = ports.empty() ? 0 : ports.front();
  }
  return m;
}

ServerMetrics::~ServerMetrics() = default;

void ServerMetrics::SetPowerProvider(std::function<absl::StatusOr<PowerSnapshot>()> provider) {
  scrape_->SetPowerProvider(std::move(provider));
}

void ServerMetrics::OnRequest(const RequestRecord& r) {
  const std::string kernel = r.kernel.empty() ? "none" : r.kernel;
  requests_
      ->Add({{"rpc", r.rpc},
             {"transport", r.transport},
             {"model", r.model},
             {"kernel", kernel},
             {"code", CodeName(r.code)}})
      .Increment();
  const prometheus::Labels by_kernel = {{"rpc", r.rpc}, {"model", r.model}, {"kernel", kernel}};
  duration_
      ->Add({{"rpc", r.rpc}, {"transport", r.transport}, {"model", r.model}, {"kernel", kernel}},
            LatencyBuckets())
      .Observe(r.total_seconds);
  if (r.stats == nullptr) return;
  const RunStats& s = *r.stats;
  queue_->Add(by_kernel, LatencyBuckets()).Observe(r.queue_seconds);
  compute_->Add(by_kernel, LatencyBuckets()).Observe(s.compute_seconds);
  const prometheus::Labels mk = {{"model", r.model}, {"kernel", kernel}};
  attention_seconds_->Add(mk).Increment(s.attention_seconds);
  cpu_seconds_->Add(mk).Increment(s.cpu_seconds);
  flops_->Add(mk).Increment(static_cast<double>(s.flops));
  pairs_scored_->Add(mk).Increment(static_cast<double>(s.attention_pairs_scored));
  pairs_dense_->Add(mk).Increment(static_cast<double>(s.attention_pairs_total));
  double in = 0, used = 0;
  for (const TextStats& t : s.texts) {
    in += t.tokens_in;
    used += t.tokens_used;
  }
  const prometheus::Labels model = {{"model", r.model}};
  texts_->Add({{"rpc", r.rpc}, {"model", r.model}}).Increment(static_cast<double>(s.texts.size()));
  tokens_in_->Add(model).Increment(in);
  tokens_used_->Add(model).Increment(used);
  tokens_kept_->Add(model).Increment(
      s.tokens_per_layer.empty() ? used : static_cast<double>(s.tokens_per_layer.back()));
  exit_layer_->Add(model, prometheus::Histogram::BucketBoundaries{1, 2, 3, 4, 6, 8, 12, 16, 24})
      .Observe(s.layers_run);
  batch_size_
      ->Add({{"rpc", r.rpc}},
            prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256})
      .Observe(static_cast<double>(s.texts.size()));
  if (!s.linear_precision.empty()) {
    linear_precision_->Add({{"model", r.model}, {"precision", s.linear_precision}}).Increment();
  }
  if (!s.auto_config.empty()) {
    // Bounded: the configurations are the rows of the calibration table.
    auto_selections_
        ->Add({{"model", r.model},
               {"config", s.auto_config},
               {"budget_met", s.budget_met ? "true" : "false"}})
        .Increment();
  }
  if (r.energy_joules >= 0) {
    request_energy_
        ->Add(mk, prometheus::Histogram::BucketBoundaries{0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3,
                                                          10, 30})
        .Observe(r.energy_joules);
  }
}

void ServerMetrics::OnRejected(const std::string& rpc, const std::string& transport,
                               const std::string& reason) {
  rejections_->Add({{"rpc", rpc}, {"transport", transport}, {"reason", reason}}).Increment();
}

void ServerMetrics::OnBatchRun(const std::string& model, int requests, int64_t tokens) {
  const prometheus::Labels labels = {{"model", model}};
  executions_->Add(labels).Increment();
  batch_requests_->Add(labels, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128})
      .Observe(requests);
  batch_tokens_
      ->Add(labels, prometheus::Histogram::BucketBoundaries{16, 64, 256, 1024, 4096, 16384, 65536})
      .Observe(static_cast<double>(tokens));
}

void ServerMetrics::OnPolicyChange(int64_t /*version*/) { policy_changes_->Add({}).Increment(); }

void ServerMetrics::OnModelReload(bool ok) {
  reloads_->Add({{"result", ok ? "ok" : "failed"}}).Increment();
}

std::string ServerMetrics::Render() const {
  std::vector<MetricFamily> families = registry_->Collect();
  for (MetricFamily& f : scrape_->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace attnserve
