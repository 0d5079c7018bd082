// Writes the queries, keys, values and dense attention output each layer of
// a model computes on prose, one .npy per (text, layer), for offline fitting
// (tools/fit_linformer.py). The attention itself runs the registry's "flash"
// kernel, so the captured outputs are what the served model computes.
//
//   capture_attention --model models/use-lite --length 512 --out DIR
//       (--data data [--windows 8] | --passages P.json) [--max-texts 64]
//
// --data: the calibration prose (tools/calibration_prose.h), what a fit
// learns from; --passages: e.g. the held-out bench/data/quality_passages.json,
// what a fit is checked on.
//
// DIR/t<text>_l<layer>.npy: float32 [4, heads, n, head_dim], planes q, k, v,
// out. Q is unscaled; DIR/meta.json holds the score scale, the shape and the
// texts' token counts.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "engine/attention/approx_common.h"
#include "engine/attention/registry.h"
#include "engine/model/model_families.h"
#include "nlohmann/json.hpp"
#include "tools/calibration_prose.h"
#include "tools/prose_quality.h"

namespace attnserve {
namespace {

// Runs "flash" and keeps a copy of each call's inputs and output.
class CapturingAttention final : public AttentionKernel {
 public:
  explicit CapturingAttention(const AttentionKernel* inner) : inner_(inner) {}
  const KernelInfo& info() const override { return inner_->info(); }
  absl::Status Run(const AttentionInputs& in, const AttentionParams& params,
                   AttentionStats* stats) const override {
    absl::Status status = inner_->Run(in, params, stats);
    if (!status.ok()) return status;
    const int64_t n = in.n_q, d = in.head_dim;
    std::vector<float> planes(4 * in.num_heads * n * d);
    const float* sources[4] = {in.q, in.k, in.v, in.out};
    const int64_t strides[4] = {in.q_stride, in.k_stride, in.v_stride, in.out_stride};
    for (int p = 0; p < 4; ++p) {
      for (int h = 0; h < in.num_heads; ++h) {
        approx::GatherHead(sources[p], strides[p], h, in.head_dim, nullptr, n,
                           planes.data() + (p * in.num_heads + h) * n * d);
      }
    }
    calls.push_back({in.num_heads, n, in.head_dim, in.scale, std::move(planes)});
    return status;
  }
  struct Call {
    int heads;
    int64_t n;
    int head_dim;
    float scale;
    std::vector<float> planes;
  };
  mutable std::vector<Call> calls;

 private:
  const AttentionKernel* inner_;
};

absl::Status WriteNpy(const std::string& path, const std::vector<int64_t>& shape,
                      const std::vector<float>& data) {
  std::string dims;
  for (int64_t s : shape) absl::StrAppend(&dims, s, ", ");
  std::string header =
      absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': (", dims, "), }");
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  const uint16_t len = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(reinterpret_cast<const char*>(&len), 2);
  out << header;
  out.write(reinterpret_cast<const char*>(data.data()),
            static_cast<std::streamsize>(data.size() * sizeof(float)));
  return out ? absl::OkStatus() : absl::DataLossError(absl::StrCat("short write to ", path));
}

int Fail(const absl::Status& status) {
  std::cerr << "capture_attention: " << status << "\n";
  return 1;
}

int Main(int argc, char** argv) {
  CLI::App app{"Captures each layer's attention inputs and dense output on prose"};
  std::string model_dir = "models/use-lite", passages_path, data_dir, out_dir;
  int length = 512, max_texts = 64, windows = 8;
  app.add_option("--model", model_dir, "model directory");
  CLI::Option* passages_opt =
      app.add_option("--passages", passages_path, "JSON {\"passages\": [{\"text\": ...}]}");
  app.add_option("--data", data_dir, "labelled data directory: its calibration prose")
      ->excludes(passages_opt);
  app.add_option("--windows", windows, "with --data: texts per passage, at most")
      ->check(CLI::Range(1, 64));
  app.add_option("--length", length, "tokens per text (clip)")->check(CLI::Range(1, 1 << 16));
  app.add_option("--out", out_dir, "output directory (must exist)")->required();
  app.add_option("--max-texts", max_texts, "texts to capture, at most");
  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<std::unique_ptr<EncoderModel>> model = LoadModel(model_dir);
  if (!model.ok()) return Fail(model.status());
  if (passages_path.empty() == data_dir.empty()) {
    return Fail(absl::InvalidArgumentError("give one of --passages and --data"));
  }
  absl::StatusOr<std::vector<std::string>> passages;
  if (!data_dir.empty()) {
    passages = CalibrationPassages(data_dir, 30000);
    if (passages.ok()) passages = WindowsAt(*passages, length, windows);
  } else {
    passages = ReadPassages(passages_path);
  }
  if (!passages.ok()) return Fail(passages.status());
  absl::StatusOr<ResolvedAttention> flash = ResolveAttention("flash", {});
  if (!flash.ok()) return Fail(flash.status());
  CapturingAttention capture(flash->kernel);
  ExecutionPlan plan;
  plan.attention = *flash;
  plan.attention.kernel = &capture;
  const ModelInfo& info = (*model)->info();
  nlohmann::json meta = {{"model", info.name}, {"layers", info.num_layers}, {"texts", {}}};
  std::vector<float> embedding(info.embedding_dim);
  for (int t = 0; t < static_cast<int>(passages->size()) && t < max_texts; ++t) {
    absl::StatusOr<std::vector<int32_t>> ids = (*model)->Tokenize((*passages)[t]);
    if (!ids.ok()) return Fail(ids.status());
    if (static_cast<int>(ids->size()) > length) ids->resize(length);
    capture.calls.clear();
    RunStats stats;
    if (absl::Status s = (*model)->Embed({*ids}, plan, embedding.data(), &stats); !s.ok()) {
      return Fail(s);
    }
    for (size_t layer = 0; layer < capture.calls.size(); ++layer) {
      const CapturingAttention::Call& c = capture.calls[layer];
      if (absl::Status s = WriteNpy(absl::StrCat(out_dir, "/t", t, "_l", layer, ".npy"),
                                    {4, c.heads, c.n, c.head_dim}, c.planes);
          !s.ok()) {
        return Fail(s);
      }
      meta["scale"] = c.scale;
      meta["heads"] = c.heads;
      meta["head_dim"] = c.head_dim;
    }
    meta["texts"].push_back(ids->size());
  }
  std::ofstream(absl::StrCat(out_dir, "/meta.json")) << meta.dump(1) << "\n";
  std::printf("captured %zu texts into %s\n", meta["texts"].size(), out_dir.c_str());
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) { return attnserve::Main(argc, argv); }
