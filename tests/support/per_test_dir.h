// A scratch directory path of its own for the running test, so tests of one
// binary, and binaries run in parallel by ctest, never share files.
#ifndef ATTNSERVE_TESTS_SUPPORT_PER_TEST_DIR_H_
#define ATTNSERVE_TESTS_SUPPORT_PER_TEST_DIR_H_

#include <unistd.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace attnserve::testing {

// <temp dir>/<prefix><pid>_<test name>; the caller creates and removes it.
inline std::filesystem::path PerTestDir(const std::string& prefix) {
  return std::filesystem::temp_directory_path() /
         (prefix + std::to_string(::getpid()) + "_" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_SUPPORT_PER_TEST_DIR_H_
