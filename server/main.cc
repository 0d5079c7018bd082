// attnserve: the gRPC and HTTP/JSON inference server.
//   attnserve [--model DIR] [--config FILE] [--grpc_address HOST:PORT]
//             [--metrics_address HOST:PORT] [--admin_token_file FILE]
//             [--policy_file FILE] [--http_address HOST:PORT]
//             [--api_key_file FILE]
// SIGTERM or SIGINT drains: health NOT_SERVING, new calls refused, accepted
// calls finish within the grace period, then exit 0.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/util/build_info.h"
#include "server/lifecycle_log.h"
#include "server/server.h"
#include "server/server_config.h"

ABSL_FLAG(std::vector<std::string>, model, {},
          "Model directory (default: models/use-lite); several, comma-separated, are served "
          "side by side (one parent directory), the first being the default");
ABSL_FLAG(std::string, config, "", "Config file, protobuf text format (attnserve.v1.Config)");
ABSL_FLAG(std::string, grpc_address, "", "gRPC listen address (default 127.0.0.1:50051)");
ABSL_FLAG(std::string, metrics_address, "", "Prometheus /metrics address (default 127.0.0.1:9464)");
ABSL_FLAG(std::string, admin_token_file, "", "File holding the Admin API bearer token");
ABSL_FLAG(std::string, policy_file, "", "Where the runtime policy is persisted");
constexpr char kDefaultHttpAddress[] = "127.0.0.1:8080";
ABSL_FLAG(std::string, http_address, kDefaultHttpAddress,
          "HTTP/JSON API address (OpenAI /v1/embeddings, TEI routes); empty disables it");
ABSL_FLAG(std::string, api_key_file, "",
          "File of API keys (one per line): inference calls then need 'Bearer <key>'");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("attnserve: the attnserve gRPC inference server");
  absl::FlagsUsageConfig usage;
  usage.version_string = [] { return attnserve::VersionLine("attnserve") + "\n"; };
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  attnserve::LogEvent(attnserve::VersionLine("version"));
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex lock (gRPC
  // takes them per call) keeps a lock-order graph for deadlock reports:
  // GraphCycles showed in a profile of the saturated server. The tests keep
  // the check; the server does not pay for it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Signals go to the thread that waits for them, not to gRPC's threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  attnserve::ConfigFlags flags{absl::GetFlag(FLAGS_config),
                               absl::GetFlag(FLAGS_model),
                               absl::GetFlag(FLAGS_grpc_address),
                               absl::GetFlag(FLAGS_metrics_address),
                               absl::GetFlag(FLAGS_admin_token_file),
                               absl::GetFlag(FLAGS_policy_file),
                               "",
                               ""};
  // The HTTP flag overrides the config file only when it differs from its
  // default (the config's default too); empty disables the HTTP API.
  if (const std::string http = absl::GetFlag(FLAGS_http_address); http != kDefaultHttpAddress) {
    flags.http_address = http.empty() ? "none" : http;
  }
  flags.api_key_file = absl::GetFlag(FLAGS_api_key_file);
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
