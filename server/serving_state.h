// What every handler shares: the model, the policy, admission, the limits and
// the observer that turns finished requests into metrics.
#ifndef ATTNSERVE_SERVER_SERVING_STATE_H_
#define ATTNSERVE_SERVER_SERVING_STATE_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "attnserve/v1/config.pb.h"
#include "engine/run_options.h"
#include "server/admission_queue.h"
#include "server/model_manager.h"
#include "server/policy_store.h"

namespace attnserve {

// One finished RPC, as the telemetry layer sees it. Only bounded labels.
struct RequestRecord {
  std::string rpc;                 // "Embed", "EmbedStream", ...; HTTP: the route, "/v1/embeddings"
  std::string transport = "grpc";  // "grpc" or "http"
  std::string model;               // served model name
  std::string kernel;              // attention kernel, "" when none ran
  int code = 0;                    // grpc::StatusCode
  double total_seconds = 0;
  double queue_seconds = 0;
  const RunStats* stats = nullptr;  // null when the engine did not run
  double energy_joules = -1;        // attributed energy; < 0 when unknown
};

// Implemented by telemetry; the default does nothing.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void OnRequest(const RequestRecord& record) { (void)record; }
  virtual void OnRejected(const std::string& rpc, const std::string& transport,
                          const std::string& reason) {
    (void)rpc;
    (void)transport;
    (void)reason;
  }
  virtual void OnPolicyChange(int64_t version) { (void)version; }
  // One engine run of dynamically batched requests (1 when it ran alone).
  virtual void OnBatchRun(const std::string& model, int requests, int64_t tokens) {
    (void)model;
    (void)requests;
    (void)tokens;
  }
  virtual void OnModelReload(bool ok) { (void)ok; }
};

namespace power {
class EnergyMeter;
class RequestEnergyAttributor;
}  // namespace power

struct ServingState {
  v1::LimitsConfig limits;
  // config.model_limits merged over `limits`, by served model name.
  std::map<std::string, v1::LimitsConfig> model_limits;
  // The input limits of `model`'s requests, and " for model 'x'" when they
  // are its own (for error messages), else "".
  const v1::LimitsConfig& LimitsFor(const std::string& model) const {
    const auto it = model_limits.find(model);
    return it == model_limits.end() ? limits : it->second;
  }
  std::string LimitsScope(const std::string& model) const {
    return model_limits.contains(model) ? " for model '" + model + "'" : "";
  }
  int threads_per_request = 1;
  // The CPUs the defaults were sized by (engine/util/cpu_budget.h).
  int cpu_budget = 1;
  ModelManager* models = nullptr;
  PolicyStore* policy = nullptr;
  AdmissionQueue* queue = nullptr;
  RequestObserver* observer = nullptr;
  // Per-request energy and the meter it reads; null when power is off.
  const power::RequestEnergyAttributor* energy = nullptr;
  const power::EnergyMeter* meter = nullptr;
  // API keys every inference call must present (gRPC metadata or HTTP
  // header "authorization: Bearer <key>"); empty = no key needed.
  std::vector<std::string> api_keys;
  std::atomic<bool> draining{false};
  // Set once by AttnServer::Start after everything above is in place (the
  // model loaded, the policy open). gRPC and HTTP accept calls before that,
  // while the model loads; a handler reads this (acquire) before it touches
  // `policy`, so the start-up writes happen-before their use, and
  // ThreadSanitizer sees the hand-over, which gRPC's own synchronisation hides.
  std::atomic<bool> started{false};
  bool Started() const { return started.load(std::memory_order_acquire); }
};

// UNAVAILABLE while the server is starting; OK once it has started.
inline absl::Status CheckStarted(const ServingState& state) {
  return state.Started() ? absl::OkStatus()
                         : absl::UnavailableError("the server is starting: the model is loading");
}

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_SERVING_STATE_H_
