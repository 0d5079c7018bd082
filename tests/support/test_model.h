// Where tests find the real model, and what they do when it is absent: skip
// locally, fail when ATTNSERVE_REQUIRE_MODEL=1 (CI sets it after the set-up
// fetched the model, so a missing model can never pass silently there).
#ifndef ATTNSERVE_TESTS_SUPPORT_TEST_MODEL_H_
#define ATTNSERVE_TESTS_SUPPORT_TEST_MODEL_H_

#include <cstdlib>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace attnserve::testing {

inline std::string TestModelDir() {
  const char* env = std::getenv("ATTNSERVE_MODEL_DIR");
  return env != nullptr && *env != '\0' ? env : "models/use-lite";
}

inline bool ModelRequired() {
  const char* env = std::getenv("ATTNSERVE_REQUIRE_MODEL");
  return env != nullptr && std::string(env) == "1";
}

inline bool TestModelPresent() { return std::filesystem::exists(TestModelDir() + "/model.json"); }

}  // namespace attnserve::testing

// Use at the top of a test that needs the real model.
#define ATTNSERVE_REQUIRE_TEST_MODEL()                                               \
  do {                                                                               \
    if (!::attnserve::testing::TestModelPresent()) {                                 \
      if (::attnserve::testing::ModelRequired()) {                                   \
        FAIL() << "model not found in " << ::attnserve::testing::TestModelDir()      \
               << " (run tools/fetch_model.sh)";                                     \
      }                                                                              \
      GTEST_SKIP() << "model not found in " << ::attnserve::testing::TestModelDir(); \
    }                                                                                \
  } while (0)

#endif  // ATTNSERVE_TESTS_SUPPORT_TEST_MODEL_H_
