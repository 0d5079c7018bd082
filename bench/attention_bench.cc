// Kernel-level benchmark of every registered attention kernel (default
// parameters) on one attention shape (4 heads x head_dim 64 unless
// --attention_shape=HxD; USE-lite's is 4x128), fused QKV rows as the encoder
// lays them out, n = 128 ... 8192, 1 and 2 threads. --attention_configs adds
// kernels at set parameters ("adaptive_topk:ratio=0.25,rank=128;dense").
// Times one AttentionKernel::Run call; says nothing about end-to-end latency.
//
// Peak extra memory: before the benchmarks, each (kernel, n, threads) runs
// once in a forked child: a warm-up call at n = 128 (thread pool, GEMM JIT),
// then the inputs for n are allocated and touched, and the growth of the
// peak resident set (getrusage ru_maxrss, KiB resolution) over one call is
// the kernel's peak extra memory, GEMM library scratch included. Forking is
// safe because the parent has not started OpenMP yet.
//
//   attention_bench [--attention_kernels=a,b] [--attention_sizes=128,512]
//                   [--attention_shape=4x128] [--attention_configs=k:p=v;k2]
//                   [--attention_mem=0] [benchmark flags]
//   attention_bench --attention_catalogue=1   # Markdown table of the kernels
// bench/run_attention_bench.sh runs it and bench/attention_report.py makes
// the table and plot of docs/ATTENTION.md.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "engine/attention/registry.h"
#include "engine/util/float_env.h"

namespace attnserve {
namespace {

int kHeads = 4;  // set once from --attention_shape before any benchmark runs
int kHeadDim = 64;
int kWidth = kHeads * kHeadDim;

// A kernel and the parameters it runs with (defaults, or a --attention_configs entry).
struct BenchKernel {
  const AttentionKernel* kernel = nullptr;
  AttentionParams params;
  std::string label;  // "name" or "name{p=v,...}"
};

// Fused [n, 3 * width] QKV rows and an output, with AttentionInputs over them.
struct Buffers {
  std::vector<float> qkv, out;
  AttentionInputs in;

  explicit Buffers(int64_t n) : qkv(n * 3 * kWidth), out(n * kWidth, 0.0f) {
    std::mt19937 rng(static_cast<uint32_t>(n));
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (float& x : qkv) x = dist(rng);
    in.n_q = in.n_kv = n;
    in.num_heads = kHeads;
    in.head_dim = kHeadDim;
    in.scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
    in.q = qkv.data();
    in.k = qkv.data() + kWidth;
    in.v = qkv.data() + 2 * kWidth;
    in.q_stride = in.k_stride = in.v_stride = 3 * kWidth;
    in.out = out.data();
    in.out_stride = kWidth;
  }
};

int64_t MaxRssKiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Peak extra memory (bytes) of one call, measured in a child process; -1 if
// the child failed.
int64_t ProbePeakExtraBytes(const BenchKernel& kernel, int64_t n, int threads) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    PrepareComputeThreads(threads);
    {
      Buffers warm(128);
      (void)kernel.kernel->Run(warm.in, kernel.params, nullptr);
    }
    Buffers buffers(n);
    const int64_t before = MaxRssKiB();
    const bool ok = kernel.kernel->Run(buffers.in, kernel.params, nullptr).ok();
    const int64_t extra = ok ? (MaxRssKiB() - before) * 1024 : -1;
    const ssize_t written = write(fds[1], &extra, sizeof(extra));
    _exit(written == sizeof(extra) ? 0 : 1);
  }
  close(fds[1]);
  int64_t extra = -1;
  if (pid < 0 || read(fds[0], &extra, sizeof(extra)) != sizeof(extra)) extra = -1;
  close(fds[0]);
  if (pid > 0) waitpid(pid, nullptr, 0);
  return extra;
}

void BM_Attention(benchmark::State& state, const BenchKernel* bench, int64_t n, int threads,
                  int64_t peak_extra_bytes) {
  PrepareComputeThreads(threads);
  const AttentionKernel* kernel = bench->kernel;
  const AttentionParams& params = bench->params;
  Buffers buffers(n);
  // One untimed call first: thread pool start-up and GEMM JIT are not the kernel.
  (void)kernel->Run(buffers.in, params, nullptr);
  AttentionStats stats;
  for (auto _ : state) {
    const absl::Status status = kernel->Run(buffers.in, params, &stats);
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(buffers.out.data());
    benchmark::ClobberMemory();
  }
  state.counters["n"] = static_cast<double>(n);
  state.counters["threads"] = threads;
  state.counters["pairs_fraction"] =
      stats.pairs_total > 0 ? double(stats.pairs_scored) / double(stats.pairs_total) : 0.0;
  state.counters["GFLOPS"] = benchmark::Counter(double(stats.flops), benchmark::Counter::kIsRate);
  state.counters["peak_extra_MiB"] = double(peak_extra_bytes) / (1 << 20);
}

