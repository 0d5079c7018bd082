// Protobuf text-format files with errors that name the file, line and column.
#ifndef ATTNSERVE_SERVER_TEXT_PROTO_H_
#define ATTNSERVE_SERVER_TEXT_PROTO_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace attnserve {

absl::Status ParseTextProtoFile(const std::string& path, google::protobuf::Message* message);

// Writes `message` to `path` atomically (temporary file, fsync, rename).
absl::Status WriteTextProtoFileAtomically(const std::string& path,
                                          const google::protobuf::Message& message);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_TEXT_PROTO_H_
