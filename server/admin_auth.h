// Who may call the Admin service: a client with a verified certificate (when
// the server requires mTLS) or one presenting the bearer token from the
// token file. With neither configured, every admin call is refused.
#ifndef ATTNSERVE_SERVER_ADMIN_AUTH_H_
#define ATTNSERVE_SERVER_ADMIN_AUTH_H_

#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace attnserve {

class AdminAuth {
 public:
  // Reads the token from `token_file` ("" = no token). A token file that is
  // missing, unreadable or empty is an error: refusing to start beats
  // silently running without admin auth.
  static absl::StatusOr<AdminAuth> Create(const std::string& token_file, bool mtls_required);

  // OK, or UNAUTHENTICATED (no credentials) / PERMISSION_DENIED (wrong token).
  grpc::Status Check(const grpc::ServerContextBase& context) const;

  // "mtls", "token" or "mtls+token", for logs; "disabled" when nothing can pass.
  std::string Describe() const;

 private:
  AdminAuth(std::string token, bool mtls) : token_(std::move(token)), mtls_(mtls) {}
  std::string token_;
  bool mtls_ = false;
};

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_ADMIN_AUTH_H_
