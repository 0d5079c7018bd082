// Latency of the BERT family path on generated checkpoints with the shapes of
// real models (all-MiniLM-L6-v2, BERT-base), 128 and 512 tokens, 1 and 2
// threads, with achieved GFLOP/s and the ratio to the best f32 GEMM rate
// measured in the same run on the models' layer shapes (the compute limit).
// Weights are random: latency does not depend on their values.
//
//   bert_bench [--reps N] [--dir TMPDIR] [--linear-precision f32,int8,bf16]
//
// prints a Markdown table, one row per linear precision asked for (default
// f32 only), with each row's best time over the f32 row's when f32 is in the
// list. The GEMM limit is f32's: int8 and bf16 rows may exceed 100%.
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
#include "engine/engine.h"
#include "engine/kernels/gemm.h"
#include "engine/kernels/linear_precision.h"
#include "engine/util/float_env.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

struct Shape {
  std::string name;
  int layers, hidden, heads, ffn;
};

// Vocabulary rows do not change the per-token work; a short table keeps the
// generated file small (the embedding lookup is a row copy either way).
constexpr int kVocab = 2048;
constexpr int kPositions = 512;

// Writes a BERT checkpoint in the Hugging Face layout (config.json,
// model.safetensors with F32 tensors, vocab.txt) into `dir`.
void WriteModel(const Shape& s, const std::string& dir) {
  std::filesystem::create_directories(dir);
  nlohmann::json config = {
      {"model_type", "bert"},           {"vocab_size", kVocab},
      {"hidden_size", s.hidden},        {"num_hidden_layers", s.layers},
      {"num_attention_heads", s.heads}, {"intermediate_size", s.ffn},
      {"hidden_act", "gelu"},           {"max_position_embeddings", kPositions},
      {"type_vocab_size", 2},           {"layer_norm_eps", 1e-12}};
  std::ofstream(dir + "/config.json") << config.dump(2);
  {
    std::ofstream vocab(dir + "/vocab.txt");
    vocab << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (int i = 5; i < kVocab; ++i) vocab << "tok" << i << "\n";
  }
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors = {
      {"embeddings.word_embeddings.weight", {kVocab, s.hidden}},
      {"embeddings.position_embeddings.weight", {kPositions, s.hidden}},
      {"embeddings.token_type_embeddings.weight", {2, s.hidden}},
      {"embeddings.LayerNorm.weight", {s.hidden}},
      {"embeddings.LayerNorm.bias", {s.hidden}}};
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* m : {"attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense"}) {
      tensors.push_back({p + m + ".weight", {s.hidden, s.hidden}});
      tensors.push_back({p + m + ".bias", {s.hidden}});
    }
    tensors.push_back({p + "attention.output.LayerNorm.weight", {s.hidden}});
    tensors.push_back({p + "attention.output.LayerNorm.bias", {s.hidden}});
    tensors.push_back({p + "intermediate.dense.weight", {s.ffn, s.hidden}});
    tensors.push_back({p + "intermediate.dense.bias", {s.ffn}});
    tensors.push_back({p + "output.dense.weight", {s.hidden, s.ffn}});
    tensors.push_back({p + "output.dense.bias", {s.hidden}});
    tensors.push_back({p + "output.LayerNorm.weight", {s.hidden}});
    tensors.push_back({p + "output.LayerNorm.bias", {s.hidden}});
  }
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto& [name, shape] : tensors) {
    uint64_t n = 1;
    for (int64_t d : shape) n *= d;
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + 4 * n}}};
    offset += 4 * n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  std::ofstream out(dir + "/model.safetensors", std::ios::binary);
  const uint64_t len = text.size();
  out.write(reinterpret_cast<const char*>(&len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (const auto& [name, shape] : tensors) {
    uint64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> v(n);
    const bool gain = name.ends_with("LayerNorm.weight");
    for (float& x : v) x = gain ? 1.0f + normal(rng) : normal(rng);
    out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(4 * n));
  }
}

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

int Main(int argc, char** argv) {
  int reps = 5;
  std::string tmp = std::filesystem::temp_directory_path().string();
  std::vector<std::string> precisions = {"f32"};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--dir" && i + 1 < argc) {
      tmp = argv[++i];
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
                   "f32,int8,bf16]\n";
      return 2;
    }
  }
  const std::vector<Shape> shapes = {{"MiniLM-L6 shape", 6, 384, 12, 1536},
                                     {"BERT-base shape", 12, 768, 12, 3072}};
  std::string root = tmp + "/bert_bench.XXXXXX";
  if (mkdtemp(root.data()) == nullptr) {
    std::cerr << "bert_bench: cannot create a directory under " << tmp << "\n";
    return 2;
  }
  // The compute limit per thread count: the best rate over the models' GEMMs
  // (512 rows: the longer case), as the linear layers run them (B transposed).
  double limit[3] = {0, 0, 0};
  for (int threads : {1, 2}) {
    for (const Shape& s : shapes) {
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
  for (const Shape& s : shapes) {
    const std::string dir = root + "/" + std::to_string(s.hidden);
    WriteModel(s, dir);
    EngineConfig config;
    config.model_dir = dir;
    auto engine = Engine::Load(config);
    if (!engine.ok()) {
      std::cerr << "bert_bench: " << engine.status() << "\n";
      status = 1;
      continue;
    }
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> id(5, kVocab - 1);
    for (int tokens : {128, 512}) {
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
        }
      }
    }
  }
  std::printf("\nf32 GEMM limit in this run: %.1f GFLOP/s on 1 thread, %.1f on 2\n", limit[1],
              limit[2]);
  std::filesystem::remove_all(root);
  return status;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) { return attnserve::Main(argc, argv); }
