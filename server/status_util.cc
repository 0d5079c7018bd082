#include "server/status_util.h"

#include <string>

#include "absl/strings/numbers.h"

namespace attnserve {

namespace {
constexpr size_t kMaxMessageBytes = 4096;
constexpr char kRetryAfterPayload[] = "attnserve.dev/retry-after-seconds";
}  // namespace

std::string WireMessage(const absl::Status& status) {
  std::string message(status.message());
  if (message.size() > kMaxMessageBytes) {
    message.resize(kMaxMessageBytes);
    // Do not leave half a UTF-8 sequence at the cut.
    while (!message.empty() && (static_cast<unsigned char>(message.back()) & 0xC0) == 0x80) {
      message.pop_back();
    }
    if (!message.empty() && (static_cast<unsigned char>(message.back()) & 0x80)) message.pop_back();
    message += "... (truncated)";
  }
  return message;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), WireMessage(status));
}

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      // A full queue passes; a request over the memory bound never will.
      return RetryAfterOf(status).has_value() ? 429 : 413;
    case absl::StatusCode::kCancelled:
      return 499;  // the client closed the request (nginx's convention)
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

absl::Status WithRetryAfter(absl::Status status, int seconds) {
  status.SetPayload(kRetryAfterPayload, absl::Cord(std::to_string(seconds)));
  return status;
}

std::optional<int> RetryAfterOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kRetryAfterPayload);
  int seconds = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &seconds)) return std::nullopt;
  return seconds;
}

std::string CodeName(int code) {
  const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN" : name;
}

}  // namespace attnserve
