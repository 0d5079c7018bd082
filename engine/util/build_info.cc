#include "engine/util/build_info.h"

#include "absl/strings/str_cat.h"
#include "engine/kernels/gemm.h"

namespace attnserve {
namespace {

// Set for this file only (engine/CMakeLists.txt), so a version bump rebuilds
// one object.
#ifndef ATTNSERVE_VERSION
#error "ATTNSERVE_VERSION must come from CMake's project version"
#endif
#ifndef ATTNSERVE_BUILD_TYPE
#define ATTNSERVE_BUILD_TYPE ""
#endif

#define ATTNSERVE_STR2(x) #x
#define ATTNSERVE_STR(x) ATTNSERVE_STR2(x)

constexpr std::string_view kCompiler =
#if defined(__clang__)
    "Clang " ATTNSERVE_STR(__clang_major__) "." ATTNSERVE_STR(__clang_minor__) "." ATTNSERVE_STR(
        __clang_patchlevel__);
#elif defined(__GNUC__)
    "GCC " ATTNSERVE_STR(__GNUC__) "." ATTNSERVE_STR(__GNUC_MINOR__) "." ATTNSERVE_STR(
        __GNUC_PATCHLEVEL__);
#else
    "unknown";
#endif

constexpr std::string_view kArch =
#if defined(__x86_64__)
    "x86_64";
#elif defined(__aarch64__)
    "aarch64";
#else
    "other";
#endif

}  // namespace

const BuildInfo& GetBuildInfo() {
  static const BuildInfo info{ATTNSERVE_VERSION, ATTNSERVE_BUILD_TYPE, kCompiler, kArch,
                              GemmBackendName()};
  return info;
}

std::string VersionLine(std::string_view program) {
  const BuildInfo& b = GetBuildInfo();
  auto sv = [](std::string_view s) { return absl::string_view(s.data(), s.size()); };
  return absl::StrCat(sv(program), " ", sv(b.version), " (", sv(b.arch), ", ", sv(b.compiler), ", ",
                      b.build_type.empty() ? "no build type" : sv(b.build_type), ", gemm ",
                      sv(b.gemm_backend), ")");
}

}  // namespace attnserve
