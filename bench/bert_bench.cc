// Latency of the BERT family path on generated checkpoints with the shapes of
// real models (all-MiniLM-L6-v2, BERT-base), 128 and 512 tokens (or --tokens), 1 and 2
// threads, with achieved GFLOP/s and the ratio to the best f32 GEMM rate
// measured in the same run on the models' layer shapes (the compute limit).
// Weights are random: latency does not depend on their values.
//
//   bert_bench [--reps N] [--dir TMPDIR] [--linear-precision f32,int8,bf16]
//              [--tokens 16,128,512] [--shapes minilm,bert-base] [--profile]
//
// prints a Markdown table, one row per linear precision asked for (default
// f32 only), with each row's best time over the f32 row's when f32 is in the
// list. The GEMM limit is f32's: int8 and bf16 rows may exceed 100%.
// --profile adds, per model, where one thread's time goes: the engine's phase
// timers (engine/util/run_profile.h) summed over the layers, mean of `reps`
// runs, per length and precision.
//
// docs/PERFORMANCE.md ("BERT family") has the table and how it was run.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "bench/random_bert_checkpoint.h"
#include "engine/engine.h"
#include "engine/kernels/gemm.h"
#include "engine/kernels/linear_precision.h"
#include "engine/util/float_env.h"
#include "engine/util/run_profile.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

double GemmGflops(int64_t m, int64_t n, int64_t k, int threads, int reps) {
  PrepareComputeThreads(threads);
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  double best = 1e30;
  for (int r = 0; r < reps + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    Sgemm(false, true, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(), n);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) best = std::min(best, s);  // the first call warms up
  }
  return 2.0 * m * n * k / best * 1e-9;
}

// Milliseconds per phase, summed over the layers and the time outside them.
struct PhaseTimes {
  std::string label;
  double total_ms = 0;
  double ms[RunProfile::kPhases] = {};
};

PhaseTimes ProfileRuns(const Engine& engine, const std::vector<std::vector<int32_t>>& ids,
                       const RunOptions& options, int reps, const std::string& label) {
  PhaseTimes out{label};
  for (int r = 0; r < reps; ++r) {
    RunProfile profile;
    const auto t0 = std::chrono::steady_clock::now();
    {
      const ProfileThisThread on(&profile);
      (void)engine.EmbedTokenIds(ids, options);
    }
    out.total_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
        reps;
    for (int row = 0; row <= RunProfile::kMaxLayers; ++row) {
      for (int p = 0; p < RunProfile::kPhases; ++p) out.ms[p] += profile.ns[row][p] * 1e-6 / reps;
    }
  }
  return out;
}

void PrintPhaseTimes(const std::string& model, const std::vector<PhaseTimes>& columns) {
  if (columns.empty()) return;
  std::printf("\n%s, one thread: where the time goes (ms, mean of the runs; %% of the run)\n\n",
              model.c_str());
  std::printf("| phase |");
  for (const PhaseTimes& c : columns) std::printf(" %s |", c.label.c_str());
  std::printf("\n|---|");
  for (size_t i = 0; i < columns.size(); ++i) std::printf("---:|");
  std::printf("\n");
  std::vector<double> other(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) other[i] = columns[i].total_ms;
  for (int p = 0; p < RunProfile::kPhases; ++p) {
    bool any = false;
    for (const PhaseTimes& c : columns) any = any || c.ms[p] >= 0.0005;
    if (!any) continue;
    std::printf("| %s |", ProfilePhaseName(static_cast<ProfilePhase>(p)));
    for (size_t i = 0; i < columns.size(); ++i) {
      other[i] -= columns[i].ms[p];
      std::printf(" %.3f (%.0f%%) |", columns[i].ms[p],
                  100 * columns[i].ms[p] / columns[i].total_ms);
    }
    std::printf("\n");
  }
  std::printf("| other (embedding, validation, stats) |");
  for (size_t i = 0; i < columns.size(); ++i) {
    std::printf(" %.3f (%.0f%%) |", other[i], 100 * other[i] / columns[i].total_ms);
  }
  std::printf("\n| **total** |");
  for (const PhaseTimes& c : columns) std::printf(" %.3f |", c.total_ms);
  std::printf("\n");
}

