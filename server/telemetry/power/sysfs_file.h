// Small-file reads for sysfs and procfs, with errors that name the file.
#ifndef ATTNSERVE_SERVER_TELEMETRY_POWER_SYSFS_FILE_H_
#define ATTNSERVE_SERVER_TELEMETRY_POWER_SYSFS_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::power {

// The whole file (sysfs files are small; at most 1 MiB is read).
absl::StatusOr<std::string> ReadSmallFile(const std::string& path);

// The file's content as one unsigned decimal integer (whitespace allowed).
absl::StatusOr<uint64_t> ReadUint64File(const std::string& path);

// The file's first line without surrounding whitespace ("" when unreadable),
// for optional labels and names.
std::string ReadLabel(const std::string& path);

// Names in `dir` (no "." or ".."), sorted; error when `dir` cannot be listed.
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir);

bool FileExists(const std::string& path);

std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace attnserve::power

#endif  // ATTNSERVE_SERVER_TELEMETRY_POWER_SYSFS_FILE_H_
