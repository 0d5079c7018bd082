# Cross-compiling for Debian arm64 with crossbuild-essential-arm64.
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DATTNSERVE_ARM64_SYSROOT=<dir> ...
# The sysroot holds the arm64 -dev packages unpacked (scripts/arm64_proof.sh
# makes it); code generators (protoc, grpc_cpp_plugin) are the host's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Try-compiles re-read this file without the cache; pass the sysroot on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ATTNSERVE_ARM64_SYSROOT)
if(NOT ATTNSERVE_ARM64_SYSROOT)
  set(ATTNSERVE_ARM64_SYSROOT "$ENV{ATTNSERVE_ARM64_SYSROOT}")
endif()
if(ATTNSERVE_ARM64_SYSROOT)
  set(CMAKE_SYSROOT "${ATTNSERVE_ARM64_SYSROOT}")
  set(CMAKE_FIND_ROOT_PATH "${ATTNSERVE_ARM64_SYSROOT}")
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${ATTNSERVE_ARM64_SYSROOT}")
  set(ENV{PKG_CONFIG_LIBDIR}
      "${ATTNSERVE_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${ATTNSERVE_ARM64_SYSROOT}/usr/share/pkgconfig")
  # Tests (and gtest_discover_tests at build time) run under qemu-user.
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L "${ATTNSERVE_ARM64_SYSROOT}")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
