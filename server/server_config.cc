#include "server/server_config.h"

#include <filesystem>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/kernels/linear_precision.h"
#include "engine/util/cpu_budget.h"
#include "engine/util/status_macros.h"
#include "server/policy_store.h"
#include "server/text_proto.h"

namespace attnserve {
namespace {

absl::Status CheckRange(const char* field, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", value, " is out of range [", lo, ", ", hi, "]"));
  }
  return absl::OkStatus();
}

// model_limits[model]: only the input limits, each in [0, the server's].
absl::Status CheckModelLimits(const std::string& model, const v1::LimitsConfig& own,
                              const v1::LimitsConfig& server) {
  const std::string where = absl::StrCat("model_limits[\"", model, "\"].");
  if (model.empty()) return absl::InvalidArgumentError("model_limits: a model name is empty");
  if (own.max_message_bytes() != 0 || own.max_request_bytes() != 0 ||
      own.max_http_body_bytes() != 0 || own.max_json_depth() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        "max_message_bytes, max_request_bytes, max_http_body_bytes and max_json_depth are "
        "server-wide: set them in limits"));
  }
  const struct {
    const char* name;
    int64_t value, ceiling;
  } fields[] = {
      {"max_texts_per_request", own.max_texts_per_request(), server.max_texts_per_request()},
      {"max_text_bytes", own.max_text_bytes(), server.max_text_bytes()},
      {"max_tokens", own.max_tokens(), server.max_tokens()}};
  for (const auto& f : fields) {
    if (f.value < 0 || f.value > f.ceiling) {
      return absl::InvalidArgumentError(absl::StrCat(where, f.name, ": ", f.value,
                                                     " is out of range [0, ", f.ceiling,
                                                     "] (the server's limits.", f.name, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAddress(const char* field, const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": '", address, "' is not HOST:PORT (port 0-65535)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Config> LoadConfig(const ConfigFlags& flags) {
  v1::Config config;
  if (!flags.config_file.empty()) {
    RETURN_IF_ERROR(ParseTextProtoFile(flags.config_file, &config));
  }
  for (size_t i = 0; i < flags.models.size(); ++i) {
    std::filesystem::path model(flags.models[i]);
    while (model.has_filename() == false && model.has_parent_path() && model != model.root_path()) {
      model = model.parent_path();  // tolerate a trailing slash
    }
    const std::string root = model.has_parent_path() ? model.parent_path().string() : ".";
    if (i == 0) {
      config.set_model_root(root);
      config.set_model_dir(model.filename().string());
      config.clear_extra_model_dirs();
    } else if (root != config.model_root()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--model: '", flags.models[i], "' is not in '", config.model_root(),
                       "'; the served models share one model root (the first one's parent)"));
    } else {
      config.add_extra_model_dirs(model.filename().string());
    }
  }
  if (!flags.grpc_address.empty()) config.set_grpc_address(flags.grpc_address);
  if (!flags.metrics_address.empty()) config.set_metrics_address(flags.metrics_address);
  if (!flags.admin_token_file.empty()) config.set_admin_token_file(flags.admin_token_file);
  if (!flags.policy_file.empty()) config.set_policy_file(flags.policy_file);
  if (!flags.http_address.empty()) config.set_http_address(flags.http_address);
  if (!flags.api_key_file.empty()) config.set_api_key_file(flags.api_key_file);
  if (absl::Status s = FinalizeConfig(&config); !s.ok()) {
    return flags.config_file.empty()
               ? s
               : absl::Status(s.code(), absl::StrCat(flags.config_file, ": ", s.message()));
  }
  return config;
}

absl::Status FinalizeConfig(v1::Config* c) {
  // Online CPUs narrowed by the affinity mask and the cgroup quota
  // (engine/util/cpu_budget.h): a container limit sizes the defaults.
  const int cores = ReadCpuBudget().cpus;
  if (c->model_root().empty()) c->set_model_root("models");
  if (c->model_dir().empty()) c->set_model_dir("use-lite");
  if (c->grpc_address().empty()) c->set_grpc_address("127.0.0.1:50051");
  if (c->metrics_address().empty()) c->set_metrics_address("127.0.0.1:9464");
  if (c->drain_grace_seconds() == 0) c->set_drain_grace_seconds(30);
  if (c->heads_dir().empty()) c->set_heads_dir("heads");
  if (c->calibration_file().empty()) c->set_calibration_file("calibration.json");

  v1::LimitsConfig* l = c->mutable_limits();
  if (l->max_texts_per_request() == 0) l->set_max_texts_per_request(256);
  if (l->max_text_bytes() == 0) l->set_max_text_bytes(64 << 10);
  if (l->max_tokens() == 0) l->set_max_tokens(8192);
  if (l->max_message_bytes() == 0) l->set_max_message_bytes(4 << 20);
  if (l->max_request_bytes() == 0) l->set_max_request_bytes(int64_t{2} << 30);
  if (l->max_http_body_bytes() == 0) l->set_max_http_body_bytes(4 << 20);
  if (l->max_json_depth() == 0) l->set_max_json_depth(16);
  if (c->http_address().empty()) c->set_http_address("127.0.0.1:8080");
  if (c->http_threads() == 0) c->set_http_threads(64);
  v1::Batching* b = c->mutable_batching();
  if (b->max_batch_requests() == 0) b->set_max_batch_requests(32);
  if (b->max_batch_tokens() == 0) b->set_max_batch_tokens(1024);
  if (!b->has_max_queue_delay_us()) b->set_max_queue_delay_us(0);

  v1::AdmissionConfig* a = c->mutable_admission();
  // One worker per CPU, each run allowed every CPU: the admission queue
  // shares the CPUs out per run (a lone request gets them all, concurrent
  // ones one each), so neither short texts under load nor a long text alone
  // leaves CPUs idle.
  if (a->workers() == 0) a->set_workers(cores);
  if (!a->has_queue_capacity()) a->set_queue_capacity(16);
  if (a->threads_per_request() == 0) a->set_threads_per_request(cores);

  for (int i = 0; i < c->warm_linear_precisions_size(); ++i) {
    const std::string& p = c->warm_linear_precisions(i);
    if (!ParseLinearPrecision(p)) {
      return absl::InvalidArgumentError(absl::StrCat("warm_linear_precisions[", i, "]: '", p,
                                                     "' is not one of ", kLinearPrecisionNames));
    }
  }
  RETURN_IF_ERROR(CheckAddress("grpc_address", c->grpc_address()));
  if (c->metrics_address() != "none") {
    RETURN_IF_ERROR(CheckAddress("metrics_address", c->metrics_address()));
  }
  if (c->http_address() != "none") {
    RETURN_IF_ERROR(CheckAddress("http_address", c->http_address()));
  }
  RETURN_IF_ERROR(CheckRange("http_threads", c->http_threads(), 1, 4096));
  if (absl::Status s = CheckBatching(*b); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("batching.", s.message()));
  }
  if (absl::Status s = CheckRange("limits.max_http_body_bytes", l->max_http_body_bytes(), 1024,
                                  int64_t{1} << 30);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRange("limits.max_json_depth", l->max_json_depth(), 4, 256); !s.ok()) {
    return s;
  }
  if (c->model_dir().find("..") != std::string::npos || c->model_dir().front() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("model_dir: '", c->model_dir(), "' must be a name under model_root"));
  }
  for (int i = 0; i < c->extra_model_dirs_size(); ++i) {
    const std::string& dir = c->extra_model_dirs(i);
    if (dir.empty() || dir.find("..") != std::string::npos || dir.front() == '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("extra_model_dirs[", i, "]: '", dir, "' must be a name under model_root"));
    }
  }
  if (absl::Status s = CheckRange("drain_grace_seconds", c->drain_grace_seconds(), 1, 3600);
      !s.ok())
    return s;
  if (absl::Status s =
          CheckRange("limits.max_texts_per_request", l->max_texts_per_request(), 1, 100000);
      !s.ok())
    return s;
  if (absl::Status s = CheckRange("limits.max_text_bytes", l->max_text_bytes(), 1, 64 << 20);
      !s.ok())
    return s;
  if (absl::Status s = CheckRange("limits.max_tokens", l->max_tokens(), 1, 65536); !s.ok())
    return s;
  if (absl::Status s =
          CheckRange("limits.max_message_bytes", l->max_message_bytes(), 1024, 1 << 30);
      !s.ok())
    return s;
  if (absl::Status s =
          CheckRange("limits.max_request_bytes", l->max_request_bytes(), 1 << 20, int64_t{1} << 40);
      !s.ok()) {
    return s;
  }
  RETURN_IF_ERROR(CheckRange("admission.workers", a->workers(), 1, 256));
  if (absl::Status s = CheckRange("admission.queue_capacity", a->queue_capacity(), 0, 100000);
      !s.ok())
    return s;
  if (absl::Status s =
          CheckRange("admission.threads_per_request", a->threads_per_request(), 1, 256);
      !s.ok())
    return s;

  for (const auto& [model, own] : c->model_limits()) {
    RETURN_IF_ERROR(CheckModelLimits(model, own, *l));
  }

  const v1::TlsConfig& tls = c->tls();
  if (tls.cert_file().empty() != tls.key_file().empty()) {
    return absl::InvalidArgumentError("tls: cert_file and key_file must be given together");
  }
  if (!tls.client_ca_file().empty() && tls.cert_file().empty()) {
    return absl::InvalidArgumentError(
        "tls.client_ca_file: mTLS needs tls.cert_file and tls.key_file");
  }
  if (absl::Status s = ValidatePolicyShape(c->initial_policy()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("initial_policy: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace attnserve
