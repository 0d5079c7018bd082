// absl::Status -> grpc::Status, the one place internal errors meet the wire.
#ifndef ATTNSERVE_SERVER_STATUS_UTIL_H_
#define ATTNSERVE_SERVER_STATUS_UTIL_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace attnserve {

// Same code (absl and gRPC share the numbering); the message is truncated to
// a few KiB so a huge echoed input cannot bloat the trailer.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_STATUS_UTIL_H_
