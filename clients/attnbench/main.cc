// attnbench: a load generator for attnserve over gRPC.
//
//   attnbench [--address HOST:PORT] [--concurrency N | --rate R [--arrival poisson|fixed]]
//             [--duration S] [--requests N] [--attention dense,flash:2,...]
//             [--lengths 16,128,512 | --input FILE] [--texts-per-request K]
//             [--max-tokens N] [--admin-free] [--admin_token_file FILE] [--quiet]
//
// Closed loop: N workers, each sending its next request when the last one is
// answered. Open loop: requests start at a fixed rate (Poisson or evenly
// spaced arrivals) on gRPC's callback API, so slow answers never slow the
// arrivals; latency is measured from the scheduled start. The run stops by
// itself: after --duration seconds and/or --requests requests (default 10 s),
// plus at most --timeout for the requests in flight. Progress on stderr once a
// second; a JSON summary on stdout at the end. Exit 0 when at least one
// request succeeded, 1 when none did, 2 on bad flags or no server.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/attnbench/http_embed.h"
#include "clients/attnbench/recorder.h"
#include "clients/attnbench/workload.h"
#include "clients/cpp/attnserve_client.h"
#include "engine/kernels/linear_precision.h"
#include "engine/util/file_io.h"
#include "google/protobuf/util/json_util.h"

namespace attnserve::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string address = "127.0.0.1:50051";
  std::string http;  // base URL of the HTTP API; "" = measure gRPC
  int concurrency = 1;
  double rate = 0;
  std::string arrival = "poisson";
  double duration = 0;
  int64_t requests = 0;
  std::string attention = "default";
  std::vector<std::string> attention_params;
  std::string lengths = "16,128";
  std::string input;
  int texts_per_request = 1;
  int max_tokens = 0;
  std::string linear_precision;
  bool admin_free = false;
  std::string admin_token_file;
  std::string ca_file, cert_file, key_file;
  double timeout = 30;
  int max_in_flight = 1024;
  int variants = 16;
  uint64_t seed = 1;
  bool quiet = false;
};

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Shared by both loops: when to stop sending.
class StopRule {
 public:
  StopRule(const Flags& f, Clock::time_point start)
      : requests_(f.requests),
        end_(f.duration > 0 ? start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(f.duration))
                            : Clock::time_point::max()) {}
  // Claims the next request number, or nullopt when the run is over.
  std::optional<uint64_t> Next() {
    if (Clock::now() >= end_ || stopped_.load()) return std::nullopt;
    const uint64_t seq = next_.fetch_add(1);
    if (requests_ > 0 && seq >= static_cast<uint64_t>(requests_)) return std::nullopt;
    return seq;
  }
  Clock::time_point end() const { return end_; }
  void Stop() { stopped_.store(true); }

 private:
  const int64_t requests_;
  const Clock::time_point end_;
  std::atomic<uint64_t> next_{0};
  std::atomic<bool> stopped_{false};
};

void SetDeadline(grpc::ClientContext* context, double timeout_seconds) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            std::chrono::duration<double>(timeout_seconds)));
}

// Closed loop: each worker sends its next request when the last one is
// answered, over gRPC or, with --http, over the HTTP API (one keep-alive
// connection per worker).
void ClosedLoop(const Flags& f, v1::Inference::Stub* stub, const Workload& workload, StopRule* stop,
                Recorder* recorder) {
  std::vector<std::thread> workers;
  for (int w = 0; w < f.concurrency; ++w) {
    workers.emplace_back([&] {
      std::unique_ptr<HttpEmbedClient> http;
      if (!f.http.empty()) http = std::make_unique<HttpEmbedClient>(f.http, f.timeout);
      while (std::optional<uint64_t> seq = stop->Next()) {
        const Workload::Pick pick = workload.Choose(*seq);
        v1::EmbedRequest request;
        workload.Fill(*seq, pick, &request);
        v1::EmbedResponse response;
        grpc::ClientContext context;
        SetDeadline(&context, f.timeout);
        recorder->Sent();
        const Clock::time_point t0 = Clock::now();
        const grpc::Status status = http != nullptr ? http->Embed(request, &response)
                                                    : stub->Embed(&context, request, &response);
        recorder->Done(pick.kernel, pick.length, status, Ms(Clock::now() - t0),
                       request.texts_size(), &response);
      }
    });
  }
  for (std::thread& t : workers) t.join();
}

// One open-loop call in flight; deleted by its completion callback.
struct AsyncCall {
  grpc::ClientContext context;
  v1::EmbedRequest request;
  v1::EmbedResponse response;
  Workload::Pick pick;
  Clock::time_point scheduled;
};

