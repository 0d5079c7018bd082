// Does the GEMM library keep to `workers x threads_per_request`? Runs
// `workers` threads that each set their compute threads the way an attnserve
// worker does (PrepareComputeThreads) and multiply USE-lite-shaped matrices
// for a while; a sampler counts the process's OS threads and the CPU time
// used. A library that keeps to the budget shows at most workers x threads
// threads busy (plus the sampler) and CPU time / wall time <= that product.
//
// Made for the OpenBLAS backend (arm64's): Debian ships it built with
// pthreads (libopenblas0-pthread, one process-wide pool) and with OpenMP
// (libopenblas0-openmp, which follows each caller's omp_set_num_threads);
// which one runs is chosen by update-alternatives, so one binary measures
// both (docs/DEPLOYMENT.md, "Threads and the GEMM library"). It runs on the
// oneDNN backend too, for comparison.
//
//   blas_threads [--seconds 2] [--m 128] [--k 512] [--n 2048]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/load_average.h"
#include "engine/kernels/gemm.h"
#include "engine/util/float_env.h"

namespace attnserve {
namespace {

int OsThreads() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

struct Result {
  int peak_threads = 0;
  double cpu_per_wall = 0;
  double gflops = 0;
};

Result Run(int workers, int threads, double seconds, int64_t m, int64_t k, int64_t n) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> calls{0};
  std::atomic<int> peak{0};
  const double cpu0 = ProcessCpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      PrepareComputeThreads(threads);
      std::vector<float> a(m * k, 0.5f + w), b(k * n, 0.25f), c(m * n);
      while (!stop.load(std::memory_order_relaxed)) {
        Sgemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
        calls.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::thread sampler([&] {
    while (!stop.load()) {
      peak.store(std::max(peak.load(), OsThreads()));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (std::thread& t : pool) t.join();
  sampler.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Result r;
  // The main thread and the sampler are not compute threads.
  r.peak_threads = peak.load() - 2;
  r.cpu_per_wall = (ProcessCpuSeconds() - cpu0) / wall;
  r.gflops = 2.0 * m * k * n * calls.load() / wall / 1e9;
  return r;
}

int Main(int argc, char** argv) {
  double seconds = 2;
  int64_t m = 128, k = 512, n = 2048;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const double value = std::atof(argv[i + 1]);
    if (flag == "--seconds") {
      seconds = value;
    } else if (flag == "--m") {
      m = static_cast<int64_t>(value);
    } else if (flag == "--k") {
      k = static_cast<int64_t>(value);
    } else if (flag == "--n") {
      n = static_cast<int64_t>(value);
    } else {
      std::fprintf(stderr, "blas_threads: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::printf("GEMM backend: %s\n", std::string(GemmBackendName()).c_str());
  const GemmThreading threading = GetGemmThreading();
  std::printf("GEMM threading: %s (%s the caller's thread count)\n", threading.description.c_str(),
              threading.follows_caller_threads ? "follows" : "ignores");
  std::printf("online CPUs: %u; load average before: %s\n", std::thread::hardware_concurrency(),
              LoadAverage().c_str());
  std::printf("GEMM %ld x %ld x %ld, %.1f s per row\n\n", static_cast<long>(m),
              static_cast<long>(k), static_cast<long>(n), seconds);
  std::printf(
      "| workers | threads per request | budget | peak compute threads | CPU / wall | "
      "GFLOPS |\n|---:|---:|---:|---:|---:|---:|\n");
  const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (const auto& [workers, threads] :
       std::vector<std::pair<int, int>>{{1, 1}, {1, cpus}, {cpus, 1}}) {
    const Result r = Run(workers, threads, seconds, m, k, n);
    std::printf("| %d | %d | %d | %d | %.2f | %.1f |\n", workers, threads, workers * threads,
                r.peak_threads, r.cpu_per_wall, r.gflops);
    std::fflush(stdout);
  }
  std::printf("\nload average after: %s\n", LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) { return attnserve::Main(argc, argv); }
