// Bearer tokens: reading them from a file, and checking an Authorization
// value against them without leaking timing. Shared by the admin token and
// the API keys of the inference routes (gRPC and HTTP).
#ifndef ATTNSERVE_SERVER_BEARER_TOKEN_H_
#define ATTNSERVE_SERVER_BEARER_TOKEN_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnserve {

// Shortest token or key accepted.
inline constexpr size_t kMinTokenChars = 16;

// Compares without an early exit, so timing does not leak the token.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// The tokens in `file`, one per line; blank lines and lines starting with
// '#' are skipped. An unreadable file, one with no token, or a token shorter
// than kMinTokenChars is an error naming `field` and the line.
absl::StatusOr<std::vector<std::string>> ReadTokenFile(absl::string_view field,
                                                       const std::string& file);

// OK when `authorization` is "Bearer <t>" for one of `tokens` (each compared
// in constant time); Unauthenticated when absent, PermissionDenied when wrong.
absl::Status CheckBearer(const std::optional<absl::string_view>& authorization,
                         const std::vector<std::string>& tokens, absl::string_view what);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_BEARER_TOKEN_H_
