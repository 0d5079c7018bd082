// NEON intrinsics for the arm64 s8 GEMM kernels: <arm_neon.h> on arm64;
// elsewhere SIMDe translates the same intrinsics, so x86 tests run these
// kernels' code (s8_gemm.h: never picked for serving there).
#ifndef ATTNSERVE_ENGINE_KERNELS_ARM64_NEON_INTRINSICS_H_
#define ATTNSERVE_ENGINE_KERNELS_ARM64_NEON_INTRINSICS_H_

#if defined(__aarch64__)
#include <arm_neon.h>
#else
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#endif

#endif  // ATTNSERVE_ENGINE_KERNELS_ARM64_NEON_INTRINSICS_H_
