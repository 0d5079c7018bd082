// Dense layers in f32, int8 and bf16 (engine/kernels/packed_linear.h), in
// one run so the ratios are comparable: (1) each layer shape of USE-lite and
// BERT-base alone at 16 / 128 / 512 rows, with the error against f32; (2) the
// whole USE-lite model on real prose clipped to 16 / 128 / 512 tokens, one
// text per call, one thread, with the embedding cosine to f32. Times are the
// fastest of --reps, on the calling thread's CPU clock (robust to other load
// on a shared machine; the load average is printed).
//
//   linear_bench [--model models/use-lite] [--passages bench/data/quality_passages.json]
//                [--reps 30]
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/kernels/gemm.h"
#include "engine/kernels/lowp_gemm.h"
#include "engine/kernels/packed_linear.h"
#include "engine/kernels/s8_gemm.h"
#include "engine/policy/early_exit.h"
#include "engine/util/float_env.h"
#include "nlohmann/json.hpp"

#if defined(ATTNSERVE_GEMM_ONEDNN)
#include "oneapi/dnnl/dnnl.hpp"
#endif

namespace attnserve {
namespace {

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

// Fastest ms of `f` over `reps` timed calls, each after an untimed `before`.
template <typename F, typename Before>
double FastestMsAfter(int reps, F&& f, Before&& before) {
  f();  // warm-up: builds the pack, JITs the kernel
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    before();
    const double start = ThreadCpuMs();
    f();
    best = std::min(best, ThreadCpuMs() - start);
  }
  return best;
}

template <typename F>
double FastestMs(int reps, F&& f) {
  return FastestMsAfter(reps, f, [] {});
}

// As FastestMs, but each timed call finds the weights out of the caches: a
// buffer larger than the last-level cache is written before it. Inside a
// request each layer's weights were evicted by the other layers' since
// their last use, so this is the state the engine's GEMMs run in when the
// model does not fit in the cache.
template <typename F>
double FastestColdMs(int reps, F&& f) {
  static std::vector<char> evict(256 << 20);
  return FastestMsAfter(reps, f, [] {
    for (size_t i = 0; i < evict.size(); i += 64) ++evict[i];
  });
}

// A dense layer's shape, named for the tables.
struct Shape {
  const char* what;
  int in, out;
};

constexpr LinearPrecision kPrecisions[] = {LinearPrecision::kF32, LinearPrecision::kInt8,
                                           LinearPrecision::kBf16};

void LayerTable(int reps) {
  const Shape shapes[] = {{"use-lite qkv L0", 256, 768},    {"use-lite ffn-up", 512, 2048},
                          {"use-lite ffn-down", 2048, 512}, {"bert-base qkv", 768, 2304},
                          {"bert-base ffn-up", 768, 3072},  {"bert-base ffn-down", 3072, 768}};
  std::printf(
      "\n## Layers (ms per call; x = speed-up over f32; err = max|y - y_f32| / max|y_f32|)\n\n");
  std::printf("| layer | in x out | rows | f32 ms | int8 ms | x | err | bf16 ms | x | err |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const Shape& s : shapes) {
    std::vector<float> w(int64_t{s.in} * s.out), b(s.out);
    for (float& v : w) v = nd(rng) * 0.05f;
    for (float& v : b) v = nd(rng) * 0.1f;
    const PackedLinear layer(w.data(), b.data(), s.in, s.out, PackedLinear::Layout::kInputMajor);
    for (int rows : {16, 128, 512}) {
      std::vector<float> x(int64_t{rows} * s.in);
      for (float& v : x) v = nd(rng);
      std::vector<float> ref(int64_t{rows} * s.out), y(ref.size());
      layer.Apply(x.data(), rows, ref.data(), false, LinearPrecision::kF32);
      double scale = 0;
      for (float v : ref) scale = std::max(scale, double{std::fabs(v)});
      std::printf("| %s | %d x %d | %d", s.what, s.in, s.out, rows);
      double f32_ms = 0;
      for (LinearPrecision p : kPrecisions) {
        const double ms = FastestMs(reps, [&] { layer.Apply(x.data(), rows, y.data(), false, p); });
        if (p == LinearPrecision::kF32) {
          f32_ms = ms;
          std::printf(" | %.4f", ms);
          continue;
        }
        double err = 0;
        for (size_t i = 0; i < y.size(); ++i) err = std::max(err, double{std::fabs(y[i] - ref[i])});
        std::printf(" | %.4f | %.2f | %.4f", ms, f32_ms / ms, err / scale);
      }
      std::printf(" |\n");
    }
  }
}

// The integer GEMM alone: the arm64 s8 GEMM (s8_gemm.h) on every path this
// CPU runs against this build's integer GEMM (oneDNN's u8s8 on x86) and f32
// GEMM, same shapes, one run. Off arm64 the NEON paths run translated by
// SIMDe: their times measure the translation, not an arm64 core.
void S8GemmTable(int reps) {
  const Shape shapes[] = {{"use-lite qkv L0", 256, 768},
                          {"use-lite ffn-up", 512, 2048},
                          {"use-lite ffn-down", 2048, 512},
                          {"bert-base ffn-up", 768, 3072}};
  std::vector<S8GemmPath> paths;
  for (S8GemmPath p : {S8GemmPath::kPortable, S8GemmPath::kNeon, S8GemmPath::kNeonDot}) {
    if (S8GemmPathRuns(p)) paths.push_back(p);
  }
  std::printf("\n## Integer GEMM alone (ms per call; x = %s u8s8 ms / this ms)\n\n",
              std::string(GemmBackendName()).c_str());
  std::printf("| layer | in x out | rows | f32 GEMM ms | u8s8 GEMM ms |");
  for (S8GemmPath p : paths) {
    std::printf(" s8 %s%s ms | x |", std::string(S8GemmPathName(p)).c_str(),
                S8GemmPathIsNative(p) ? "" : " (SIMDe)");
  }
  std::printf("\n|---|---|---|---|---|");
  for (size_t i = 0; i < paths.size(); ++i) std::printf("---|---|");
  std::printf("\n");
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> s8(-127, 127), u8(0, 255);
  for (const Shape& s : shapes) {
    std::vector<int8_t> w(int64_t{s.in} * s.out);
    for (int8_t& v : w) v = static_cast<int8_t>(s8(rng));
    std::vector<float> wf(w.begin(), w.end());
    const PackedS8Weights packed(w.data(), s.in, s.out);
    for (int rows : {16, 128}) {
      std::vector<uint8_t> xu(int64_t{rows} * s.in);
      for (uint8_t& v : xu) v = static_cast<uint8_t>(u8(rng));
      std::vector<int8_t> xs(xu.size());
      for (size_t i = 0; i < xu.size(); ++i) xs[i] = static_cast<int8_t>(xu[i] ^ 0x80);
      std::vector<float> xf(xu.begin(), xu.end()), yf(int64_t{rows} * s.out);
      std::vector<int32_t> c(int64_t{rows} * s.out);
      const double f32_ms = FastestMs(reps, [&] {
        Sgemm(false, false, rows, s.out, s.in, 1.0f, xf.data(), s.in, wf.data(), s.out, 0.0f,
              yf.data(), s.out);
      });
      const double u8_ms = FastestMs(reps, [&] {
        GemmU8S8NN(rows, s.out, s.in, xu.data(), s.in, w.data(), s.out, c.data(), s.out);
      });
      std::printf("| %s | %d x %d | %d | %.4f | %.4f |", s.what, s.in, s.out, rows, f32_ms, u8_ms);
      for (S8GemmPath p : paths) {
        const double ms =
            FastestMs(reps, [&] { packed.Multiply(p, xs.data(), rows, s.in, c.data(), s.out); });
        std::printf(" %.4f | %.2f |", ms, u8_ms / ms);
      }
      std::printf("\n");
    }
  }
}

#if defined(ATTNSERVE_GEMM_ONEDNN)
// Fastest ms of one oneDNN matmul x[rows, k] W[k, n] with W reordered once
// into the primitive's preferred layout: the form PackedLinear runs. `src`
// picks u8 or s8 activations for the integer case (oneDNN adds a
// compensation term for s8 ones on VNNI); 0 when oneDNN has no such matmul.
double PackedMatmulMs(dnnl::memory::data_type src, dnnl::memory::data_type wei,
                      dnnl::memory::data_type dst, int64_t rows, int64_t k, int64_t n, int reps,
                      bool cold = false) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  try {
    const dnnl::memory::desc src_md({rows, k}, src, tag::ab), dst_md({rows, n}, dst, tag::ab);
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(src_md, dnnl::memory::desc({k, n}, wei, tag::any), dst_md), engine);
    const dnnl::memory::desc plain_md({k, n}, wei, tag::ab);
    std::vector<uint8_t> plain_bytes(plain_md.get_size(), 1), src_bytes(src_md.get_size(), 3);
    if (wei == dt::f32) {
      std::vector<float> w(k * n, 0.01f);
      std::memcpy(plain_bytes.data(), w.data(), plain_bytes.size());
    }
    if (src == dt::f32) {
      std::vector<float> x(rows * k, 0.5f);
      std::memcpy(src_bytes.data(), x.data(), src_bytes.size());
    }
    dnnl::memory plain(plain_md, engine, plain_bytes.data());
    dnnl::memory packed(pd.weights_desc(), engine);
    dnnl::reorder(plain, packed).execute(stream, plain, packed);
    dnnl::memory x(src_md, engine, src_bytes.data()), y(dst_md, engine);
    const dnnl::matmul matmul(pd);
    const auto run = [&] {
      matmul.execute(stream, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_DST, y}});
      stream.wait();
    };
    return cold ? FastestColdMs(reps, run) : FastestMs(reps, run);
  } catch (const dnnl::error&) {
    return 0;
  }
}