void OpenLoop(const Flags& f, v1::Inference::Stub* stub, const Workload& workload, StopRule* stop,
              Recorder* recorder) {
  std::mutex mu;
  std::condition_variable idle;
  int in_flight = 0;
  std::mt19937_64 rng(f.seed);
  std::exponential_distribution<double> gap(f.rate);
  const auto fixed_gap = std::chrono::duration<double>(1.0 / f.rate);
  Clock::time_point next = Clock::now();
  while (true) {
    std::this_thread::sleep_until(next);
    std::optional<uint64_t> seq = stop->Next();
    if (!seq) break;
    const Clock::time_point scheduled = next;
    next += std::chrono::duration_cast<Clock::duration>(
        f.arrival == "fixed" ? fixed_gap : std::chrono::duration<double>(gap(rng)));
    {
      std::lock_guard<std::mutex> lock(mu);
      if (in_flight >= f.max_in_flight) {
        recorder->Dropped();
        continue;
      }
      ++in_flight;
    }
    auto* call = new AsyncCall;
    call->pick = workload.Choose(*seq);
    call->scheduled = scheduled;
    workload.Fill(*seq, call->pick, &call->request);
    SetDeadline(&call->context, f.timeout);
    recorder->Sent();
    stub->async()->Embed(&call->context, &call->request, &call->response,
                         [call, recorder, &mu, &idle, &in_flight](grpc::Status status) {
                           recorder->Done(call->pick.kernel, call->pick.length, status,
                                          Ms(Clock::now() - call->scheduled),
                                          call->request.texts_size(), &call->response);
                           delete call;
                           std::lock_guard<std::mutex> lock(mu);
                           if (--in_flight == 0) idle.notify_all();
                         });
  }
  // Every call has a deadline, so this wait is bounded by --timeout.
  std::unique_lock<std::mutex> lock(mu);
  idle.wait(lock, [&] { return in_flight == 0; });
}

// Prints one progress line a second until `done`.
void ProgressLoop(const Recorder& recorder, Clock::time_point start, std::atomic<bool>* done) {
  int64_t last_finished = 0;
  Clock::time_point last = start;
  while (!done->load()) {
    for (int i = 0; i < 20 && !done->load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (done->load()) break;
    const Recorder::Progress p = recorder.Snapshot();
    const Clock::time_point now = Clock::now();
    const int64_t finished = p.ok + p.errors;
    const double rps = static_cast<double>(finished - last_finished) /
                       std::max(1e-9, std::chrono::duration<double>(now - last).count());
    last_finished = finished;
    last = now;
    std::cerr << absl::StrFormat(
        "attnbench %6.1fs  sent %lld  ok %lld  errors %lld%s  rps %.1f  p50 %.2f ms  p99 %.2f ms\n",
        SecondsSince(start), static_cast<long long>(p.sent), static_cast<long long>(p.ok),
        static_cast<long long>(p.errors),
        p.dropped > 0 ? absl::StrCat("  dropped ", p.dropped) : "", rps, p.p50_ms, p.p99_ms);
  }
}

absl::Status ParseKernelParams(const std::vector<std::string>& items,
                               std::vector<KernelChoice>* kernels) {
  for (const std::string& item : items) {
    // KERNEL.key=value
    const size_t dot = item.find('.'), eq = item.find('=');
    if (dot == std::string::npos || eq == std::string::npos || dot == 0 || eq < dot + 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("--attention-param '", item, "': expected KERNEL.key=value"));
    }
    const std::string kernel = item.substr(0, dot);
    bool found = false;
    for (KernelChoice& k : *kernels) {
      if (k.name == kernel) {
        k.params[item.substr(dot + 1, eq - dot - 1)] = item.substr(eq + 1);
        found = true;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat("--attention-param '", item, "': kernel '",
                                                     kernel, "' is not in --attention"));
    }
  }
  return absl::OkStatus();
}

