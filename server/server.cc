#include "server/server.h"

#include "absl/strings/str_cat.h"
#include "engine/kernels/gemm.h"
#include "engine/util/build_info.h"
#include "engine/util/cpu_budget.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/admin_service.h"
#include "server/bearer_token.h"
#include "server/embed_batch.h"
#include "server/http/http_server.h"
#include "server/http/inference_routes.h"
#include "server/inference_service.h"
#include "server/lifecycle_log.h"
#include "server/request_options.h"
#include "server/telemetry/power/cpu_busy_clock.h"
#include "server/telemetry/power/detect.h"
#include "server/telemetry/power/energy_meter.h"
#include "server/telemetry/power/estimate_source.h"
#include "server/telemetry/power/request_energy.h"
#include "server/telemetry/server_metrics.h"
#include "server/text_proto.h"

namespace attnserve {
namespace {

constexpr char kInferenceService[] = "attnserve.v1.Inference";

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(const v1::TlsConfig& tls) {
  if (tls.cert_file().empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      tls.client_ca_file().empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                   : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  absl::StatusOr<std::string> cert = ReadFileToString(tls.cert_file(), 1 << 20);
  absl::StatusOr<std::string> key = ReadFileToString(tls.key_file(), 1 << 20);
  if (!cert.ok())
    return absl::InvalidArgumentError(absl::StrCat("tls.cert_file: ", cert.status().message()));
  if (!key.ok())
    return absl::InvalidArgumentError(absl::StrCat("tls.key_file: ", key.status().message()));
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca_file().empty()) {
    absl::StatusOr<std::string> ca = ReadFileToString(tls.client_ca_file(), 1 << 20);
    if (!ca.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls.client_ca_file: ", ca.status().message()));
    }
    options.pem_root_certs = *ca;
  }
  return grpc::SslServerCredentials(options);
}

void SetServing(grpc::Server* server, bool serving) {
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(serving);  // every service, "" included
  health->SetServingStatus(kInferenceService, serving);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AttnServer>> AttnServer::Start(const v1::Config& config,
                                                              RequestObserver* observer) {
  std::unique_ptr<AttnServer> s(new AttnServer());
  s->config_ = config;
  const bool mtls = !config.tls().client_ca_file().empty();
  ASSIGN_OR_RETURN(AdminAuth auth, AdminAuth::Create(config.admin_token_file(), mtls));
  const std::string admin_auth = auth.Describe();
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   MakeCredentials(config.tls()));

  EngineConfig engine_config;
  engine_config.max_tokens_limit = config.limits().max_tokens();
  engine_config.max_batch_texts = config.limits().max_texts_per_request();
  engine_config.max_request_bytes = config.limits().max_request_bytes();
  engine_config.default_threads = config.admission().threads_per_request();
  for (const std::string& name : config.warm_linear_precisions()) {
    // ValidateServerConfig refused unknown names.
    engine_config.warm_linear_precisions.push_back(
        ParseLinearPrecision(name).value_or(LinearPrecision::kF32));
  }
  s->models_ = std::make_unique<ModelManager>(engine_config, config.model_root(),
                                              config.heads_dir(), config.calibration_file());
  const CpuBudget cpus = ReadCpuBudget();
  s->queue_ = std::make_unique<AdmissionQueue>(config.admission().workers(),
                                               config.admission().queue_capacity(), cpus.cpus,
                                               config.admission().threads_per_request());
  s->state_.limits = config.limits();
  if (!config.api_key_file().empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> keys,
                     ReadTokenFile("api_key_file", config.api_key_file()));
    s->state_.api_keys = std::move(keys);
  }
  s->state_.threads_per_request = config.admission().threads_per_request();
  s->state_.cpu_budget = cpus.cpus;
  LogEvent(absl::StrCat("cpu budget: ", cpus.Describe()));
  if (const GemmThreading gemm = GetGemmThreading(); gemm.follows_caller_threads) {
    LogEvent(absl::StrCat("gemm: ", gemm.description));
  } else {
    LogEvent(absl::StrCat("gemm: ", gemm.description,
                          "; WARNING: it ignores threads_per_request and may use every CPU per "
                          "call; install libopenblas0-openmp (docs/DEPLOYMENT.md)"));
  }
  s->state_.models = s->models_.get();
  s->state_.queue = s->queue_.get();
  if (config.metrics_address() != "none") {
    ASSIGN_OR_RETURN(std::unique_ptr<ServerMetrics> metrics,
                     ServerMetrics::Create(&s->state_, config.metrics_address()));
    s->metrics_ = std::move(metrics);
  }
  if (config.power().source() != "none") {
    RETURN_IF_ERROR(s->StartPower(config.power()));
  }
  s->state_.observer = observer != nullptr      ? observer
                       : s->metrics_ != nullptr ? static_cast<RequestObserver*>(s->metrics_.get())
                                                : &s->default_observer_;
  s->inference_ = std::make_unique<InferenceService>(&s->state_);

