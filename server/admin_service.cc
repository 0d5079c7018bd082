#include "server/admin_service.h"

#include "absl/strings/str_cat.h"
#include "engine/attention/length_defaults.h"
#include "engine/attention/registry.h"
#include "server/inference_service.h"
#include "server/status_util.h"
#include "server/unary_reactor.h"

namespace attnserve {

void FillKernelCatalogue(v1::ListAttentionKernelsResponse* out) {
  for (const AttentionKernel* kernel : AllAttentionKernels()) {
    const KernelInfo& info = kernel->info();
    v1::AttentionKernelInfo* k = out->add_kernels();
    k->set_name(info.name);
    k->set_description(info.description);
    k->set_time_complexity(info.time_complexity);
    k->set_memory_complexity(info.memory_complexity);
    k->set_exact(info.exact);
    for (const ParamSpec& p : info.params) {
      v1::ParamSchema* s = k->add_params();
      s->set_name(p.name);
      s->set_type(p.type == ParamType::kInt ? "int" : "float");
      s->set_default_value(p.default_value);
      s->set_min_value(p.min_value);
      s->set_max_value(p.max_value);
      s->set_description(p.description);
      if (const LengthDefault* rule = FindLengthDefault(info.name, p.name)) {
        for (const auto& [tokens, value] : rule->points) {
          v1::LengthPoint* point = s->add_default_by_length();
          point->set_tokens(tokens);
          point->set_value(value);
        }
      }
    }
  }
}

grpc::ServerUnaryReactor* AdminService::GetPolicy(grpc::CallbackServerContext* context,
                                                  const v1::GetPolicyRequest* /*request*/,
                                                  v1::Policy* response) {
  UnaryReactor* reactor = UnaryReactor::Create();
  if (grpc::Status auth = auth_.Check(*context); !auth.ok()) {
    reactor->FinishCall(auth);
    return reactor;
  }
  if (absl::Status started = CheckStarted(*state_); !started.ok()) {
    reactor->FinishCall(ToGrpcStatus(started));
    return reactor;
  }
  *response = *state_->policy->Current();
  reactor->FinishCall(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::SetPolicy(grpc::CallbackServerContext* context,
                                                  const v1::SetPolicyRequest* request,
                                                  v1::Policy* response) {
  UnaryReactor* reactor = UnaryReactor::Create();
  if (grpc::Status auth = auth_.Check(*context); !auth.ok()) {
    reactor->FinishCall(auth);
    return reactor;
  }
  if (absl::Status started = CheckStarted(*state_); !started.ok()) {
    reactor->FinishCall(ToGrpcStatus(started));
    return reactor;
  }
  absl::StatusOr<v1::Policy> installed =
      state_->policy->Set(request->policy(), request->expected_version(), context->peer());
  if (!installed.ok()) {
    reactor->FinishCall(ToGrpcStatus(installed.status()));
    return reactor;
  }
  state_->observer->OnPolicyChange(installed->version());
  *response = *std::move(installed);
  reactor->FinishCall(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::ListAttentionKernels(
    grpc::CallbackServerContext* context, const v1::ListAttentionKernelsRequest* /*request*/,
    v1::ListAttentionKernelsResponse* response) {
  UnaryReactor* reactor = UnaryReactor::Create();
  if (grpc::Status auth = auth_.Check(*context); !auth.ok()) {
    reactor->FinishCall(auth);
    return reactor;
  }
  FillKernelCatalogue(response);
  reactor->FinishCall(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::ReloadModel(grpc::CallbackServerContext* context,
                                                    const v1::ReloadModelRequest* request,
                                                    v1::ModelInfo* response) {
  UnaryReactor* reactor = UnaryReactor::Create();
  if (grpc::Status auth = auth_.Check(*context); !auth.ok()) {
    reactor->FinishCall(auth);
    return reactor;
  }
  if (absl::Status started = CheckStarted(*state_); !started.ok()) {
    reactor->FinishCall(ToGrpcStatus(started));
    return reactor;
  }
  // Loading takes a fraction of a second; the old model serves meanwhile.
  // The other served models are not touched.
  const absl::StatusOr<ModelManager::Served> loaded =
      state_->models->Reload(request->model(), request->model_dir());
  state_->observer->OnModelReload(loaded.ok());
  if (!loaded.ok()) {
    reactor->FinishCall(ToGrpcStatus(absl::Status(
        loaded.status().code(), absl::StrCat("reload failed, the previous model keeps serving: ",
                                             loaded.status().message()))));
    return reactor;
  }
  ToProto(loaded->engine->model_info(), loaded->generation, response);
  reactor->FinishCall(grpc::Status::OK);
  return reactor;
}

}  // namespace attnserve