// f32, u8 x s8 and s8 x s8 on packed weights, per layer shape: which integer
// form this CPU runs faster (issue 22 asked for s8s8 vs u8s8).
void MatmulTable(int reps) {
  using dt = dnnl::memory::data_type;
  const Shape shapes[] = {{"use-lite qkv L0", 256, 768},    {"use-lite qkv L1", 512, 1536},
                          {"use-lite out L1", 512, 512},    {"use-lite ffn-up", 512, 2048},
                          {"use-lite ffn-down", 2048, 512}, {"minilm qkv", 384, 1152},
                          {"minilm ffn-up", 384, 1536},     {"minilm ffn-down", 1536, 384},
                          {"bert-base ffn-up", 768, 3072}};
  std::printf(
      "\n## oneDNN matmul on packed weights (ms per call; x = f32 ms / this ms)\n\n"
      "| layer | in x out | rows | f32 ms | u8s8 ms | x | s8s8 ms | x | s8s8 / u8s8 time |\n"
      "|---|---|---|---|---|---|---|---|---|\n");
  for (const Shape& s : shapes) {
    for (int rows : {16, 128}) {
      const double f32 = PackedMatmulMs(dt::f32, dt::f32, dt::f32, rows, s.in, s.out, reps);
      const double u8 = PackedMatmulMs(dt::u8, dt::s8, dt::s32, rows, s.in, s.out, reps);
      const double s8 = PackedMatmulMs(dt::s8, dt::s8, dt::s32, rows, s.in, s.out, reps);
      std::printf("| %s | %d x %d | %d | %.4f | %.4f | %.2f | %.4f | %.2f | %.2f |\n", s.what, s.in,
                  s.out, rows, f32, u8, u8 > 0 ? f32 / u8 : 0.0, s8, s8 > 0 ? f32 / s8 : 0.0,
                  u8 > 0 ? s8 / u8 : 0.0);
    }
  }
}