int Run(const Flags& f) {
  auto fail = [](const std::string& message, int code) {
    std::cerr << "attnbench: " << message << "\n";
    return code;
  };
  bool weighted = false;
  absl::StatusOr<std::vector<KernelChoice>> kernels = ParseKernelMix(f.attention, &weighted);
  if (!kernels.ok()) return fail(std::string(kernels.status().message()), 2);
  if (absl::Status s = ParseKernelParams(f.attention_params, &*kernels); !s.ok()) {
    return fail(std::string(s.message()), 2);
  }
  std::vector<int> lengths;
  if (f.input.empty()) {
    for (absl::string_view item : absl::StrSplit(f.lengths, ',', absl::SkipWhitespace())) {
      int n = 0;
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(item), &n) || n < 1 || n > 65536) {
        return fail(absl::StrCat("--lengths '", item, "': expected token counts 1..65536"), 2);
      }
      lengths.push_back(n);
    }
    if (lengths.empty()) return fail("--lengths: give at least one length", 2);
  }

  ClientOptions options;
  options.address = f.address;
  options.ca_file = f.ca_file;
  options.cert_file = f.cert_file;
  options.key_file = f.key_file;
  options.timeout = absl::Seconds(f.timeout);
  if (!f.admin_free && !f.admin_token_file.empty()) {
    absl::StatusOr<std::string> token = ReadFileToString(f.admin_token_file, 64 << 10);
    if (!token.ok()) return fail(absl::StrCat("--admin_token_file: ", token.status().message()), 2);
    options.admin_token = std::string(absl::StripAsciiWhitespace(*token));
  }
  absl::StatusOr<std::unique_ptr<AttnClient>> client = AttnClient::Connect(options);
  if (!client.ok()) return fail(std::string(client.status().message()), 2);
  if (!(*client)->channel()->WaitForConnected(std::chrono::system_clock::now() +
                                              std::chrono::seconds(10))) {
    return fail(absl::StrCat("cannot connect to ", f.address, " within 10 s"), 2);
  }
  std::unique_ptr<v1::Inference::Stub> stub = v1::Inference::NewStub((*client)->channel());

  // The policy, for the record (admin call; skipped with --admin-free).
  nlohmann::ordered_json policy_json = nullptr;
  if (!f.admin_free) {
    absl::StatusOr<v1::Policy> policy = (*client)->GetPolicy();
    if (policy.ok()) {
      std::string json;
      google::protobuf::util::JsonPrintOptions print;
      print.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(*policy, &json, print);
      policy_json = nlohmann::ordered_json::parse(json, nullptr, false);
    } else {
      policy_json = absl::StrCat("unavailable: ", absl::StatusCodeToString(policy.status().code()));
    }
  }

  std::vector<TextClass> classes;
  if (!f.input.empty()) {
    absl::StatusOr<TextClass> c = ReadInputFile(f.input);
    if (!c.ok()) return fail(std::string(c.status().message()), 2);
    classes.push_back(*std::move(c));
  } else {
    for (int n : lengths) {
      absl::StatusOr<TextClass> c = CalibratedClass(stub.get(), n, f.variants, f.timeout);
      if (!c.ok()) return fail(std::string(c.status().message()), 2);
      if (n > 128 && f.max_tokens == 0 && !f.quiet) {
        std::cerr
            << "attnbench: note: texts of " << n
            << " tokens are clipped to the policy's max_tokens (128 for USE-lite by default); "
               "pass --max-tokens to lift the clip\n";
      }
      classes.push_back(*std::move(c));
    }
  }
  Workload workload(*kernels, weighted, classes, f.texts_per_request, f.max_tokens, f.seed);
  workload.set_linear_precision(f.linear_precision);

  // One probe per kernel: a bad kernel name or parameter fails here, once,
  // instead of in every request (probes are not counted).
  for (size_t k = 0; k < workload.kernels().size(); ++k) {
    v1::EmbedRequest request;
    workload.Fill(0, Workload::Pick{static_cast<int>(k), 0}, &request);
    v1::EmbedResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, f.timeout);
    const grpc::Status status = stub->Embed(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
        status.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
        status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      return fail(
          absl::StrCat("kernel '", workload.KernelLabel(static_cast<int>(k)), "': ",
                       absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                       ": ", status.error_message()),
          2);
    }
  }

  std::vector<std::string> kernel_labels, length_labels;
  for (size_t k = 0; k < workload.kernels().size(); ++k) {
    kernel_labels.push_back(workload.KernelLabel(static_cast<int>(k)));
  }
  for (const TextClass& c : workload.classes()) length_labels.push_back(c.label);
  Recorder recorder(kernel_labels, length_labels);

  const Clock::time_point start = Clock::now();
  StopRule stop(f, start);
  std::atomic<bool> done{false};
  std::thread progress;
  if (!f.quiet) progress = std::thread(ProgressLoop, std::cref(recorder), start, &done);
  if (f.rate > 0 && !f.http.empty()) return fail("--http measures the closed loop only", 2);
  if (f.rate > 0) {
    OpenLoop(f, stub.get(), workload, &stop, &recorder);
  } else {
    ClosedLoop(f, stub.get(), workload, &stop, &recorder);
  }
  const double elapsed = SecondsSince(start);
  done.store(true);
  if (progress.joinable()) progress.join();

  nlohmann::ordered_json settings = workload.Describe();
  settings["address"] = f.address;
  settings["transport"] = f.http.empty() ? "grpc" : "http";
  if (!f.http.empty()) settings["http"] = f.http;
  settings["mode"] = f.rate > 0 ? "open" : "closed";
  if (f.rate > 0) {
    settings["rate"] = f.rate;
    settings["arrival"] = f.arrival;
    settings["max_in_flight"] = f.max_in_flight;
  } else {
    settings["concurrency"] = f.concurrency;
  }
  settings["duration_s"] = f.duration;
  settings["requests"] = f.requests;
  settings["timeout_s"] = f.timeout;
  settings["admin_free"] = f.admin_free;
  settings["seed"] = f.seed;
  if (!f.input.empty()) settings["input"] = f.input;
  nlohmann::ordered_json summary = {{"tool", "attnbench"}, {"settings", settings}};
  if (!f.admin_free) summary["policy"] = policy_json;
  summary.update(recorder.Summary(elapsed));
  std::cout << summary.dump(2) << std::endl;
  return recorder.ok() > 0 ? 0 : 1;
}

}  // namespace
}  // namespace attnserve::bench

