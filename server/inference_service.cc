#include "server/inference_service.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/admitted_call.h"
#include "server/classify_call.h"
#include "server/embed_call.h"
#include "server/status_util.h"
#include "server/tokenize_call.h"
#include "server/tsan_handover.h"
#include "server/unary_reactor.h"

namespace attnserve {
namespace {

// Where a gRPC call came from: its method, deadline, cancellation and the
// caller's authorization metadata.
CallSite GrpcSite(const char* rpc, grpc::CallbackServerContext* context) {
  CallSite site;
  site.rpc = rpc;
  site.transport = "grpc";
  site.deadline = DeadlineOf(context->deadline());
  site.is_cancelled = [context] { return context->IsCancelled(); };
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    site.authorization = std::string(it->second.data(), it->second.size());
  }
  return site;
}

}  // namespace

void ToProto(const ModelInfo& info, int64_t generation, v1::ModelInfo* out) {
  out->set_name(info.name);
  out->set_family(info.family);
  out->set_embedding_dim(info.embedding_dim);
  out->set_default_max_tokens(info.default_max_tokens);
  out->set_position_limit(info.position_limit);
  out->set_num_layers(info.num_layers);
  out->set_vocab_size(info.vocab_size);
  out->set_num_parameters(info.num_parameters);
  out->set_weight_bytes(info.weight_bytes);
  out->set_generation(generation);
}

// Embed: one admitted call (server/admitted_call.h: authenticate, refuse
// while draining, validate against the limits and the policy, admit into the
// bounded queue), then in a worker ExecuteEmbed honours the deadline and
// cancellation, tokenizes, runs the engine and fills the response.
grpc::ServerUnaryReactor* InferenceService::Embed(grpc::CallbackServerContext* context,
                                                  const v1::EmbedRequest* request,
                                                  v1::EmbedResponse* response) {
  UnaryReactor* reactor = UnaryReactor::Create();
  RunAdmittedEmbed(
      state_, GrpcSite("Embed", context), InputsOf(*request), response,
      [reactor](const absl::Status& status) { reactor->FinishCall(ToGrpcStatus(status)); });
  return reactor;
}

namespace {

// One response per request message, in order; a message is read only after
// the previous answer was written, so a stream holds one queue slot at most.
// Each Start*/Finish publishes `this` and each callback adopts it, the
// hand-over gRPC makes between its threads (server/tsan_handover.h).
// StartWrite serializes response_ on the worker's thread after that publish,
// so write_mu_ orders the serialization before the next Clear() and the
// delete (gRPC never runs these callbacks inline in StartWrite).
class EmbedStreamReactor final
    : public grpc::ServerBidiReactor<v1::EmbedRequest, v1::EmbedResponse> {
 public:
  EmbedStreamReactor(ServingState* state, grpc::CallbackServerContext* context)
      : state_(state), context_(context) {
    tsan::Publish(this);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    tsan::Adopt(this);
    if (!ok) {  // the client half-closed: every message was answered
      FinishStream(grpc::Status::OK);
      return;
    }
    AfterStartWriteReturned();
    response_.Clear();
    RunAdmittedEmbed(state_, GrpcSite("EmbedStream", context_), InputsOf(request_), &response_,
                     [this](const absl::Status& status) {
                       if (!status.ok()) {
                         FinishStream(ToGrpcStatus(status));  // nothing may touch `this` after
                         return;
                       }
                       tsan::Publish(this);
                       std::lock_guard<std::mutex> lock(write_mu_);
                       StartWrite(&response_);
                     });
  }

  void OnWriteDone(bool ok) override {
    tsan::Adopt(this);
    if (!ok) {
      FinishStream(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    tsan::Publish(this);
    StartRead(&request_);
  }

  void OnDone() override {
    tsan::Adopt(this);
    AfterStartWriteReturned();
    delete this;
  }

 private:
  void AfterStartWriteReturned() { std::lock_guard<std::mutex> lock(write_mu_); }

  void FinishStream(const grpc::Status& status) {
    tsan::Publish(this);
    Finish(status);
  }

  ServingState* const state_;
  grpc::CallbackServerContext* const context_;
  v1::EmbedRequest request_;
  v1::EmbedResponse response_;
  std::mutex write_mu_;  // held across StartWrite (see above)
};

}  // namespace

grpc::ServerBidiReactor<v1::EmbedRequest, v1::EmbedResponse>* InferenceService::EmbedStream(
    grpc::CallbackServerContext* context) {
  return new EmbedStreamReactor(state_, context);
}

// Classify, as Embed, with the head checked before queueing.
grpc::ServerUnaryReactor* InferenceService::Classify(grpc::CallbackServerContext* context,
                                                     const v1::ClassifyRequest* request,
                                                     v1::ClassifyResponse* response) {
  UnaryReactor* reactor = UnaryReactor::Create();
  RunAdmittedCall(
      state_, GrpcSite("Classify", context), InputsOf(*request),
      [request](const PreparedCall& p) { return CheckHead(*p.engine, request->head()); },
      [request, response](const PreparedCall& p, const CallSite& site, RunOutcome* outcome) {
        return ExecuteClassify(p, request->head(), site.deadline, site.is_cancelled, response,
                               outcome);
      },
      [reactor](const absl::Status& status) { reactor->FinishCall(ToGrpcStatus(status)); });
  return reactor;
}

// Tokenizing takes microseconds per text: answered inline, within the limits.
grpc::ServerUnaryReactor* InferenceService::Tokenize(grpc::CallbackServerContext* context,
                                                     const v1::TokenizeRequest* request,
                                                     v1::TokenizeResponse* response) {
  UnaryReactor* reactor = UnaryReactor::Create();
  const CallSite site = GrpcSite("Tokenize", context);
  absl::Status status = CheckCallable(*state_, site);
  if (status.ok()) status = RunTokenize(*state_, *request, response);
  reactor->FinishCall(ToGrpcStatus(RecordCall(*state_, site, status)));
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::ListModels(grpc::CallbackServerContext* context,
                                                       const v1::ListModelsRequest* /*request*/,
                                                       v1::ListModelsResponse* response) {
  UnaryReactor* reactor = UnaryReactor::Create();
  absl::Status status = CheckCallable(*state_, GrpcSite("ListModels", context));
  if (status.ok() || status.code() == absl::StatusCode::kUnavailable) {
    status = absl::OkStatus();  // an empty list while loading or draining
    for (const ModelManager::Served& m : state_->models->All()) {
      ToProto(m.engine->model_info(), m.generation, response->add_models());
    }
  }
  reactor->FinishCall(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::GetModelInfo(grpc::CallbackServerContext* context,
                                                         const v1::GetModelInfoRequest* request,
                                                         v1::ModelInfo* response) {
  UnaryReactor* reactor = UnaryReactor::Create();
  absl::Status status = CheckCallable(*state_, GrpcSite("GetModelInfo", context));
  if (status.ok() || status.code() == absl::StatusCode::kUnavailable) {
    absl::StatusOr<std::shared_ptr<const Engine>> engine = EngineFor(*state_, request->model());
    status = engine.status();
    if (engine.ok()) {
      ToProto((*engine)->model_info(), state_->models->GenerationOf(engine->get()), response);
    }
  }
  reactor->FinishCall(ToGrpcStatus(status));
  return reactor;
}

}  // namespace attnserve
