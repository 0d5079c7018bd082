// Whole-file reads with errors that name the file.
#ifndef ATTNSERVE_ENGINE_UTIL_FILE_IO_H_
#define ATTNSERVE_ENGINE_UTIL_FILE_IO_H_

#include <string>

#include "absl/status/statusor.h"

namespace attnserve {

// The contents of `path`; NotFound if it does not exist, another error (with
// the reason) if it cannot be read or is larger than `max_bytes`.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             int64_t max_bytes = int64_t{1} << 32);

// path1/path2, tolerating a trailing slash on path1.
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_UTIL_FILE_IO_H_
