// Latency of the attention layer types of docs/LAYER_TYPES.md (standard,
// Optimized, Efficient, Super) in attnserve, on generated checkpoints of one
// shape per row group, at 16, 128 and 512 tokens, one thread. The types are
// timed in turn within each repetition, so a noisy neighbour slows all of
// them alike, and each row's ratio to standard comes from the same run.
// Weights are random: latency does not depend on their values.
//
//   layer_types_bench [--reps N] [--dir TMPDIR] [--linear-precision f32|int8|bf16]
//
// prints a Markdown table (docs/LAYER_TYPES.md "Latency" has it and how it
// was run), after the machine's load average.
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/load_average.h"
#include "bench/random_bert_checkpoint.h"
#include "engine/engine.h"
#include "engine/kernels/linear_precision.h"

namespace attnserve {
namespace {

constexpr const char* kTypes[] = {"standard", "optimized", "efficient", "super"};

int Main(int argc, char** argv) {
  int reps = 20;
  std::string tmp = std::filesystem::temp_directory_path().string();
  LinearPrecision precision = LinearPrecision::kF32;
  std::string precision_name = "f32";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--dir" && i + 1 < argc) {
      tmp = argv[++i];
    } else if (arg == "--linear-precision" && i + 1 < argc && ParseLinearPrecision(argv[i + 1])) {
      precision_name = argv[++i];
      precision = *ParseLinearPrecision(precision_name);
    } else {
      std::cerr << "usage: layer_types_bench [--reps N] [--dir TMPDIR] [--linear-precision "
                << kLinearPrecisionNames << "]\n";
      return 2;
    }
  }
  // The shape trained by tools/layer_types/train.py, and MiniLM-L6's.
  const std::vector<BertShape> shapes = {{"trained shape (2 x 128, 4 heads)", 2, 128, 4, 256},
                                         {"MiniLM-L6 shape (6 x 384, 12 heads)", 6, 384, 12, 1536}};
  std::string root = tmp + "/layer_types_bench.XXXXXX";
  if (mkdtemp(root.data()) == nullptr) {
    std::cerr << "layer_types_bench: cannot create a directory under " << tmp << "\n";
    return 2;
  }
  std::printf(
      "load average before the run: %s; linear layers %s; 1 thread; best and median "
      "of %d runs\n\n",
      LoadAverage().c_str(), precision_name.c_str(), reps);
  std::printf(
      "| shape | type | parameters | tokens | best ms | median ms | best / standard | GFLOP |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (BertShape shape : shapes) {
    shape.positions = 514;  // 512 rows: [CLS] 510 ids [SEP]
    std::map<std::string, std::unique_ptr<Engine>> engines;
    for (const char* type : kTypes) {
      shape.attention_type = type;
      const std::string dir = root + "/" + std::to_string(shape.hidden) + "-" + type;
      WriteRandomBertCheckpoint(shape, dir);
      EngineConfig config;
      config.model_dir = dir;
      auto engine = Engine::Load(config);
      if (!engine.ok()) {
        std::cerr << "layer_types_bench: " << engine.status() << "\n";
        return 1;
      }
      engines[type] = std::move(*engine);
    }
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> id(5, kBenchVocab - 1);
    for (int tokens : {16, 128, 512}) {
      std::vector<std::vector<int32_t>> ids(1);
      for (int i = 0; i < tokens - 2; ++i) ids[0].push_back(id(rng));
      RunOptions options;
      options.num_threads = 1;
      options.max_tokens = tokens - 2;
      options.linear_precision = precision;
      std::map<std::string, std::vector<double>> ms;
      std::map<std::string, int64_t> flops;
      for (int r = 0; r < reps + 1; ++r) {
        for (const char* type : kTypes) {
          const auto t0 = std::chrono::steady_clock::now();
          auto result = engines[type]->EmbedTokenIds(ids, options);
          const double t =
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                  .count();
          if (!result.ok()) {
            std::cerr << "layer_types_bench: " << type << ": " << result.status() << "\n";
            return 1;
          }
          flops[type] = result->stats.flops;
          if (r > 0) ms[type].push_back(t);  // the first run warms caches
        }
      }
      for (auto& [type, v] : ms) std::sort(v.begin(), v.end());
      const double standard = ms["standard"][0];
      for (const char* type : kTypes) {
        const std::vector<double>& v = ms[type];
        std::printf("| %s | %s | %lld | %d | %.3f | %.3f | %.2f | %.4f |\n", shape.name.c_str(),
                    type, static_cast<long long>(engines[type]->model_info().num_parameters),
                    tokens, v[0], v[v.size() / 2], v[0] / standard, flops[type] * 1e-9);
      }
      std::fflush(stdout);
    }
  }
  std::printf("\nload average after the run: %s\n", LoadAverage().c_str());
  std::filesystem::remove_all(root);
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) { return attnserve::Main(argc, argv); }
