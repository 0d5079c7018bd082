// One source per fuzz target, built two ways (tests/fuzz/CMakeLists.txt):
//  - ATTNSERVE_FUZZ=ON (clang): a libFuzzer binary per target, whose
//    LLVMFuzzerTestOneInput is the body below;
//  - the normal test build: every target linked into fuzz_corpus_test, which
//    replays tests/fuzz/corpus/<target>/* (seeds and inputs that once crashed)
//    under the ordinary compiler and sanitizers, as regression tests.
//
// A target body returns 0; it aborts (ATTNSERVE_FUZZ_CHECK) when a property
// fails, so libFuzzer records the input as a crash.
#ifndef ATTNSERVE_TESTS_FUZZ_FUZZ_TARGET_H_
#define ATTNSERVE_TESTS_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

namespace attnserve::fuzz {

using FuzzFunction = int (*)(const uint8_t* data, size_t size);

// Replay mode only: records a target for fuzz_corpus_test.
bool RegisterTarget(const char* name, FuzzFunction function);

// A target that cannot run here (e.g. the real model is absent) says so once;
// the replay test reports it as skipped (failed when ATTNSERVE_REQUIRE_MODEL=1).
void MarkUnavailable(const std::string& reason);
const std::string& UnavailableReason();

// A scratch directory of this process, created on first use.
const std::string& ScratchDir();

// Writes `bytes` to `path` (aborts when it cannot: the fuzzer is unusable).
void WriteFileOrDie(const std::string& path, std::string_view bytes);

// The real model directory ($ATTNSERVE_MODEL_DIR or models/use-lite), or ""
// when its model.json is absent.
std::string ModelDirIfPresent();

// Runs `work` on one long-lived thread that blocks every asynchronous signal,
// and waits for it. Targets that call oneDNN use it: oneDNN 2.6's f32 GEMM
// kernel points rsp at the low end of a heap workspace while it runs, so a
// signal handler that runs there (libFuzzer's SIGALRM timeout check) writes its
// frame below the workspace, over other heap memory (docs/RELIABILITY.md, "The
// fuzz timeout and oneDNN"). The alarm then lands on the waiting thread, whose
// stack is a real stack, and the per-input timeout still catches a hang.
void RunOnSignalFreeThread(const std::function<void()>& work);

inline std::string_view AsStringView(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace attnserve::fuzz

#define ATTNSERVE_FUZZ_CHECK(cond)                                                          \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

#if defined(ATTNSERVE_FUZZ_REPLAY)
#define ATTNSERVE_FUZZ_TARGET(name)                              \
  static int FuzzOne_##name(const uint8_t* data, size_t size);   \
  [[maybe_unused]] static const bool registered_##name =         \
      ::attnserve::fuzz::RegisterTarget(#name, &FuzzOne_##name); \
  static int FuzzOne_##name(const uint8_t* data, size_t size)
#else
#define ATTNSERVE_FUZZ_TARGET(name) \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#endif

#endif  // ATTNSERVE_TESTS_FUZZ_FUZZ_TARGET_H_
