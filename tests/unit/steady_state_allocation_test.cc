// A steady-state request allocates nothing in the engine: after warm-up, an
// identical Engine::EmbedTokenIds call makes exactly the allocations of the
// result it hands back, for f32 and int8 dense layers at 16 and 128 tokens.
// Allocations inside the GEMM library (oneDNN's sgemm packing buffer and
// primitive argument map; OpenBLAS on arm64) are counted apart: the engine
// cannot lend it buffers through its public API. They must stay constant.
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/util/thread_scratch.h"
#include "gtest/gtest.h"
#include "tests/support/counting_malloc.h"
#include "tests/support/test_model.h"

namespace attnserve {
namespace {

// The vectors of EmbedResult a run fills and returns: embeddings,
// stats.texts and stats.tokens_per_layer. The caller owns them, so a fresh
// result always allocates these three.
constexpr int64_t kResultAllocations = 3;

// Address ranges of the GEMM library's loaded segments.
struct Range {
  uintptr_t begin = 0, end = 0;
};
std::vector<Range> g_gemm_library;
std::atomic<int64_t> g_in_gemm_library{0};
thread_local bool t_in_hook = false;

int AddGemmLibrary(dl_phdr_info* info, size_t, void*) {
  const char* name = info->dlpi_name;
  if (name == nullptr ||
      (std::strstr(name, "libdnnl") == nullptr && std::strstr(name, "libopenblas") == nullptr)) {
    return 0;
  }
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& seg = info->dlpi_phdr[i];
    if (seg.p_type != PT_LOAD) continue;
    const uintptr_t begin = info->dlpi_addr + seg.p_vaddr;
    g_gemm_library.push_back({begin, begin + seg.p_memsz});
  }
  return 0;
}

// Before-allocation hook: counts the allocation as the GEMM library's when
// any frame of the call stack lies in it.
void CountIfInGemmLibrary() {
  if (t_in_hook) return;  // backtrace may allocate on its own
  t_in_hook = true;
  void* frames[128];
  const int n = backtrace(frames, 128);
  bool inside = false;
  for (int i = 0; i < n && !inside; ++i) {
    const auto pc = reinterpret_cast<uintptr_t>(frames[i]);
    for (const Range& r : g_gemm_library) inside = inside || (pc >= r.begin && pc < r.end);
  }
  if (inside) g_in_gemm_library.fetch_add(1, std::memory_order_relaxed);
  t_in_hook = false;
}

struct Counts {
  int64_t engine = 0;        // outside the GEMM library
  int64_t gemm_library = 0;  // inside it
};

// Allocations made by one EmbedTokenIds call (its argument is built before).
Counts CountOneRequest(const Engine& engine, const std::vector<std::vector<int32_t>>& ids,
                       const RunOptions& options) {
  std::vector<std::vector<int32_t>> argument = ids;
  testing::SetAllocationHooks({CountIfInGemmLibrary, nullptr});
  const int64_t library_before = g_in_gemm_library.load();
  const int64_t before = testing::AllocationCount();
  absl::StatusOr<EmbedResult> result = engine.EmbedTokenIds(std::move(argument), options);
  const int64_t total = testing::AllocationCount() - before;
  const int64_t library = g_in_gemm_library.load() - library_before;
  testing::SetAllocationHooks({});
  EXPECT_TRUE(result.ok()) << result.status();
  return {total - library, library};
}

struct Case {
  const char* precision;
  int tokens;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.precision << ", " << c.tokens << " tokens";
}

class SteadyStateAllocationTest : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    if (!testing::TestModelPresent() || !testing::CountingMallocActive()) return;
    void* warm[4];
    backtrace(warm, 4);  // loads the unwinder now, not inside a counted call
    dl_iterate_phdr(AddGemmLibrary, nullptr);
    EngineConfig config;
    config.model_dir = testing::TestModelDir();
    auto engine = Engine::Load(config);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = engine->release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  void SetUp() override {
    ATTNSERVE_REQUIRE_TEST_MODEL();
    if (!testing::CountingMallocActive()) {
      GTEST_SKIP() << "allocation counting is compiled out (sanitizer build or not glibc)";
    }
  }