// The catalogue as a Markdown table (docs/ATTENTION.md is generated from it).
void PrintCatalogue() {
  std::cout << "| kernel | exact | time | extra memory | parameters (default, range) | what |\n"
            << "|---|---|---|---|---|---|\n";
  for (const AttentionKernel* k : AllAttentionKernels()) {
    const KernelInfo& info = k->info();
    std::string params;
    for (const ParamSpec& p : info.params) {
      // Integers in full (StrCat's doubles keep 6 digits).
      auto num = [](double x) {
        return x == std::floor(x) ? absl::StrCat(static_cast<int64_t>(x)) : absl::StrCat(x);
      };
      absl::StrAppend(&params, params.empty() ? "" : "; ", "`", p.name, "`=", num(p.default_value),
                      " [", num(p.min_value), ", ", num(p.max_value), "]");
    }
    std::cout << "| " << info.name << " | " << (info.exact ? "yes" : "no") << " | "
              << info.time_complexity << " | " << info.memory_complexity << " | "
              << (params.empty() ? "none" : params) << " | " << info.description << " |\n";
  }
}

// Takes --name=value off argv (so Google Benchmark does not reject it).
std::string TakeFlag(int* argc, char** argv, const std::string& name, std::string fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) != 0) continue;
    fallback = argv[i] + prefix.size();
    for (int j = i; j + 1 < *argc; ++j) argv[j] = argv[j + 1];
    --*argc;
    --i;
  }
  return fallback;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  using namespace attnserve;  // NOLINT(build/namespaces): main only
  const std::string kernel_list = TakeFlag(&argc, argv, "attention_kernels", "");
  const std::string size_list =
      TakeFlag(&argc, argv, "attention_sizes", "128,512,1024,2048,4096,8192");
  const bool probe_memory = TakeFlag(&argc, argv, "attention_mem", "1") != "0";
  if (TakeFlag(&argc, argv, "attention_catalogue", "0") != "0") {
    PrintCatalogue();
    return 0;
  }
  std::vector<int64_t> sizes;
  for (absl::string_view s : absl::StrSplit(size_list, ',', absl::SkipEmpty())) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(s, &n) || n < 1) {
      std::cerr << "attention_bench: bad size '" << std::string(s) << "'\n";
      return 2;
    }
    sizes.push_back(n);
  }
  const std::string shape = TakeFlag(&argc, argv, "attention_shape", "4x64");
  if (std::sscanf(shape.c_str(), "%dx%d", &kHeads, &kHeadDim) != 2 || kHeads < 1 || kHeadDim < 1) {
    std::cerr << "attention_bench: bad --attention_shape '" << shape << "' (want HEADSxDIM)\n";
    return 2;
  }
  kWidth = kHeads * kHeadDim;
  // Kernels live for the process; the list must not move once benchmarks point into it.
  std::vector<BenchKernel> kernels;
  for (const AttentionKernel* k : AllAttentionKernels()) {
    const std::string name(k->name());
    if (kernel_list.empty() ||
        absl::StrCat(",", kernel_list, ",").find(absl::StrCat(",", name, ",")) !=
            std::string::npos) {
      absl::StatusOr<ResolvedAttention> r = ResolveAttention(name, {});
      if (!r.ok()) return 2;
      kernels.push_back({k, r->params, name});
    }
  }
  const std::string configs = TakeFlag(&argc, argv, "attention_configs", "");
  if (!configs.empty() && kernel_list.empty()) kernels.clear();
  for (absl::string_view text : absl::StrSplit(configs, ';', absl::SkipEmpty())) {
    absl::StatusOr<AttentionText> parsed =
        ParseAttentionText(std::string_view(text.data(), text.size()));
    if (!parsed.ok()) {
      std::cerr << "attention_bench: --attention_configs: " << parsed.status() << "\n";
      return 2;
    }
    std::string label(text);
    const size_t colon = label.find(':');
    if (colon != std::string::npos)
      label = label.substr(0, colon) + "{" + label.substr(colon + 1) + "}";
    kernels.push_back({parsed->resolved.kernel, parsed->resolved.params, label});
  }
  for (const BenchKernel& b : kernels) {
    const KernelInfo& info = b.kernel->info();
    benchmark::AddCustomContext(absl::StrCat("kernel:", b.label),
                                absl::StrCat(info.exact ? "exact" : "approximate", "|",
                                             info.time_complexity, "|", info.memory_complexity));
  }
  for (const BenchKernel& b : kernels) {
    for (int64_t n : sizes) {
      for (int threads : {1, 2}) {
        const int64_t peak = probe_memory ? ProbePeakExtraBytes(b, n, threads) : -1;
        benchmark::RegisterBenchmark(
            absl::StrCat("attention/", b.label, "/n:", n, "/threads:", threads).c_str(),
            BM_Attention, &b, n, threads, peak)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
