// What this binary is: the CMake project version and the build's facts, for
// `--version` and the attnserve_build_info metric.
#ifndef ATTNSERVE_ENGINE_UTIL_BUILD_INFO_H_
#define ATTNSERVE_ENGINE_UTIL_BUILD_INFO_H_

#include <string>
#include <string_view>

namespace attnserve {

struct BuildInfo {
  std::string_view version;       // CMake's PROJECT_VERSION, e.g. "0.1.0"
  std::string_view build_type;    // CMAKE_BUILD_TYPE ("" when none was set)
  std::string_view compiler;      // e.g. "GCC 12.2.0"
  std::string_view arch;          // "x86_64", "aarch64", ...
  std::string_view gemm_backend;  // GemmBackendName()
};

const BuildInfo& GetBuildInfo();

// "attnserve 0.1.0 (x86_64, GCC 12.2.0, Release, gemm onednn)".
std::string VersionLine(std::string_view program);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_UTIL_BUILD_INFO_H_