  static RunOptions Options(const char* precision) {
    RunOptions options;
    options.num_threads = 1;
    EXPECT_TRUE(SetLinearPrecision("linear_precision", precision, &options).ok());
    return options;
  }

  // Ids of `tokens` distinct in-vocabulary pieces.
  static std::vector<std::vector<int32_t>> Ids(int tokens) {
    std::vector<int32_t> ids;
    for (int i = 0; i < tokens; ++i) ids.push_back(100 + 7 * i);
    return {ids};
  }

  static Engine* engine_;
};
Engine* SteadyStateAllocationTest::engine_ = nullptr;

TEST_P(SteadyStateAllocationTest, RepeatedRequestAllocatesOnlyItsResult) {
  const Case c = GetParam();
  const RunOptions options = Options(c.precision);
  const auto ids = Ids(c.tokens);
  // Warm-up: weight packs, JIT kernels, the thread's activation buffers.
  for (int i = 0; i < 2; ++i) CountOneRequest(*engine_, ids, options);
  const Counts first = CountOneRequest(*engine_, ids, options);
  for (int i = 0; i < 3; ++i) {
    const Counts again = CountOneRequest(*engine_, ids, options);
    EXPECT_EQ(again.engine, kResultAllocations)
        << c.precision << ", " << c.tokens << " tokens, request " << i + 4
        << ": allocations outside the GEMM library beyond the result's " << kResultAllocations;
    EXPECT_EQ(again.gemm_library, first.gemm_library) << "the GEMM library's allocations grew";
  }
  RecordProperty("engine_allocations", static_cast<int>(first.engine));
  RecordProperty("gemm_library_allocations", static_cast<int>(first.gemm_library));
  std::printf("%s, %d tokens: %lld allocations outside the GEMM library, %lld inside\n",
              c.precision, c.tokens, static_cast<long long>(first.engine),
              static_cast<long long>(first.gemm_library));
}

INSTANTIATE_TEST_SUITE_P(Requests, SteadyStateAllocationTest,
                         ::testing::Values(Case{"f32", 16}, Case{"f32", 128}, Case{"int8", 16},
                                           Case{"int8", 128}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.precision) + "_" +
                                  std::to_string(info.param.tokens) + "_tokens";
                         });

// Buffers sized by the longer request serve the shorter one and back.
TEST_F(SteadyStateAllocationTest, AlternatingLengthsReuseTheSameBuffers) {
  const RunOptions options = Options("f32");
  const auto short_ids = Ids(16), long_ids = Ids(128);
  CountOneRequest(*engine_, long_ids, options);
  CountOneRequest(*engine_, short_ids, options);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(CountOneRequest(*engine_, long_ids, options).engine, kResultAllocations);
    EXPECT_EQ(CountOneRequest(*engine_, short_ids, options).engine, kResultAllocations);
  }
}

// Buffers left over from a longer request change nothing: the embedding is
// bit for bit the one computed on fresh buffers.
TEST_F(SteadyStateAllocationTest, KeptBuffersGiveTheSameEmbedding) {
  for (const char* precision : {"f32", "int8"}) {
    const RunOptions options = Options(precision);
    SetKeepThreadScratch(false);  // every run on fresh buffers
    const absl::StatusOr<EmbedResult> fresh = engine_->EmbedTokenIds(Ids(16), options);
    SetKeepThreadScratch(true);
    ASSERT_TRUE(engine_->EmbedTokenIds(Ids(128), options).ok());
    const absl::StatusOr<EmbedResult> kept = engine_->EmbedTokenIds(Ids(16), options);
    ASSERT_TRUE(fresh.ok() && kept.ok());
    EXPECT_EQ(kept->embeddings, fresh->embeddings) << precision;
  }
}

}  // namespace
}  // namespace attnserve
