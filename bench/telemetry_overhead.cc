// Telemetry overhead at 16 tokens: two in-process servers on loopback, one
// with metrics and power attribution, one with both off, requests
// interleaved A/B in one run so machine noise hits both alike.
//   telemetry_overhead [--model DIR] [--requests N]
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "clients/cpp/attnserve_client.h"
#include "nlohmann/json.hpp"
#include "server/server.h"
#include "server/server_config.h"

namespace attnserve {
namespace {

std::unique_ptr<AttnServer> StartServer(const std::string& model_dir, bool telemetry,
                                        bool power = true) {
  std::filesystem::path model = std::filesystem::absolute(model_dir);
  v1::Config config;
  config.set_model_root(model.parent_path().string());
  config.set_model_dir(model.filename().string());
  config.set_grpc_address("127.0.0.1:0");
  config.set_http_address("none");
  config.set_metrics_address(telemetry ? "127.0.0.1:0" : "none");
  config.mutable_power()->set_source(telemetry && power ? "auto" : "none");
  config.mutable_admission()->set_workers(1);
  config.mutable_admission()->set_threads_per_request(1);
  if (absl::Status s = FinalizeConfig(&config); !s.ok()) {
    std::cerr << s << "\n";
    std::exit(2);
  }
  auto server = AttnServer::Start(config);
  if (!server.ok()) {
    std::cerr << server.status() << "\n";
    std::exit(2);
  }
  return *std::move(server);
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * (v.size() - 1))];
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  using namespace attnserve;
  std::string model = "models/use-lite";
  int requests = 2000;
  bool power = true;  // --power 0: metrics only, to split the cost
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--model") model = argv[i + 1];
    if (flag == "--requests") requests = std::atoi(argv[i + 1]);
    if (flag == "--power") power = std::string(argv[i + 1]) != "0";
  }
  auto with = StartServer(model, true, power);
  auto without = StartServer(model, false);
  const auto connect = [](int port) {
    ClientOptions o;
    o.address = absl::StrCat("127.0.0.1:", port);
    return *AttnClient::Connect(o);
  };
  auto client_with = connect(with->port());
  auto client_without = connect(without->port());
  // 16 tokens of real prose (bench/data/inputs.json "tok16").
  v1::EmbedRequest request;
  request.add_texts("Call me Ishmael. Some years ago, never mind how long precisely, having");
  std::vector<double> on, off;
  for (int i = 0; i < requests + 50; ++i) {
    for (int side = 0; side < 2; ++side) {
      const bool telemetry = (i + side) % 2 == 0;  // alternate who goes first
      AttnClient& client = telemetry ? *client_with : *client_without;
      const absl::Time start = absl::Now();
      auto response = client.Embed(request);
      const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
      if (!response.ok()) {
        std::cerr << response.status() << "\n";
        return 1;
      }
      if (i >= 50) (telemetry ? on : off).push_back(ms);  // after warm-up
    }
  }
  const double on_p50 = Percentile(on, 0.5), off_p50 = Percentile(off, 0.5);
  double on_mean = 0, off_mean = 0;
  for (double v : on) on_mean += v / on.size();
  for (double v : off) off_mean += v / off.size();
  nlohmann::json out = {
      {"requests_each", on.size()},
      {"tokens", 16},
      {"power_attribution", power},
      {"with_telemetry_ms", {{"p50", on_p50}, {"mean", on_mean}, {"p90", Percentile(on, 0.9)}}},
      {"without_telemetry_ms",
       {{"p50", off_p50}, {"mean", off_mean}, {"p90", Percentile(off, 0.9)}}},
      {"overhead_p50_percent", 100.0 * (on_p50 / off_p50 - 1.0)},
      {"overhead_mean_percent", 100.0 * (on_mean / off_mean - 1.0)},
  };
  std::cout << out.dump(2) << "\n";
  return 0;
}