// USE-lite's layer shapes with their weights in the cache and out of it, f32
// and u8s8 (issue 22: f32 at 16 tokens runs below its GEMM limit in the
// engine though each GEMM alone, hot, runs near it).
void ColdWeightsTable(int reps) {
  using dt = dnnl::memory::data_type;
  struct Layer {
    Shape shape;
    int per_request;  // times one request runs it
  };
  const Layer layers[] = {{{"qkv L0", 256, 768}, 1},  {{"residual / out L0", 256, 512}, 2},
                          {{"qkv L1", 512, 1536}, 1}, {{"out L1", 512, 512}, 1},
                          {{"ffn-up", 512, 2048}, 2}, {{"ffn-down", 2048, 512}, 2}};
  std::printf(
      "\n## USE-lite layers, weights in cache (hot) and evicted (cold) (ms per call)\n\n"
      "| layer | in x out | rows | f32 hot | f32 cold | cold / hot | u8s8 hot | u8s8 cold | "
      "cold / hot |\n|---|---|---|---|---|---|---|---|---|\n");
  double sums[2][4] = {};
  for (const Layer& layer : layers) {
    const Shape& s = layer.shape;
    for (int r = 0; r < 2; ++r) {
      const int rows = r == 0 ? 16 : 128;
      const double f_hot = PackedMatmulMs(dt::f32, dt::f32, dt::f32, rows, s.in, s.out, reps);
      const double f_cold =
          PackedMatmulMs(dt::f32, dt::f32, dt::f32, rows, s.in, s.out, reps, /*cold=*/true);
      const double q_hot = PackedMatmulMs(dt::u8, dt::s8, dt::s32, rows, s.in, s.out, reps);
      const double q_cold =
          PackedMatmulMs(dt::u8, dt::s8, dt::s32, rows, s.in, s.out, reps, /*cold=*/true);
      const double row[4] = {f_hot, f_cold, q_hot, q_cold};
      for (int i = 0; i < 4; ++i) sums[r][i] += layer.per_request * row[i];
      std::printf("| %s | %d x %d | %d | %.4f | %.4f | %.2f | %.4f | %.4f | %.2f |\n", s.what, s.in,
                  s.out, rows, f_hot, f_cold, f_cold / f_hot, q_hot, q_cold, q_cold / q_hot);
    }
  }
  for (int r = 0; r < 2; ++r) {
    std::printf(
        "| **all of one request's GEMMs** | | %d | %.3f | %.3f | %.2f | %.3f | %.3f | %.2f |\n",
        r == 0 ? 16 : 128, sums[r][0], sums[r][1], sums[r][1] / sums[r][0], sums[r][2], sums[r][3],
        sums[r][3] / sums[r][2]);
  }
}
#endif

