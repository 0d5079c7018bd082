#include "server/inference_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/classify_call.h"
#include "server/embed_call.h"
#include "server/status_util.h"

namespace attnserve {
namespace {

grpc::Status Refusal(const ServingState& state) {
  if (state.draining.load()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is draining; retry elsewhere");
  }
  if (state.models->Current() == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the model is still loading");
  }
  return grpc::Status::OK;
}

std::string ModelName(const ServingState& state) {
  auto engine = state.models->Current();
  return engine != nullptr ? engine->model_info().name : "";
}

// Reports a request that ended without running the engine.
grpc::Status Record(const ServingState& state, const std::string& rpc, absl::Time start,
                    const grpc::Status& status) {
  RequestRecord record{
      rpc, ModelName(state), "", status.error_code(), absl::ToDoubleSeconds(absl::Now() - start),
      0,   nullptr};
  state.observer->OnRequest(record);
  return status;
}

// The answer to a request admission refused; counts the rejection.
grpc::Status Refused(const ServingState& state, const std::string& rpc,
                     AdmissionQueue::Admit admit) {
  const bool full = admit == AdmissionQueue::Admit::kQueueFull;
  state.observer->OnRejected(rpc, full ? "queue_full" : "shutting_down");
  if (!full) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
  return grpc::Status(
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      absl::StrCat("the request queue is full (", state.queue->workers(), " running, ",
                   state.queue->capacity(), " waiting); retry with backoff"));
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

// Embed, top to bottom: refuse while draining, validate against the limits
// and the policy, admit into the bounded queue (RESOURCE_EXHAUSTED when full),
// then in a worker honour the deadline and cancellation, tokenize, run the
// engine, answer, and report the request to telemetry.
grpc::ServerUnaryReactor* InferenceService::Embed(grpc::CallbackServerContext* context,
                                                  const v1::EmbedRequest* request,
                                                  v1::EmbedResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  if (grpc::Status refused = Refusal(*state_); !refused.ok()) {
    reactor->Finish(Record(*state_, "Embed", start, refused));
    return reactor;
  }
  absl::StatusOr<PreparedEmbed> prepared = PrepareEmbed(
      *state_, request->model(), request->texts(), request->options(), request->return_token_ids());
  if (!prepared.ok()) {
    reactor->Finish(Record(*state_, "Embed", start, ToGrpcStatus(prepared.status())));
    return reactor;
  }
  ServingState* state = state_;
  const AdmissionQueue::Admit admit =
      state_->queue->TrySubmit([state, context, request, response, reactor, start,
                                p = *std::move(prepared)](const AdmissionQueue::Release& release) {
        RunStats stats;
        double energy = -1;
        const absl::Status status = ExecuteEmbed(
            p, request->texts(), DeadlineOf(context->deadline()),
            [context] { return context->IsCancelled(); }, response, &stats, &energy);
        const grpc::Status reply = ToGrpcStatus(status);
        RequestRecord record{"Embed",
                             p.engine->model_info().name,
                             p.options.attention,
                             reply.error_code(),
                             absl::ToDoubleSeconds(absl::Now() - start),
                             response->stats().queue_seconds(),
                             status.ok() ? &stats : nullptr,
                             energy};
        state->observer->OnRequest(record);
        release();
        reactor->Finish(reply);
      });
  if (admit != AdmissionQueue::Admit::kAccepted) {
    reactor->Finish(Record(*state_, "Embed", start, Refused(*state_, "Embed", admit)));
  }
  return reactor;
}

namespace {

// One response per request message, in order; a message is read only after
// the previous answer was written, so a stream holds one queue slot at most.
class EmbedStreamReactor final
    : public grpc::ServerBidiReactor<v1::EmbedRequest, v1::EmbedResponse> {
 public:
  EmbedStreamReactor(ServingState* state, grpc::CallbackServerContext* context)
      : state_(state), context_(context) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed: every message was answered
      Finish(grpc::Status::OK);
      return;
    }
    const absl::Time start = absl::Now();
    if (grpc::Status refused = Refusal(*state_); !refused.ok()) {
      Finish(Record(*state_, "EmbedStream", start, refused));
      return;
    }
    absl::StatusOr<PreparedEmbed> prepared =
        PrepareEmbed(*state_, request_.model(), request_.texts(), request_.options(),
                     request_.return_token_ids());
    if (!prepared.ok()) {
      Finish(Record(*state_, "EmbedStream", start, ToGrpcStatus(prepared.status())));
      return;
    }
    response_.Clear();
    const AdmissionQueue::Admit admit = state_->queue->TrySubmit(
        [this, start, p = *std::move(prepared)](const AdmissionQueue::Release& release) {
          RunStats stats;
          double energy = -1;
          const absl::Status status = ExecuteEmbed(
              p, request_.texts(), DeadlineOf(context_->deadline()),
              [this] { return context_->IsCancelled(); }, &response_, &stats, &energy);
          const grpc::Status reply = ToGrpcStatus(status);
          RequestRecord record{"EmbedStream",
                               p.engine->model_info().name,
                               p.options.attention,
                               reply.error_code(),
                               absl::ToDoubleSeconds(absl::Now() - start),
                               response_.stats().queue_seconds(),
                               status.ok() ? &stats : nullptr,
                               energy};
          state_->observer->OnRequest(record);
          release();
          if (!reply.ok()) {
            Finish(reply);  // nothing may touch `this` after Finish
            return;
          }
          StartWrite(&response_);
        });
    if (admit != AdmissionQueue::Admit::kAccepted) {
      Finish(Record(*state_, "EmbedStream", start, Refused(*state_, "EmbedStream", admit)));
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  ServingState* const state_;
  grpc::CallbackServerContext* const context_;
  v1::EmbedRequest request_;
  v1::EmbedResponse response_;
};

}  // namespace

grpc::ServerBidiReactor<v1::EmbedRequest, v1::EmbedResponse>* InferenceService::EmbedStream(
    grpc::CallbackServerContext* context) {
  return new EmbedStreamReactor(state_, context);
}

// Classify, as Embed: refuse while draining, validate (limits, policy, the
// head), admit into the queue, then classify in a worker.
grpc::ServerUnaryReactor* InferenceService::Classify(grpc::CallbackServerContext* context,
                                                     const v1::ClassifyRequest* request,
                                                     v1::ClassifyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  if (grpc::Status refused = Refusal(*state_); !refused.ok()) {
    reactor->Finish(Record(*state_, "Classify", start, refused));
    return reactor;
  }
  absl::StatusOr<PreparedEmbed> prepared =
      PrepareEmbed(*state_, request->model(), request->texts(), request->options(), false);
  absl::Status checked =
      prepared.ok() ? CheckHead(*prepared->engine, request->head()) : prepared.status();
  if (!checked.ok()) {
    reactor->Finish(Record(*state_, "Classify", start, ToGrpcStatus(checked)));
    return reactor;
  }
  ServingState* state = state_;
  const AdmissionQueue::Admit admit =
      state_->queue->TrySubmit([state, context, request, response, reactor, start,
                                p = *std::move(prepared)](const AdmissionQueue::Release& release) {
        RunStats stats;
        double energy = -1;
        const absl::Status status = ExecuteClassify(
            p, request->texts(), request->head(), DeadlineOf(context->deadline()),
            [context] { return context->IsCancelled(); }, response, &stats, &energy);
        const grpc::Status reply = ToGrpcStatus(status);
        RequestRecord record{"Classify",
                             p.engine->model_info().name,
                             p.options.attention,
                             reply.error_code(),
                             absl::ToDoubleSeconds(absl::Now() - start),
                             response->stats().queue_seconds(),
                             status.ok() ? &stats : nullptr,
                             energy};
        state->observer->OnRequest(record);
        release();
        reactor->Finish(reply);
      });
  if (admit != AdmissionQueue::Admit::kAccepted) {
    reactor->Finish(Record(*state_, "Classify", start, Refused(*state_, "Classify", admit)));
  }
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::Tokenize(grpc::CallbackServerContext* context,
                                                     const v1::TokenizeRequest* request,
                                                     v1::TokenizeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  if (grpc::Status refused = Refusal(*state_); !refused.ok()) {
    reactor->Finish(Record(*state_, "Tokenize", start, refused));
    return reactor;
  }
  // Tokenizing takes microseconds per text: answered inline, within the limits.
  const v1::ExecutionOptions no_options;
  absl::StatusOr<PreparedEmbed> prepared =
      PrepareEmbed(*state_, request->model(), request->texts(), no_options, true);
  if (!prepared.ok()) {
    reactor->Finish(Record(*state_, "Tokenize", start, ToGrpcStatus(prepared.status())));
    return reactor;
  }
  for (int i = 0; i < request->texts_size(); ++i) {
    absl::StatusOr<std::vector<int32_t>> ids = prepared->engine->Tokenize(request->texts(i));
    if (!ids.ok()) {
      reactor->Finish(Record(
          *state_, "Tokenize", start,
          ToGrpcStatus(absl::Status(ids.status().code(),
                                    absl::StrCat("texts[", i, "]: ", ids.status().message())))));
      return reactor;
    }
    v1::TokenIds* out = response->add_tokens();
    out->mutable_ids()->Add(ids->begin(), ids->end());
    for (int32_t id : *ids) out->add_pieces(std::string(prepared->engine->Piece(id)));
  }
  reactor->Finish(Record(*state_, "Tokenize", start, grpc::Status::OK));
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::ListModels(grpc::CallbackServerContext* context,
                                                       const v1::ListModelsRequest* /*request*/,
                                                       v1::ListModelsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (auto engine = state_->models->Current(); engine != nullptr) {
    ToProto(engine->model_info(), state_->models->generation(), response->add_models());
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::GetModelInfo(grpc::CallbackServerContext* context,
                                                         const v1::GetModelInfoRequest* request,
                                                         v1::ModelInfo* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto engine = state_->models->Current();
  if (engine == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the model is still loading"));
  } else if (!request->model().empty() && request->model() != engine->model_info().name) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::NOT_FOUND, "model: '" + request->model() +
                                                      "' is not served; this server serves '" +
                                                      engine->model_info().name + "'"));
  } else {
    ToProto(engine->model_info(), state_->models->generation(), response);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

}  // namespace attnserve
