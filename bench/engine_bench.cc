// End-to-end embedding latency of the engine on real text (bench/data/
// inputs.json), at 1 and 2 threads, with achieved GFLOP/s and its ratio to the
// best f32 GEMM rate measured in the same run (the compute limit).
//
//   engine_bench [--model DIR] [--inputs FILE] [benchmark flags]
//   engine_bench --peak_rss CASE [--linear-precision f32|int8|bf16]
//                                  # one run of CASE, prints peak RSS (MiB)
//
// bench/run_bench.sh runs it beside the reference runtime and writes the table.
#include <sys/resource.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/engine.h"
#include "engine/kernels/gemm.h"
#include "engine/kernels/linear_precision.h"
#include "engine/util/float_env.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

struct BenchCase {
  std::string name;
  std::vector<std::string> texts;
  int max_tokens = 0;
};

std::string g_model_dir = "models/use-lite";
std::string g_inputs = "bench/data/inputs.json";

std::vector<BenchCase> LoadCases() {
  std::ifstream in(g_inputs);
  if (!in) {
    std::cerr << "engine_bench: cannot open " << g_inputs << "\n";
    std::exit(2);
  }
  const nlohmann::json root = nlohmann::json::parse(in);
  std::vector<BenchCase> cases;
  for (const auto& c : root["cases"]) {
    cases.push_back({c["name"].get<std::string>(), c["texts"].get<std::vector<std::string>>(),
                     c.value("max_tokens", 0)});
  }
  return cases;
}

const Engine& SharedEngine() {
  static const Engine* engine = [] {
    EngineConfig config;
    config.model_dir = g_model_dir;
    auto loaded = Engine::Load(config);
    if (!loaded.ok()) {
      std::cerr << "engine_bench: " << loaded.status() << "\n";
      std::exit(2);
    }
    return loaded->release();
  }();
  return *engine;
}

// Texts are tokenized once; the benchmark times the encoder (tokenizing a
// sentence takes microseconds and is reported by the tokenize benchmark).
void BM_Embed(benchmark::State& state, const BenchCase& c) {
  const Engine& engine = SharedEngine();
  std::vector<std::vector<int32_t>> ids;
  for (const std::string& t : c.texts) ids.push_back(*engine.Tokenize(t));
  RunOptions options;
  options.max_tokens = c.max_tokens;
  options.num_threads = static_cast<int>(state.range(0));
  int64_t flops = 0, tokens = 0;
  for (auto _ : state) {
    auto result = engine.EmbedTokenIds(ids, options);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    flops = result->stats.flops;
    tokens = 0;
    for (const TextStats& t : result->stats.texts) tokens += t.tokens_used;
    benchmark::DoNotOptimize(result->embeddings.data());
  }
  state.counters["flops_per_call"] = static_cast<double>(flops);
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["texts"] = static_cast<double>(c.texts.size());
  state.counters["GFLOPS"] = benchmark::Counter(static_cast<double>(flops) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Tokenize(benchmark::State& state, const BenchCase& c) {
  const Engine& engine = SharedEngine();
  for (auto _ : state) {
    for (const std::string& t : c.texts) benchmark::DoNotOptimize(engine.Tokenize(t));
  }
  state.counters["texts"] = static_cast<double>(c.texts.size());
}

// The compute limit: f32 GEMM GFLOP/s on shapes like the model's largest
// layers; the report takes the best of them.
void BM_GemmLimit(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  PrepareComputeThreads(static_cast<int>(state.range(3)));
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  for (auto _ : state) {
    Sgemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPS"] =
      benchmark::Counter(2.0 * m * n * k * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

int PeakRss(const std::string& name, LinearPrecision linear) {
  for (const BenchCase& c : LoadCases()) {
    if (c.name != name) continue;
    const Engine& engine = SharedEngine();
    struct rusage before;
    getrusage(RUSAGE_SELF, &before);
    RunOptions options;
    options.max_tokens = c.max_tokens;
    options.linear_precision = linear;
    auto result = engine.Embed(c.texts, options);
    if (!result.ok()) {
      std::cerr << result.status() << "\n";
      return 1;
    }
    struct rusage after;
    getrusage(RUSAGE_SELF, &after);
    nlohmann::json out = {{"case", name},
                          {"peak_rss_mib", after.ru_maxrss / 1024.0},
                          {"rss_after_load_mib", before.ru_maxrss / 1024.0},
                          {"tokens", result->stats.texts[0].tokens_used},
                          {"linear_precision", LinearPrecisionName(linear)}};
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::cerr << "engine_bench: no case '" << name << "'\n";
  return 2;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  using namespace attnserve;
  std::vector<char*> rest = {argv[0]};
  std::string peak_case;
  LinearPrecision peak_linear = LinearPrecision::kF32;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--model" && i + 1 < argc) {
      g_model_dir = argv[++i];
    } else if (arg == "--inputs" && i + 1 < argc) {
      g_inputs = argv[++i];
    } else if (arg == "--peak_rss" && i + 1 < argc) {
      peak_case = argv[++i];
    } else if (arg == "--linear-precision" && i + 1 < argc) {
      const std::string name = argv[++i];
      const std::optional<LinearPrecision> parsed = ParseLinearPrecision(name);
      if (!parsed) {
        std::cerr << "engine_bench: --linear-precision must be one of " << kLinearPrecisionNames
                  << ", not '" << name << "'\n";
        return 2;
      }
      peak_linear = *parsed;
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (!peak_case.empty()) return PeakRss(peak_case, peak_linear);

  for (int threads : {1, 2}) {
    for (const auto& [m, n, k] : std::vector<std::tuple<int, int, int>>{
             {512, 1536, 512}, {512, 512, 1536}, {2048, 1536, 512}, {1024, 1024, 1024}}) {
      benchmark::RegisterBenchmark("gemm_limit", BM_GemmLimit)
          ->Args({m, n, k, threads})
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  static const std::vector<BenchCase> cases = LoadCases();
  for (const BenchCase& c : cases) {
    benchmark::RegisterBenchmark(("embed/" + c.name).c_str(), BM_Embed, c)
        ->Arg(1)
        ->Arg(2)
        ->ArgName("threads")
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("tokenize/" + c.name).c_str(), BM_Tokenize, c)
        ->Unit(benchmark::kMicrosecond);
  }
  int bench_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&bench_argc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