int main(int argc, char** argv) {
  attnserve::bench::Flags f;
  CLI::App app{"attnbench: load generator for attnserve over gRPC (JSON summary on stdout)"};
  app.add_option("--address", f.address, "attnserve address HOST:PORT")->capture_default_str();
  app.add_option("--http", f.http,
                 "Send the measured requests to this HTTP API base URL (POST /v1/embeddings, "
                 "closed loop); --address still serves calibration and probes");
  auto* concurrency =
      app.add_option("--concurrency", f.concurrency, "Closed loop: workers sending back-to-back")
          ->check(CLI::Range(1, 4096))
          ->capture_default_str();
  app.add_option("--rate", f.rate, "Open loop: requests started per second")
      ->check(CLI::PositiveNumber)
      ->excludes(concurrency);
  app.add_option("--arrival", f.arrival, "Open-loop arrivals: poisson or fixed")
      ->check(CLI::IsMember({"poisson", "fixed"}))
      ->capture_default_str();
  app.add_option("--max-in-flight", f.max_in_flight,
                 "Open loop: calls in flight beyond which arrivals are dropped (counted)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--duration", f.duration, "Seconds to send (default 10 unless --requests)")
      ->check(CLI::PositiveNumber);
  app.add_option("--requests", f.requests, "Requests to send in all")->check(CLI::PositiveNumber);
  app.add_option("--attention", f.attention,
                 "Kernel mix: NAME,NAME (cycled) or NAME:WEIGHT,... (weighted); 'default' = the "
                 "policy's kernel")
      ->capture_default_str();
  app.add_option("--attention-param", f.attention_params,
                 "Kernel parameter KERNEL.key=value; repeatable");
  auto* lengths = app.add_option("--lengths", f.lengths,
                                 "Text lengths in tokens, cycled (texts built from a word list, "
                                 "calibrated with Tokenize)")
                      ->capture_default_str();
  app.add_option("--input", f.input, "JSON-lines file {\"text\": ...} to send instead, cycled")
      ->check(CLI::ExistingFile)
      ->excludes(lengths);
  app.add_option("--texts-per-request", f.texts_per_request, "Texts in each Embed request")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--max-tokens", f.max_tokens,
                 "ExecutionOptions.max_tokens of each request (0 = the policy's)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--linear-precision", f.linear_precision,
                 "ExecutionOptions.linear_precision of each request: f32, int8, bf16 or auto "
                 "(\"\" = the policy's; docs/QUANTIZATION.md)")
      ->check(CLI::IsMember(attnserve::LinearPrecisionChoices({"auto", ""})));
  app.add_flag("--admin-free", f.admin_free, "Only inference calls (no GetPolicy for the summary)");
  app.add_option("--admin_token_file", f.admin_token_file,
                 "Bearer token file, to record the policy in the summary");
  app.add_option("--ca_file", f.ca_file, "CA of the server certificate (enables TLS)");
  app.add_option("--cert_file", f.cert_file, "Client certificate (mTLS)");
  app.add_option("--key_file", f.key_file, "Client private key (mTLS)");
  app.add_option("--timeout", f.timeout, "Per-request deadline in seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", f.seed, "Seed of arrivals and weighted kernel draws")
      ->capture_default_str();
  app.add_flag("--quiet", f.quiet, "No progress lines on stderr");
  CLI11_PARSE(app, argc, argv);
  if (f.duration <= 0 && f.requests <= 0) f.duration = 10;
  return attnserve::bench::Run(f);
}
