#include "server/admin_auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"

namespace attnserve {
namespace {

// Compares without an early exit, so timing does not leak the token.
bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % std::max<size_t>(b.size(), 1)];
  return diff == 0 && !b.empty();
}

}  // namespace

absl::StatusOr<AdminAuth> AdminAuth::Create(const std::string& token_file, bool mtls_required) {
  std::string token;
  if (!token_file.empty()) {
    absl::StatusOr<std::string> text = ReadFileToString(token_file, 64 << 10);
    if (!text.ok()) {
      return absl::Status(text.status().code(),
                          absl::StrCat("admin_token_file: ", text.status().message()));
    }
    token = std::string(absl::StripAsciiWhitespace(*text));
    if (token.size() < 16) {
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