  // Bind first, NOT_SERVING, so orchestrators see the process while it loads.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.grpc_address(), credentials, &s->port_);
  builder.SetMaxReceiveMessageSize(config.limits().max_message_bytes());
  builder.RegisterService(s->inference_.get());
  s->admin_ = std::make_unique<AdminService>(&s->state_, std::move(auth));
  builder.RegisterService(s->admin_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("grpc_address: cannot listen on ", config.grpc_address()));
  }
  SetServing(s->server_.get(), false);
  LogEvent(absl::StrCat("listening on ", config.grpc_address(), " (port ", s->port_, ", ",
                        config.tls().cert_file().empty() ? "plaintext" : (mtls ? "mTLS" : "TLS"),
                        ", admin auth: ", admin_auth, ", api keys: ", s->state_.api_keys.size(),
                        ")"));
  if (config.http_address() != "none") {
    HttpServerOptions http;
    http.address = config.http_address();
    http.threads = config.http_threads();
    http.max_body_bytes = config.limits().max_http_body_bytes();
    HttpApiOptions api;
    api.max_json_depth = config.limits().max_json_depth();
    api.version = std::string(GetBuildInfo().version);
    absl::StatusOr<std::unique_ptr<HttpServer>> started =
        HttpServer::Start(http, InferenceRoutes(&s->state_, api), ApiErrorHandler(&s->state_));
    if (!started.ok()) {
      s->server_->Shutdown();
      return started.status();
    }
    s->http_ = *std::move(started);
    LogEvent(absl::StrCat("http on ", config.http_address(), " (http port ", s->http_->port(), ", ",
                          config.http_threads(), " connections)"));
  }

  std::vector<std::string> model_dirs = {config.model_dir()};
  model_dirs.insert(model_dirs.end(), config.extra_model_dirs().begin(),
                    config.extra_model_dirs().end());
  for (const std::string& dir : model_dirs) {
    if (absl::Status loaded = s->models_->Add(dir); !loaded.ok()) {
      s->server_->Shutdown();
      return absl::Status(loaded.code(),
                          absl::StrCat("cannot load the model '", dir, "': ", loaded.message()));
    }
    const std::string name = s->models_->All().back().name;
    LogEvent(absl::StrCat("model '", name, "' loaded from ", config.model_root(), "/", dir,
                          s->models_->All().size() == 1 ? " (the default)" : ""));
  }

