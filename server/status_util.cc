#include "server/status_util.h"

#include <string>

namespace attnserve {

namespace {
constexpr size_t kMaxMessageBytes = 4096;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
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
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

}  // namespace attnserve
