// End-to-end quality of every attention kernel: embeds long real prose
// (bench/data/quality_passages.json, Moby-Dick chapters) with the clip lifted
// to n tokens, under each registered kernel at its defaults (length-dependent
// where engine/attention/length_defaults.h has a rule) and, unless --sweep 0,
// at half and twice its budget parameter, and prints a Markdown table of the cosine to
// the dense embedding and the end-to-end latency speed-up over dense and over
// flash measured in the same run. These are end-to-end figures (whole encoder), not
// kernel-level ones.
//
//   kernel_quality [--model DIR] [--passages FILE] [--lengths 512,2048,4096]
//                  [--threads N] [--kernels a,b,...] [--sweep 0|1]
//                  [--config kernel:p=v,p=v]...   (adds one configuration; repeatable)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/load_average.h"
#include "engine/attention/length_defaults.h"
#include "engine/attention/registry.h"
#include "engine/engine.h"
#include "tools/prose_quality.h"

namespace attnserve {
namespace {

// Budget parameters, in the order they are looked for; the first one a
// kernel has is swept at half and twice its default.
const char* const kBudgetParams[] = {"ratio",  "k",      "features", "landmarks",
                                     "window", "bucket", "segment",  "block"};

std::vector<KernelConfig> Configs(const std::vector<std::string>& only, bool sweep) {
  std::vector<KernelConfig> configs;
  for (const AttentionKernel* kernel : AllAttentionKernels()) {
    const KernelInfo& info = kernel->info();
    if (info.name == "dense") continue;
    if (!only.empty() && std::find(only.begin(), only.end(), info.name) == only.end()) continue;
    configs.push_back({info.name, {}});
    if (!sweep) continue;
    for (const char* budget : kBudgetParams) {
      auto spec = std::find_if(info.params.begin(), info.params.end(),
                               [budget](const ParamSpec& p) { return p.name == budget; });
      if (spec == info.params.end()) continue;
      for (double factor : {0.5, 2.0}) {
        double value = spec->default_value * factor;
        if (spec->type == ParamType::kInt) value = std::round(value);
        value = std::clamp(value, spec->min_value, spec->max_value);
        if (value == spec->default_value) continue;
        char text[32];
        std::snprintf(text, sizeof(text), "%g", value);
        configs.push_back({info.name, {{spec->name, text}}});
      }
      break;
    }
  }
  return configs;
}

// ParamText, plus the value a length-dependent default took at n tokens.
std::string DefaultsText(const KernelConfig& c, int n) {
  std::string text = ParamText(c);
  absl::StatusOr<const AttentionKernel*> kernel = FindAttentionKernel(c.kernel);
  if (!kernel.ok()) return text;
  for (const ParamSpec& spec : (*kernel)->info().params) {
    const LengthDefault* rule = FindLengthDefault(c.kernel, spec.name);
    if (rule == nullptr || c.params.count(spec.name) > 0) continue;
    absl::StrAppend(&text, " (", spec.name, "=", rule->At(n, spec), " at n)");
  }
  return text;
}

int Fail(const absl::Status& status) {
  std::cerr << "kernel_quality: " << status << "\n";
  return 1;
}

int Main(int argc, char** argv) {
  std::string model = "models/use-lite", passages_file = "bench/data/quality_passages.json";
  std::vector<int> lengths = {512, 2048, 4096};
  std::vector<std::string> only;
  int threads = 1;
  bool sweep = true;
  std::vector<KernelConfig> extra;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--model") {
      model = value;
    } else if (flag == "--passages") {
      passages_file = value;
    } else if (flag == "--threads") {
      threads = std::atoi(value.c_str());
    } else if (flag == "--kernels") {
      only = absl::StrSplit(value, ',');
    } else if (flag == "--sweep") {
      sweep = value != "0";
    } else if (flag == "--config") {
      absl::StatusOr<AttentionText> c = ParseAttentionText(value);
      if (!c.ok()) return Fail(c.status());
      extra.push_back({c->kernel, c->params});
    } else if (flag == "--lengths") {
      lengths.clear();
      for (absl::string_view part : absl::StrSplit(value, ',')) {
        int n = 0;
        if (absl::SimpleAtoi(part, &n)) lengths.push_back(n);
      }
    } else {
      std::cerr << "kernel_quality: unknown flag " << flag << "\n";
      return 2;
    }
  }
  absl::StatusOr<std::vector<std::string>> passages = ReadPassages(passages_file);
  if (!passages.ok()) return Fail(passages.status());
  EngineConfig config;
  config.model_dir = model;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Load(config);
  if (!engine.ok()) return Fail(engine.status());
  std::vector<KernelConfig> configs =
      only.empty() && !extra.empty() ? std::vector<KernelConfig>{} : Configs(only, sweep);
  configs.insert(configs.end(), extra.begin(), extra.end());
  std::printf("Load average before: %s\n\n", LoadAverage().c_str());
  // Speed-ups are given over dense and over flash, the fastest exact kernel
  // at long lengths (dense materialises n x n scores per head).
  std::printf(
      "| n | kernel | params | cosine mean | cosine min | pairs scored | latency ms | vs dense | "
      "vs flash |\n");
  std::printf("|---:|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (int n : lengths) {
    (void)EmbedProse(**engine, *passages, n, threads, {"dense", {}});  // warm-up
    absl::StatusOr<ProseRun> dense = EmbedProse(**engine, *passages, n, threads, {"dense", {}});
    if (!dense.ok()) return Fail(dense.status());
    absl::StatusOr<ProseRun> flash = EmbedProse(**engine, *passages, n, threads, {"flash", {}});
    if (!flash.ok()) return Fail(flash.status());
    const double dense_ms = 1e3 * dense->seconds / passages->size();
    const double flash_ms = 1e3 * flash->seconds / passages->size();
    std::printf("| %d | dense | | 1 | 1 | 100%% | %.1f | 1.00x | %.2fx |\n", dense->tokens,
                dense_ms, flash_ms / dense_ms);
    std::fflush(stdout);
    for (const KernelConfig& c : configs) {
      absl::StatusOr<ProseRun> run = EmbedProse(**engine, *passages, n, threads, c);
      if (!run.ok()) return Fail(run.status());
      const CosineToDense cos = CompareWithDense(*run, *dense);
      const double ms = 1e3 * run->seconds / passages->size();
      std::printf("| %d | %s | %s | %.4f | %.4f | %.1f%% | %.1f | %.2fx | %.2fx |\n", run->tokens,
                  c.kernel.c_str(), DefaultsText(c, run->tokens).c_str(), cos.mean, cos.min,
                  100 * run->scored, ms, dense_ms / ms, flash_ms / ms);
      std::fflush(stdout);
    }
  }
  std::printf("\nLoad average after: %s\n", LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) { return attnserve::Main(argc, argv); }