  for (const auto& [name, own] : config.model_limits()) {
    if (s->models_->Find(name) == nullptr) {
      s->server_->Shutdown();
      return absl::InvalidArgumentError(absl::StrCat(
          "model_limits: '", name, "' is not served; this server serves ", s->models_->NameList()));
    }
    // Zero fields fall through to the server's (ValidateServerConfig checked the rest).
    v1::LimitsConfig merged = config.limits();
    if (own.max_texts_per_request() > 0) {
      merged.set_max_texts_per_request(own.max_texts_per_request());
    }
    if (own.max_text_bytes() > 0) merged.set_max_text_bytes(own.max_text_bytes());
    if (own.max_tokens() > 0) merged.set_max_tokens(own.max_tokens());
    s->state_.model_limits[name] = merged;
  }

  v1::Policy initial = config.initial_policy();
  if (initial.overridable().empty() && !config.has_initial_policy()) {
    for (const std::string& f : PolicyStore::OverridableFields()) initial.add_overridable(f);
  }
  ModelManager* models = s->models_.get();
  if (!config.policy_file().empty()) {
    if (const int stale = RemoveStaleTemporaries(config.policy_file()); stale > 0) {
      LogEvent(absl::StrCat("removed ", stale, " temporary policy file(s) left by a crash beside ",
                            config.policy_file()));
    }
  }
  absl::StatusOr<std::unique_ptr<PolicyStore>> policy = PolicyStore::Open(
      config.policy_file(), initial, [models](const v1::Policy& p) -> absl::Status {
        // One policy for every served model: its defaults, with each
        // model's own over them, must suit that model.
        const std::vector<ModelManager::Served> served = models->All();
        auto served_or_refuse = [models](const char* field,
                                         const std::string& name) -> absl::Status {
          if (models->Find(name) != nullptr) return absl::OkStatus();
          return absl::InvalidArgumentError(absl::StrCat("policy.", field, ": '", name,
                                                         "' is not served; this server serves ",
                                                         models->NameList()));
        };
        for (const auto& [name, unused] : p.model_defaults()) {
          RETURN_IF_ERROR(served_or_refuse("model_defaults", name));
        }
        for (const auto& [name, unused] : p.model_batching()) {
          RETURN_IF_ERROR(served_or_refuse("model_batching", name));
        }
        for (const ModelManager::Served& m : served) {
          ASSIGN_OR_RETURN(RunOptions options, PolicyRunOptions(p, m.name));
          if (absl::Status s = m.engine->CheckOptions(options); !s.ok()) {
            const bool own = p.model_defaults().contains(m.name);
            const std::string where =
                own ? absl::StrCat("policy.defaults with model_defaults[\"", m.name, "\"]: ")
                    : "policy.defaults.";
            const std::string which =
                !own && served.size() > 1 ? absl::StrCat(" (model '", m.name, "')") : "";
            return absl::Status(s.code(), absl::StrCat(where, s.message(), which));
          }
        }
        return absl::OkStatus();
      });
  if (!policy.ok()) {
    s->server_->Shutdown();
    return policy.status();
  }
  s->policy_ = *std::move(policy);
  s->state_.policy = s->policy_.get();
  PolicyStore* policies = s->policy_.get();
  s->queue_->SetBatchLimits([batching = config.batching(), policies](const BatchMember& first) {
    return ResolveBatchLimits(batching, *policies->Current(), first.batch_model());
  });
  LogEvent(absl::StrCat("policy version ", s->policy_->Current()->version(), ", attention '",
                        s->policy_->Current()->defaults().attention().kernel().empty()
                            ? "dense"
                            : s->policy_->Current()->defaults().attention().kernel(),
                        "'",
                        config.policy_file().empty() ? " (not persisted)"
                                                     : ", persisted in " + config.policy_file()));
  s->state_.started.store(true, std::memory_order_release);
  SetServing(s->server_.get(), true);
  if (s->metrics_ != nullptr) {
    LogEvent(absl::StrCat("metrics on ", config.metrics_address(), " (port ", s->metrics_->port(),
                          ") at /metrics"));
  }
  LogEvent(absl::StrCat("serving: ", config.admission().workers(), " workers x ",
                        config.admission().threads_per_request(), " threads, queue ",
                        config.admission().queue_capacity()));
  return s;
}

