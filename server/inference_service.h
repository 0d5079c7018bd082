// The Inference gRPC service (callback API): thin handlers that validate,
// admit into the bounded queue, and run the engine in a worker.
#ifndef ATTNSERVE_SERVER_INFERENCE_SERVICE_H_
#define ATTNSERVE_SERVER_INFERENCE_SERVICE_H_

#include "attnserve/v1/inference.grpc.pb.h"
#include "server/serving_state.h"

namespace attnserve {

class InferenceService final : public v1::Inference::CallbackService {
 public:
  explicit InferenceService(ServingState* state) : state_(state) {}

  grpc::ServerUnaryReactor* Embed(grpc::CallbackServerContext* context,
                                  const v1::EmbedRequest* request,
                                  v1::EmbedResponse* response) override;
  grpc::ServerBidiReactor<v1::EmbedRequest, v1::EmbedResponse>* EmbedStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* context,
                                     const v1::ClassifyRequest* request,
                                     v1::ClassifyResponse* response) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context,
                                       const v1::ListModelsRequest* request,
                                       v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;

 private:
  ServingState* const state_;
};

// The served model's info in wire form.
void ToProto(const ModelInfo& info, int64_t generation, v1::ModelInfo* out);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_INFERENCE_SERVICE_H_
