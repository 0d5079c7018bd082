#include "engine/kernels/packed_linear.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "absl/base/call_once.h"
#include "engine/kernels/gemm.h"
#include "engine/kernels/lowp_gemm.h"
#include "engine/kernels/row_quantize.h"

#if defined(ATTNSERVE_GEMM_ONEDNN)
#include "oneapi/dnnl/dnnl.hpp"
#endif

namespace attnserve {

struct PackedLinear::Packs {
  absl::once_flag int8_once, bf16_once;
  std::atomic<int64_t> bytes{0};
  // int8: w = w_scale[j] * w8[k, j]; w_colsum[j] = sum_k w8[k, j].
  std::vector<float> w_scale;
  std::vector<int32_t> w_colsum;
  std::vector<int8_t> w8;     // [in, out]; portable backend only
  std::vector<uint16_t> w16;  // [in, out] bf16; portable backend only
#if defined(ATTNSERVE_GEMM_ONEDNN)
  dnnl::memory int8_packed, bf16_packed;  // in the matmul primitive's own layout
#endif
};

namespace {

// Per-thread buffers of one Apply: quantised or rounded input, raw output.
struct Scratch {
  std::vector<uint8_t> xq;
  std::vector<uint16_t> x16;
  std::vector<float> row_scale, tmp;
  std::vector<int32_t> row_zero, acc;
};
Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

#if defined(ATTNSERVE_GEMM_ONEDNN)
const dnnl::engine& CpuEngine() {
  static const dnnl::engine* const kEngine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *kEngine;
}

// Row counts are rounded up to a few buckets (the pad rows are zeros) so that
// the primitive cache holds a bounded set of shapes: a miss costs a JIT
// compile of 0.1-5 ms.
int64_t PaddedRows(int64_t rows) {
  const int64_t step = rows <= 64 ? 16 : rows <= 512 ? 64 : rows <= 4096 ? 256 : 1024;
  return (rows + step - 1) / step * step;
}

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::matmul::primitive_desc MatmulDesc(int64_t m, int64_t k, int64_t n, dt src, dt wei, dt dst,
                                        const dnnl::memory::desc* packed) {
  const dnnl::memory::desc src_md({m, k}, src, tag::ab);
  const dnnl::memory::desc wei_md = packed ? *packed : dnnl::memory::desc({k, n}, wei, tag::any);
  const dnnl::memory::desc dst_md({m, n}, dst, tag::ab);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_md, dst_md), CpuEngine());
}

// Reorders row-major [k, n] weights into the layout the matmul prefers.
dnnl::memory PackWeights(const void* w, int64_t k, int64_t n, dt src, dt wei, dt dst) {
  const dnnl::memory::desc packed_md = MatmulDesc(64, k, n, src, wei, dst, nullptr).weights_desc();
  dnnl::memory plain({{k, n}, wei, tag::ab}, CpuEngine(), const_cast<void*>(w));
  dnnl::memory packed(packed_md, CpuEngine());
  dnnl::stream stream(CpuEngine());
  dnnl::reorder(plain, packed).execute(stream, plain, packed);
  stream.wait();
  return packed;
}

// x [m, k] (m already padded) times packed weights into dst [m, n].
void RunMatmul(const void* x, int64_t m, int64_t k, int64_t n, dt src, dt dst,
               const dnnl::memory& packed, void* out) {
  const dnnl::memory::desc packed_md = packed.get_desc();
  const auto pd = MatmulDesc(m, k, n, src, packed_md.data_type(), dst, &packed_md);
  thread_local dnnl::stream stream(CpuEngine());
  dnnl::memory src_mem(pd.src_desc(), CpuEngine(), const_cast<void*>(x));
  dnnl::memory dst_mem(pd.dst_desc(), CpuEngine(), out);
  dnnl::matmul(pd).execute(
      stream, {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_DST, dst_mem}});
  stream.wait();
}
#else
int64_t PaddedRows(int64_t rows) { return rows; }
#endif

// y[r, :] (=|+=) tmp[r, :] + bias.
void AddBiasRows(const float* tmp, int64_t rows, int64_t n, const float* bias, float* y,
                 int64_t ldy, bool accumulate) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* t = tmp + r * n;
    float* yr = y + r * ldy;
    if (accumulate) {
      for (int64_t j = 0; j < n; ++j) yr[j] += t[j];
    } else {
      for (int64_t j = 0; j < n; ++j) yr[j] = t[j];
    }
    if (bias != nullptr) {
      for (int64_t j = 0; j < n; ++j) yr[j] += bias[j];
    }
  }
}

}  // namespace

int Int8ActivationMax() {
#if defined(ATTNSERVE_GEMM_ONEDNN)
  // cpu_isa values are bit sets: an ISA includes another's bits.
  static const int kMax = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto has = [isa](dnnl::cpu_isa x) {
      return (isa & static_cast<unsigned>(x)) == static_cast<unsigned>(x);
    };
    return has(dnnl::cpu_isa::avx512_core_vnni) || has(dnnl::cpu_isa::avx2_vnni) ? 255 : 127;
  }();
  return kMax;
#else
  return 255;
#endif
}

PackedLinear::PackedLinear(const float* weight, const float* bias, int in, int out, Layout layout)
    : weight_(weight),
      bias_(bias),
      in_(in),
      out_(out),
      layout_(layout),
      packs_(std::make_shared<Packs>()) {}

