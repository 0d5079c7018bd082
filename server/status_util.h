// Where internal errors (absl::Status) meet a wire: the gRPC status, and the
// HTTP status of the same code. One table for both transports.
#ifndef ATTNSERVE_SERVER_STATUS_UTIL_H_
#define ATTNSERVE_SERVER_STATUS_UTIL_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace attnserve {

// Same code (absl and gRPC share the numbering); the message is truncated to
// a few KiB so a huge echoed input cannot bloat the trailer.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The message as either transport sends it (truncated as above).
std::string WireMessage(const absl::Status& status);

// The HTTP status of an error: 400 bad input, 401/403 auth, 404 unknown
// model or head, 413 a request too large to run, 429 a full queue (a
// status carrying a retry hint), 499 cancelled, 503 draining or loading,
// 504 deadline, 500 otherwise.
int HttpStatusOf(const absl::Status& status);

// A refusal worth retrying after `seconds` (a full queue): the HTTP side
// answers 429 with Retry-After.
absl::Status WithRetryAfter(absl::Status status, int seconds);
std::optional<int> RetryAfterOf(const absl::Status& status);

// "INVALID_ARGUMENT", ... for any code number ("UNKNOWN" when out of range).
std::string CodeName(int code);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_STATUS_UTIL_H_
