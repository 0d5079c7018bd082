#include "engine/util/file_io.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace attnserve {

absl::StatusOr<std::string> ReadFileToString(const std::string& path, int64_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": not a regular file"));
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(path, ": ", ec.message()));
  }
  if (static_cast<int64_t>(size) > max_bytes) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": ", size, " bytes, larger than the limit of ", max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  if (size == 0) {
    // Kernel files (/proc, /sys) report size 0: read until EOF, within the limit.
    std::string data;
    char buf[4096];
    while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
      data.append(buf, static_cast<size_t>(in.gcount()));
      if (static_cast<int64_t>(data.size()) > max_bytes) {
        return absl::FailedPreconditionError(
            absl::StrCat(path, ": larger than the limit of ", max_bytes, " bytes"));
      }
    }
    return data;
  }
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) {
    return absl::DataLossError(
        absl::StrCat(path, ": short read (", in.gcount(), " of ", size, " bytes)"));
  }
  return data;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

}  // namespace attnserve
