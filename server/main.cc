// attnserve: the gRPC inference server.
//   attnserve [--model DIR] [--config FILE] [--grpc_address HOST:PORT]
//             [--metrics_address HOST:PORT] [--admin_token_file FILE]
//             [--policy_file FILE]
// SIGTERM or SIGINT drains: health NOT_SERVING, new calls refused, accepted
// calls finish within the grace period, then exit 0.
#include <csignal>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "server/lifecycle_log.h"
#include "server/server.h"
#include "server/server_config.h"

ABSL_FLAG(std::string, model, "", "Model directory (default: models/use-lite)");
ABSL_FLAG(std::string, config, "", "Config file, protobuf text format (attnserve.v1.Config)");
ABSL_FLAG(std::string, grpc_address, "", "gRPC listen address (default 127.0.0.1:50051)");
ABSL_FLAG(std::string, metrics_address, "", "Prometheus /metrics address (default 127.0.0.1:9464)");
ABSL_FLAG(std::string, admin_token_file, "", "File holding the Admin API bearer token");
ABSL_FLAG(std::string, policy_file, "", "Where the runtime policy is persisted");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("attnserve: the attnserve gRPC inference server");
  absl::ParseCommandLine(argc, argv);

  // Signals go to the thread that waits for them, not to gRPC's threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  attnserve::ConfigFlags flags{
      absl::GetFlag(FLAGS_config),           absl::GetFlag(FLAGS_model),
      absl::GetFlag(FLAGS_grpc_address),     absl::GetFlag(FLAGS_metrics_address),
      absl::GetFlag(FLAGS_admin_token_file), absl::GetFlag(FLAGS_policy_file)};
  absl::StatusOr<attnserve::v1::Config> config = attnserve::LoadConfig(flags);
  if (!config.ok()) {
    std::cerr << "attnserve: bad configuration: " << config.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<attnserve::AttnServer>> server =
      attnserve::AttnServer::Start(*config);
  if (!server.ok()) {
    std::cerr << "attnserve: cannot start: " << server.status().message() << "\n";
    return 1;
  }
  int signal = 0;
  sigwait(&signals, &signal);
  attnserve::LogEvent(absl::StrCat("received ", signal == SIGTERM ? "SIGTERM" : "SIGINT"));
  (*server)->Drain(absl::Seconds(config->drain_grace_seconds()));
  (*server)->Wait();
  attnserve::LogEvent("stopped");
  return 0;
}
