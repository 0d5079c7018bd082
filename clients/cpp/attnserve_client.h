// C++ client library of attnserve: one object per server, blocking calls with
// a per-call timeout, results as absl::StatusOr (gRPC codes map 1:1).
#ifndef ATTNSERVE_CLIENTS_CPP_ATTNSERVE_CLIENT_H_
#define ATTNSERVE_CLIENTS_CPP_ATTNSERVE_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attnserve/v1/admin.grpc.pb.h"
#include "attnserve/v1/inference.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/channel.h"

namespace attnserve {

struct ClientOptions {
  std::string address = "127.0.0.1:50051";
  // Admin bearer token (read from --admin_token_file by attnctl).
  std::string admin_token;
  // API key for inference calls, when the server has --api_key_file.
  std::string api_key;
  // TLS: the server's CA enables TLS; a client cert/key pair enables mTLS.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  absl::Duration timeout = absl::Seconds(60);
};

class AttnClient {
 public:
  static absl::StatusOr<std::unique_ptr<AttnClient>> Connect(const ClientOptions& options);

  absl::StatusOr<v1::EmbedResponse> Embed(const v1::EmbedRequest& request) const;
  absl::StatusOr<v1::TokenizeResponse> Tokenize(const v1::TokenizeRequest& request) const;
  absl::StatusOr<v1::ClassifyResponse> Classify(const v1::ClassifyRequest& request) const;
  absl::StatusOr<v1::ListModelsResponse> ListModels() const;
  // The health status of `service` ("" = the whole server).
  absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> Health(
      const std::string& service = "") const;

  absl::StatusOr<v1::Policy> GetPolicy() const;
  absl::StatusOr<v1::Policy> SetPolicy(const v1::SetPolicyRequest& request) const;
  absl::StatusOr<v1::ListAttentionKernelsResponse> ListAttentionKernels() const;
  absl::StatusOr<v1::ModelInfo> ReloadModel(const v1::ReloadModelRequest& request) const;

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  AttnClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel);
  void Prepare(grpc::ClientContext* context, bool admin) const;

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Inference::Stub> inference_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// gRPC status -> absl::Status (same code and message).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace attnserve

#endif  // ATTNSERVE_CLIENTS_CPP_ATTNSERVE_CLIENT_H_