absl::Status AttnServer::StartPower(const v1::PowerConfig& c) {
  power::PowerConfig config;
  if (!c.source().empty()) config.source = c.source();
  if (!c.powercap_root().empty()) config.powercap_root = c.powercap_root();
  if (!c.hwmon_root().empty()) config.hwmon_root = c.hwmon_root();
  config.hwmon_label = c.hwmon_label();
  if (!c.pmic_command().empty()) config.pmic_command = c.pmic_command();
  if (!c.proc_root().empty()) config.proc_root = c.proc_root();
  if (!c.board_profile().empty()) config.board_profile = c.board_profile();
  if (c.has_idle_watts()) config.idle_watts = c.idle_watts();
  if (c.has_max_watts()) config.max_watts = c.max_watts();

  std::vector<std::string> notes;
  absl::StatusOr<std::unique_ptr<power::PowerSource>> source =
      config.source == "auto" ? power::DetectPowerSource(config, &notes)
                              : power::CreatePowerSource(config.source, config);
  if (!source.ok()) {
    return absl::Status(source.status().code(),
                        absl::StrCat("power.source: ", source.status().message()));
  }
  // A real reading that disappears at runtime falls back to the estimate.
  std::unique_ptr<power::PowerSource> fallback;
  if ((*source)->name() != "estimate") {
    absl::StatusOr<std::unique_ptr<power::EstimateSource>> estimate =
        power::EstimateSource::Create(config);
    if (estimate.ok()) fallback = *std::move(estimate);
  }
  for (const std::string& note : notes) LogEvent("power: " + note);
  LogEvent(absl::StrCat("power source: ", (*source)->name()));
  meter_ =
      std::make_unique<power::EnergyMeter>(*std::move(source), std::move(fallback),
                                           [](const std::string& m) { LogEvent("power: " + m); });
  meter_->StartBackgroundSampling(absl::Milliseconds(100));
  busy_clock_ = std::make_unique<power::CpuBusyClock>(config.proc_root);
  energy_ = std::make_unique<power::RequestEnergyAttributor>(meter_.get(), busy_clock_.get());
  state_.energy = energy_.get();
  state_.meter = meter_.get();
  if (metrics_ != nullptr) {
    power::EnergyMeter* meter = meter_.get();
    metrics_->SetPowerProvider([meter]() -> absl::StatusOr<PowerSnapshot> {
      const power::EnergyReading r = meter->Sample();
      return PowerSnapshot{r.source, r.power_watts, r.source_energy_joules};
    });
  }
  return absl::OkStatus();
}

AttnServer::~AttnServer() {
  if (http_ != nullptr) http_->Stop();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
  if (queue_ != nullptr) queue_->Shutdown();
  // The exposer may still be scraping: stop it before the meter it reads.
  metrics_.reset();
}

void AttnServer::Drain(absl::Duration grace) {
  LogEvent("draining: NOT_SERVING, refusing new calls");
  SetServing(server_.get(), false);
  // From here new calls get UNAVAILABLE (retryable elsewhere) from the
  // handlers, while accepted ones finish in the workers.
  state_.draining.store(true);
  const bool idle = queue_->WaitIdle(absl::ToChronoMilliseconds(grace));
  if (!idle) LogEvent("grace period over: cancelling the calls still running");
  // HTTP calls in progress write their answers before the listener closes.
  if (http_ != nullptr) http_->Stop(absl::Seconds(5));
  // Cancelled runs stop between layers; open streams are closed.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(idle ? 5 : 0));
  queue_->Shutdown();
  LogEvent("drained");
}

void AttnServer::Wait() { server_->Wait(); }

int AttnServer::http_port() const { return http_ != nullptr ? http_->port() : 0; }

int AttnServer::metrics_port() const { return metrics_ != nullptr ? metrics_->port() : 0; }

}  // namespace attnserve