int64_t PackedLinear::packed_bytes() const {
  return packs_ ? packs_->bytes.load(std::memory_order_relaxed) : 0;
}

void PackedLinear::ApplyF32(const float* x, int64_t rows, float* y, bool accumulate,
                            int64_t ldy) const {
  float beta = accumulate ? 1.0f : 0.0f;
  if (bias_ != nullptr) {
    for (int64_t i = 0; i < rows; ++i) {
      float* row = y + i * ldy;
      if (accumulate) {
        for (int j = 0; j < out_; ++j) row[j] += bias_[j];
      } else {
        std::memcpy(row, bias_, sizeof(float) * out_);
      }
    }
    beta = 1.0f;
  }
  if (layout_ == Layout::kInputMajor) {
    Sgemm(false, false, rows, out_, in_, 1.0f, x, in_, weight_, out_, beta, y, ldy);
  } else {
    Sgemm(false, true, rows, out_, in_, 1.0f, x, in_, weight_, in_, beta, y, ldy);
  }
}

void PackedLinear::Apply(const float* x, int64_t rows, float* y, bool accumulate,
                         LinearPrecision precision, int64_t ldy) const {
  if (ldy == 0) ldy = out_;
  if (rows == 0) return;
  if (precision == LinearPrecision::kF32 || packs_ == nullptr) {
    ApplyF32(x, rows, y, accumulate, ldy);
    return;
  }
  const int64_t k = in_, n = out_;
  auto weight_at = [&](int64_t kk, int64_t j) {
    return layout_ == Layout::kInputMajor ? weight_[kk * n + j] : weight_[j * k + kk];
  };
  Packs& p = *packs_;
  Scratch& s = ThreadScratch();
  const int64_t padded = PaddedRows(rows);

  if (precision == LinearPrecision::kBf16) {
    absl::call_once(p.bf16_once, [&] {
      std::vector<uint16_t> w16(k * n);
      for (int64_t kk = 0; kk < k; ++kk) {
        for (int64_t j = 0; j < n; ++j) w16[kk * n + j] = ToBf16(weight_at(kk, j));
      }
#if defined(ATTNSERVE_GEMM_ONEDNN)
      p.bf16_packed = PackWeights(w16.data(), k, n, dt::bf16, dt::bf16, dt::f32);
      p.bytes += static_cast<int64_t>(p.bf16_packed.get_desc().get_size());
#else
      p.w16 = std::move(w16);
      p.bytes += static_cast<int64_t>(p.w16.size() * sizeof(uint16_t));
#endif
    });
    s.x16.assign(padded * k, 0);
    for (int64_t i = 0; i < rows * k; ++i) s.x16[i] = ToBf16(x[i]);
    s.tmp.resize(padded * n);
#if defined(ATTNSERVE_GEMM_ONEDNN)
    RunMatmul(s.x16.data(), padded, k, n, dt::bf16, dt::f32, p.bf16_packed, s.tmp.data());
#else
    GemmBf16(false, rows, n, k, s.x16.data(), k, p.w16.data(), n, s.tmp.data(), n);
#endif
    AddBiasRows(s.tmp.data(), rows, n, bias_, y, ldy, accumulate);
    return;
  }

  // int8
  absl::call_once(p.int8_once, [&] {
    std::vector<int8_t> w8(k * n);
    p.w_scale.assign(n, 1.0f);
    p.w_colsum.assign(n, 0);
    for (int64_t j = 0; j < n; ++j) {
      float amax = 0.0f;
      for (int64_t kk = 0; kk < k; ++kk) amax = std::max(amax, std::fabs(weight_at(kk, j)));
      const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
      p.w_scale[j] = scale;
      int32_t colsum = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const float q = std::nearbyint(weight_at(kk, j) / scale);
        w8[kk * n + j] = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
        colsum += w8[kk * n + j];
      }
      p.w_colsum[j] = colsum;
    }
    p.bytes += static_cast<int64_t>(n * (sizeof(float) + sizeof(int32_t)));
#if defined(ATTNSERVE_GEMM_ONEDNN)
    p.int8_packed = PackWeights(w8.data(), k, n, dt::u8, dt::s8, dt::s32);
    p.bytes += static_cast<int64_t>(p.int8_packed.get_desc().get_size());
#else
    p.w8 = std::move(w8);
    p.bytes += static_cast<int64_t>(p.w8.size());
#endif
  });
  s.xq.resize(padded * k);
  s.row_scale.resize(rows);
  s.row_zero.resize(rows);
  QuantizeRowsU8(x, rows, k, Int8ActivationMax(), s.xq.data(), s.row_scale.data(),
                 s.row_zero.data());
  std::fill(s.xq.begin() + rows * k, s.xq.end(), uint8_t{0});
  s.acc.resize(padded * n);
#if defined(ATTNSERVE_GEMM_ONEDNN)
  RunMatmul(s.xq.data(), padded, k, n, dt::u8, dt::s32, p.int8_packed, s.acc.data());
#else
  GemmU8S8NN(rows, n, k, s.xq.data(), k, p.w8.data(), n, s.acc.data(), n);
#endif
  DequantizeRows(s.acc.data(), rows, n, s.row_scale.data(), s.row_zero.data(), p.w_scale.data(),
                 p.w_colsum.data(), bias_, y, ldy, accumulate);
}

}  // namespace attnserve
