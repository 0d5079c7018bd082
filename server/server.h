// The attnserve process minus main(): binds the gRPC and HTTP ports (health
// NOT_SERVING), loads the model, opens the policy, turns SERVING; drains on
// request.
#ifndef ATTNSERVE_SERVER_SERVER_H_
#define ATTNSERVE_SERVER_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attnserve/v1/config.pb.h"
#include "grpcpp/server.h"
#include "server/serving_state.h"

namespace attnserve {

class AdminService;
class HttpServer;
class InferenceService;
class ServerMetrics;
namespace power {
class CpuBusyClock;
class EnergyMeter;
class RequestEnergyAttributor;
}  // namespace power

class AttnServer {
 public:
  // `observer` (may be null) receives request records; it must outlive the server.
  static absl::StatusOr<std::unique_ptr<AttnServer>> Start(const v1::Config& config,
                                                           RequestObserver* observer = nullptr);
  ~AttnServer();

  // The bound gRPC port (useful with port 0).
  int port() const { return port_; }
  // The bound HTTP/JSON API port; 0 when it is off.
  int http_port() const;
  // The bound /metrics port; 0 when metrics are off.
  int metrics_port() const;
  ServerMetrics* metrics() { return metrics_.get(); }
  ServingState& state() { return state_; }

  // Health NOT_SERVING, new calls refused with UNAVAILABLE, accepted calls
  // finish (up to `grace`), then the gRPC server stops.
  void Drain(absl::Duration grace);
  // Blocks until the gRPC server has shut down.
  void Wait();

 private:
  AttnServer() = default;
  absl::Status StartPower(const v1::PowerConfig& config);

  v1::Config config_;
  int port_ = 0;
  RequestObserver default_observer_;
  std::unique_ptr<ModelManager> models_;
  std::unique_ptr<PolicyStore> policy_;
  std::unique_ptr<AdmissionQueue> queue_;
  ServingState state_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<power::EnergyMeter> meter_;
  std::unique_ptr<power::CpuBusyClock> busy_clock_;
  std::unique_ptr<power::RequestEnergyAttributor> energy_;
  std::unique_ptr<InferenceService> inference_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_SERVER_H_
