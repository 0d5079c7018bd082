// Protobuf text-format files with errors that name the file, line and column.
#ifndef ATTNSERVE_SERVER_TEXT_PROTO_H_
#define ATTNSERVE_SERVER_TEXT_PROTO_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace attnserve {

absl::Status ParseTextProtoFile(const std::string& path, google::protobuf::Message* message);

// Writes `message` to `path` atomically (temporary file "<path>.tmp.<pid>",
// fsync, rename, fsync of the directory): a reader, or the server after a
// crash or power cut at any point, sees the old file or the new one, whole.
absl::Status WriteTextProtoFileAtomically(const std::string& path,
                                          const google::protobuf::Message& message);

// Removes the temporary files WriteTextProtoFileAtomically left beside `path`
// when its process died mid-write (a pid no longer running). Returns how many.
int RemoveStaleTemporaries(const std::string& path);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_TEXT_PROTO_H_
