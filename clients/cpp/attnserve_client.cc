#include "clients/cpp/attnserve_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/util/file_io.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace attnserve {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::StatusOr<std::unique_ptr<AttnClient>> AttnClient::Connect(const ClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> ca = ReadFileToString(options.ca_file, 1 << 20);
    if (!ca.ok())
      return absl::InvalidArgumentError(absl::StrCat("--ca_file: ", ca.status().message()));
    ssl.pem_root_certs = *ca;
    if (!options.cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadFileToString(options.cert_file, 1 << 20);
      absl::StatusOr<std::string> key = ReadFileToString(options.key_file, 1 << 20);
      if (!cert.ok() || !key.ok()) {
        return absl::InvalidArgumentError(
            "--cert_file/--key_file: cannot read the client key pair");
      }
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(options.address, credentials, args);
  return std::unique_ptr<AttnClient>(new AttnClient(options, std::move(channel)));
}

AttnClient::AttnClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      inference_(v1::Inference::NewStub(channel_)),
      admin_(v1::Admin::NewStub(channel_)),
      health_(grpc::health::v1::Health::NewStub(channel_)) {}

void AttnClient::Prepare(grpc::ClientContext* context, bool admin) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  const std::string& token = admin ? options_.admin_token : options_.api_key;
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
}

// One blocking unary call: context, deadline, auth, status mapping.
#define ATTN_UNARY(stub, method, admin, request, Response)          \
  grpc::ClientContext context;                                      \
  Prepare(&context, admin);                                         \
  Response response;                                                \
  grpc::Status status = stub->method(&context, request, &response); \
  if (!status.ok()) return FromGrpcStatus(status);                  \
  return response

absl::StatusOr<v1::EmbedResponse> AttnClient::Embed(const v1::EmbedRequest& request) const {
  ATTN_UNARY(inference_, Embed, false, request, v1::EmbedResponse);
}

absl::StatusOr<v1::TokenizeResponse> AttnClient::Tokenize(
    const v1::TokenizeRequest& request) const {
  ATTN_UNARY(inference_, Tokenize, false, request, v1::TokenizeResponse);
}

absl::StatusOr<v1::ClassifyResponse> AttnClient::Classify(
    const v1::ClassifyRequest& request) const {
  ATTN_UNARY(inference_, Classify, false, request, v1::ClassifyResponse);
}

absl::StatusOr<v1::ListModelsResponse> AttnClient::ListModels() const {
  ATTN_UNARY(inference_, ListModels, false, v1::ListModelsRequest(), v1::ListModelsResponse);
}

absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> AttnClient::Health(
    const std::string& service) const {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::ClientContext context;
  Prepare(&context, false);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health_->Check(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response.status();
}

absl::StatusOr<v1::Policy> AttnClient::GetPolicy() const {
  ATTN_UNARY(admin_, GetPolicy, true, v1::GetPolicyRequest(), v1::Policy);
}

absl::StatusOr<v1::Policy> AttnClient::SetPolicy(const v1::SetPolicyRequest& request) const {
  ATTN_UNARY(admin_, SetPolicy, true, request, v1::Policy);
}

absl::StatusOr<v1::ListAttentionKernelsResponse> AttnClient::ListAttentionKernels() const {
  ATTN_UNARY(admin_, ListAttentionKernels, true, v1::ListAttentionKernelsRequest(),
             v1::ListAttentionKernelsResponse);
}

absl::StatusOr<v1::ModelInfo> AttnClient::ReloadModel(const v1::ReloadModelRequest& request) const {
  ATTN_UNARY(admin_, ReloadModel, true, request, v1::ModelInfo);
}

#undef ATTN_UNARY

}  // namespace attnserve