int ModelTable(const std::string& model_dir, const std::string& passages_file, int reps) {
  std::ifstream in(passages_file);
  if (!in) {
    std::fprintf(stderr, "linear_bench: cannot open %s\n", passages_file.c_str());
    return 2;
  }
  const nlohmann::json passages = nlohmann::json::parse(in);
  const std::string text = passages.at("passages").at(0).at("text").get<std::string>();
  EngineConfig config;
  config.model_dir = model_dir;
  auto engine = Engine::Load(config);
  if (!engine.ok()) {
    std::fprintf(stderr, "linear_bench: %s\n", std::string(engine.status().message()).c_str());
    return 2;
  }
  const int dim = (*engine)->model_info().embedding_dim;
  std::printf("\n## %s end to end (one text, one thread; ms per call)\n\n",
              (*engine)->model_info().name.c_str());
  std::printf("| tokens | f32 ms | int8 ms | x | cosine | bf16 ms | x | cosine |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (int tokens : {16, 128, 512}) {
    // About 8 characters per token, cut at a space: the text is not much longer
    // than the clip, so tokenising it does not swamp the forward pass.
    const std::string head = text.substr(0, text.rfind(' ', static_cast<size_t>(tokens) * 8));
    std::vector<float> ref;
    double f32_ms = 0;
    std::printf("| %d", tokens);
    for (LinearPrecision p : kPrecisions) {
      RunOptions o;
      o.num_threads = 1;
      o.max_tokens = tokens;
      o.linear_precision = p;
      std::vector<float> embedding;
      bool failed = false;
      const double ms = FastestMs(reps, [&] {
        auto r = (*engine)->Embed({head}, o);
        if (!r.ok()) {
          failed = true;
          return;
        }
        embedding.assign(r->embedding(0), r->embedding(0) + dim);
      });
      if (failed) {
        std::fprintf(stderr, "linear_bench: embed failed at %d tokens\n", tokens);
        return 1;
      }
      if (p == LinearPrecision::kF32) {
        ref = embedding;
        f32_ms = ms;
        std::printf(" | %.3f", ms);
      } else {
        std::printf(" | %.3f | %.2f | %.6f", ms, f32_ms / ms,
                    Cosine(embedding.data(), ref.data(), dim));
      }
    }
    std::printf(" |\n");
  }
  return 0;
}

// The CPU features that decide which int8 / bf16 kernels oneDNN can use.
std::string Flags() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line, found;
  while (std::getline(cpu, line)) {
    if (line.rfind("flags", 0) != 0 && line.rfind("Features", 0) != 0) continue;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      for (const char* f : {"avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8",
                            "amx_bf16", "asimddp", "bf16", "i8mm"}) {
        if (word == f) found += (found.empty() ? "" : " ") + word;
      }
    }
    break;
  }
  return found.empty() ? "none of interest" : found;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  std::string model = "models/use-lite", passages = "bench/data/quality_passages.json";
  int reps = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--model") {
      model = argv[i + 1];
    } else if (flag == "--passages") {
      passages = argv[i + 1];
    } else if (flag == "--reps") {
      reps = std::max(1, std::atoi(argv[i + 1]));
    } else {
      std::fprintf(stderr, "linear_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  attnserve::PrepareComputeThreads(1);
  std::ifstream load("/proc/loadavg");
  std::string load_avg;
  std::getline(load, load_avg);
  std::printf("# linear_bench: dense layers in f32 / int8 / bf16\n\n");
  std::printf("CPU features: %s; int8 activations quantised to [0, %d]; load average: %s\n",
              attnserve::Flags().c_str(), attnserve::Int8ActivationMax(), load_avg.c_str());
  attnserve::LayerTable(reps);
  attnserve::S8GemmTable(reps);
#if defined(ATTNSERVE_GEMM_ONEDNN)
  attnserve::MatmulTable(reps);
  attnserve::ColdWeightsTable(reps);
#endif
  return attnserve::ModelTable(model, passages, reps);
}