int Main(int argc, char** argv) {
  int reps = 5;
  std::string tmp = std::filesystem::temp_directory_path().string();
  std::vector<std::string> precisions = {"f32"};
  std::vector<int> lengths = {128, 512};
  std::vector<std::string> shape_names = {"minilm", "bert-base"};
  bool profile = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--dir" && i + 1 < argc) {
      tmp = argv[++i];
    } else if (arg == "--tokens" && i + 1 < argc) {
      lengths.clear();
      for (absl::string_view t : absl::StrSplit(argv[++i], ',')) {
        const int n = std::atoi(std::string(t).c_str());
        if (n < 3 || n > 512) {
          std::cerr << "bert_bench: --tokens: each length must be in [3, 512]\n";
          return 2;
        }
        lengths.push_back(n);
      }
    } else if (arg == "--profile") {
      profile = true;
    } else if (arg == "--shapes" && i + 1 < argc) {
      shape_names = absl::StrSplit(argv[++i], ',');
    } else if (arg == "--linear-precision" && i + 1 < argc) {
      precisions = absl::StrSplit(argv[++i], ',');
      for (const std::string& p : precisions) {
        if (!ParseLinearPrecision(p)) {
          std::cerr << "bert_bench: --linear-precision: '" << p << "' is not one of "
                    << kLinearPrecisionNames << "\n";
          return 2;
        }
      }
    } else {
      std::cerr << "usage: bert_bench [--reps N] [--dir TMPDIR] [--linear-precision "
                   "f32,int8,bf16] [--tokens 16,128,512] [--shapes minilm,bert-base] "
                   "[--profile]\n";
      return 2;
    }
  }
  std::vector<BertShape> shapes;
  for (const std::string& name : shape_names) {
    if (name == "minilm") {
      shapes.push_back({"MiniLM-L6 shape", 6, 384, 12, 1536});
    } else if (name == "bert-base") {
      shapes.push_back({"BERT-base shape", 12, 768, 12, 3072});
    } else {
      std::cerr << "bert_bench: --shapes: '" << name << "' is not minilm or bert-base\n";
      return 2;
    }
  }
  std::string root = tmp + "/bert_bench.XXXXXX";
  if (mkdtemp(root.data()) == nullptr) {
    std::cerr << "bert_bench: cannot create a directory under " << tmp << "\n";
    return 2;
  }
  // The compute limit per thread count: the best rate over the models' GEMMs
  // (512 rows: the longer case), as the linear layers run them (B transposed).
  double limit[3] = {0, 0, 0};
  for (int threads : {1, 2}) {
    for (const BertShape& s : shapes) {
      limit[threads] = std::max({limit[threads], GemmGflops(512, s.ffn, s.hidden, threads, reps),
                                 GemmGflops(512, s.hidden, s.ffn, threads, reps),
                                 GemmGflops(512, s.hidden, s.hidden, threads, reps)});
    }
  }
  // Best and median of `reps` runs: on a shared machine the best run is the
  // one least disturbed, and the GEMM limit is a best run too.
  std::cout << "| model | tokens | threads | linear | best ms | median ms | best / f32 | GFLOP | "
               "GFLOP/s (best) | % of f32 GEMM limit |\n"
               "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n";
  int status = 0;
  for (const BertShape& s : shapes) {
    const std::string dir = root + "/" + std::to_string(s.hidden);
    WriteRandomBertCheckpoint(s, dir);
    EngineConfig config;
    config.model_dir = dir;
    auto engine = Engine::Load(config);
    if (!engine.ok()) {
      std::cerr << "bert_bench: " << engine.status() << "\n";
      status = 1;
      continue;
    }
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> id(5, kBenchVocab - 1);
    std::vector<PhaseTimes> phase_columns;
    for (int tokens : lengths) {
      // The model adds [CLS] and [SEP]: tokens - 2 content ids.
      std::vector<std::vector<int32_t>> ids(1);
      for (int i = 0; i < tokens - 2; ++i) ids[0].push_back(id(rng));
      for (int threads : {1, 2}) {
        double f32_best = 0;  // this model, length and thread count in f32
        for (const std::string& precision : precisions) {
          RunOptions options;
          options.num_threads = threads;
          options.max_tokens = tokens - 2;
          options.linear_precision = *ParseLinearPrecision(precision);  // checked above
          std::vector<double> ms;
          int64_t flops = 0;
          for (int r = 0; r < reps + 1; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            auto result = (*engine)->EmbedTokenIds(ids, options);
            const double t =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count();
            if (!result.ok()) {
              std::cerr << "bert_bench: " << result.status() << "\n";
              return 1;
            }
            flops = result->stats.flops;
            // The first run warms caches and threads (and packs int8 / bf16
            // weights).
            if (r > 0) ms.push_back(t);
          }
          std::sort(ms.begin(), ms.end());
          const double median = ms[ms.size() / 2];
          const double gflops = flops * 1e-9 / (ms[0] * 1e-3);
          if (precision == "f32") f32_best = ms[0];
          char ratio[16] = "-";
          if (f32_best > 0) std::snprintf(ratio, sizeof(ratio), "%.2f", ms[0] / f32_best);
          std::printf("| %s | %d | %d | %s | %.1f | %.1f | %s | %.2f | %.1f | %.0f%% |\n",
                      s.name.c_str(), tokens, threads, precision.c_str(), ms[0], median, ratio,
                      flops * 1e-9, gflops, 100.0 * gflops / limit[threads]);
          std::fflush(stdout);
          if (profile && threads == 1) {
            phase_columns.push_back(ProfileRuns(**engine, ids, options, reps,
                                                std::to_string(tokens) + " tok " + precision));
          }
        }
      }
    }
    PrintPhaseTimes(s.name, phase_columns);
  }
  std::printf("\nf32 GEMM limit in this run: %.1f GFLOP/s on 1 thread, %.1f on 2\n", limit[1],
              limit[2]);
  std::filesystem::remove_all(root);
  return status;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) { return attnserve::Main(argc, argv); }
