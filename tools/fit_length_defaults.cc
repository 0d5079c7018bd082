// Calibrates the length-dependent defaults of the approximate attention
// kernels (engine/attention/length_defaults.h): for each kernel's budget
// parameter and each length n, the smallest budget on a fixed grid whose
// embeddings of real prose keep cosine >= --target to dense on every
// calibration text. Writes the table the engine compiles in and prints the
// figures as Markdown.
//
// Calibration prose: the labelled sets' *train* splits (data/<set>/
// train.jsonl from tools/fetch_datasets.sh: yelp, amazon and imdb reviews,
// SpamAssassin emails), each concatenated into one passage of 30,000 chars
// and cut into up to --windows texts at each length (WindowsAt);
// docs/ATTENTION_QUALITY.md checks the result on held-out prose (Moby-Dick,
// bench/data/quality_passages.json) with bench/kernel_quality.
//
//   fit_length_defaults [--model models/use-lite] [--data data]
//       [--lengths 128,256,512,1024,2048,4096] [--target 0.99]
//       [--kernels a,b] [--windows 32] [--out engine/attention/length_defaults_table.inc]
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/attention/registry.h"
#include "tools/calibration_prose.h"
#include "tools/prose_quality.h"

namespace attnserve {
namespace {

// Each approximate kernel's budget: the parameter that trades quality for
// speed, and the grid searched (ascending; quality assumed to grow along it).
// Not performer: no feature count up to 4,096 reached the target at any
// length (docs/ATTENTION_QUALITY.md "Defaults by length"), so its features
// stay fixed and short sequences run dense (its `dense_below`).
struct Budget {
  const char* kernel;
  const char* param;
  std::vector<double> grid;
};

std::vector<Budget> Budgets() {
  const std::vector<double> widths = {8,   16,  32,  48,  64,   96,   128,  192,
                                      256, 384, 512, 768, 1024, 1536, 2048, 4096};
  const std::vector<double> sizes = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
  return {
      {"sliding_window", "window", widths},
      {"strided", "window", widths},
      {"longformer", "window", widths},
      {"bigbird", "window", widths},
      {"block_sparse", "block", sizes},
      {"segment_memory", "segment", {32, 64, 128, 256, 512, 1024, 2048, 4096}},
      {"linformer", "k", sizes},
      {"nystrom", "landmarks", sizes},
      {"lsh", "bucket", sizes},
      {"adaptive_topk", "ratio", {0.03125, 0.0625, 0.09375, 0.125, 0.1875, 0.25, 0.375, 0.5, 1}},
  };
}

std::string ValueText(double v) { return absl::StrFormat("%g", v); }

struct Point {
  int n = 0;
  double value = 0;
  bool reached = false;
  CosineToDense cosine;
  double speedup = 0;
};

int Fail(const absl::Status& status) {
  std::cerr << "fit_length_defaults: " << status << "\n";
  return 1;
}

int Main(int argc, char** argv) {
  CLI::App app{"Calibrates the length-dependent defaults of the approximate attention kernels"};
  std::string model = "models/use-lite", data = "data",
              out = "engine/attention/length_defaults_table.inc";
  std::vector<int> lengths = {128, 256, 512, 1024, 2048, 4096};
  std::vector<std::string> only;
  double target = 0.99;
  int threads = 1;
  int windows = 32;  // 8 gave 32 texts at 128 tokens: too few (docs/ATTENTION_QUALITY.md)
  app.add_option("--model", model, "model directory");
  app.add_option("--data", data, "labelled data directory (tools/fetch_datasets.sh)");
  app.add_option("--lengths", lengths, "token lengths to calibrate")->delimiter(',');
  app.add_option("--target", target, "cosine to dense each calibration text must keep");
  app.add_option("--kernels", only, "only these kernels")->delimiter(',');
  app.add_option("--threads", threads, "compute threads");
  app.add_option("--windows", windows, "calibration texts per passage at each length, at most")
      ->check(CLI::Range(1, 64));
  app.add_option("--out", out, "generated table");
  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<std::vector<std::string>> passages = CalibrationPassages(data, 30000);
  if (!passages.ok()) return Fail(passages.status());
  EngineConfig config;
  config.model_dir = model;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Load(config);
  if (!engine.ok()) return Fail(engine.status());

  std::vector<std::vector<std::string>> texts;  // per length
  std::vector<ProseRun> dense;
  for (int n : lengths) {
    texts.push_back(WindowsAt(*passages, n, windows));
    absl::StatusOr<ProseRun> run = EmbedProse(**engine, texts.back(), n, threads, {"dense", {}});
    if (!run.ok()) return Fail(run.status());
    dense.push_back(*std::move(run));
    std::fprintf(stderr, "fit_length_defaults: %zu calibration texts at %d tokens\n",
                 texts.back().size(), n);
  }
  std::printf("| kernel | param | n | value | cosine mean | cosine min | speed-up | target |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---|\n");
  std::string table =
      absl::StrCat("// Generated by tools/fit_length_defaults (target cosine ", ValueText(target),
                   " on the labelled sets' train prose, model ",
                   model.substr(model.find_last_of('/') + 1), "); do not edit by hand.\n");
  // With --kernels, the other kernels' rows of the existing table stay as they are.
  if (!only.empty()) {
    std::ifstream existing(out);
    for (std::string line; std::getline(existing, line);) {
      const size_t open = line.find('"'), close = line.find('"', open + 1);
      if (open != 1 || close == std::string::npos) continue;
      const std::string kernel = line.substr(open + 1, close - open - 1);
      if (std::find(only.begin(), only.end(), kernel) == only.end()) {
        absl::StrAppend(&table, line, "\n");
      }
    }
  }
  for (const Budget& budget : Budgets()) {
    if (!only.empty() && std::find(only.begin(), only.end(), budget.kernel) == only.end()) continue;
    std::vector<Point> points;
    for (size_t li = 0; li < lengths.size(); ++li) {
      const int n = lengths[li];
      auto evaluate = [&](size_t i, Point* p) -> absl::Status {
        const KernelConfig c{budget.kernel, {{budget.param, ValueText(budget.grid[i])}}};
        absl::StatusOr<ProseRun> run = EmbedProse(**engine, texts[li], n, threads, c);
        if (!run.ok()) return run.status();
        p->n = n;
        p->value = budget.grid[i];
        p->cosine = CompareWithDense(*run, dense[li]);
        p->reached = p->cosine.min >= target;
        p->speedup = dense[li].seconds / run->seconds;
        return absl::OkStatus();
      };
      // Binary search for the first grid value that reaches the target.
      Point best;
      size_t lo = 0, hi = budget.grid.size() - 1;
      if (absl::Status s = evaluate(hi, &best); !s.ok()) return Fail(s);
      if (best.reached) {
        while (lo < hi) {
          const size_t mid = (lo + hi) / 2;
          Point p;
          if (absl::Status s = evaluate(mid, &p); !s.ok()) return Fail(s);
          if (p.reached) {
            hi = mid;
            best = p;
          } else {
            lo = mid + 1;
          }
        }
      }
      std::printf("| %s | %s | %d | %s | %.4f | %.4f | %.2fx | %s |\n", budget.kernel, budget.param,
                  n, ValueText(best.value).c_str(), best.cosine.mean, best.cosine.min, best.speedup,
                  best.reached ? "met" : "MISSED");
      std::fflush(stdout);
      points.push_back(best);
    }
    bool all = true;
    std::string list;
    for (const Point& p : points) {
      all = all && p.reached;
      absl::StrAppend(&list, list.empty() ? "" : ", ", "{", p.n, ", ", ValueText(p.value), "}");
    }
    absl::StrAppend(&table, "{\"", budget.kernel, "\", \"", budget.param, "\", {", list, "}, ",
                    all ? "true" : "false", "},\n");
  }
  std::ofstream file(out);
  file << table;
  if (!file) return Fail(absl::InternalError(absl::StrCat("cannot write ", out)));
  std::cerr << "fit_length_defaults: wrote " << out << "\n";
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) { return attnserve::Main(argc, argv); }
