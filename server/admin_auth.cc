#include "server/admin_auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"
#include "server/bearer_token.h"

namespace attnserve {
absl::StatusOr<AdminAuth> AdminAuth::Create(const std::string& token_file, bool mtls_required) {
  std::string token;
  if (!token_file.empty()) {
    absl::StatusOr<std::string> text = ReadFileToString(token_file, 64 << 10);
    if (!text.ok()) {
      return absl::Status(text.status().code(),
                          absl::StrCat("admin_token_file: ", text.status().message()));
    }
    token = std::string(absl::StripAsciiWhitespace(*text));
    if (token.size() < kMinTokenChars) {
      return absl::InvalidArgumentError(absl::StrCat(
          "admin_token_file: ", token_file, ": the token must have at least 16 characters"));
    }
  }
  return AdminAuth(std::move(token), mtls_required);
}

grpc::Status AdminAuth::Check(const grpc::ServerContextBase& context) const {
  // With mTLS required, the TLS handshake already verified the certificate.
  if (mtls_ && context.auth_context() != nullptr && context.auth_context()->IsPeerAuthenticated()) {
    return grpc::Status::OK;
  }
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        token_.empty() && !mtls_
                            ? "the admin API is disabled: start the server with "
                              "--admin_token_file or a client CA (mTLS)"
                            : "admin calls need 'authorization: Bearer <token>' or a client "
                              "certificate");
  }
  const std::string value(it->second.data(), it->second.size());
  const std::string prefix = "Bearer ";
  if (token_.empty() || value.rfind(prefix, 0) != 0 ||
      !ConstantTimeEquals(value.substr(prefix.size()), token_)) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "admin token rejected");
  }
  return grpc::Status::OK;
}

std::string AdminAuth::Describe() const {
  if (mtls_ && !token_.empty()) return "mtls+token";
  if (mtls_) return "mtls";
  if (!token_.empty()) return "token";
  return "disabled";
}

}  // namespace attnserve
