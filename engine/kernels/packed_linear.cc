#include "engine/kernels/packed_linear.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "absl/base/call_once.h"
#include "engine/kernels/gemm.h"
#include "engine/kernels/lowp_gemm.h"
#include "engine/kernels/row_quantize.h"
#include "engine/kernels/s8_gemm.h"
#include "engine/util/run_profile.h"
#include "engine/util/thread_scratch.h"

#if defined(ATTNSERVE_GEMM_ONEDNN)
#include <omp.h>

#include "oneapi/dnnl/dnnl.hpp"
#endif

namespace attnserve {

// Which form each precision runs in is decided once, at its first use:
//   f32:  oneDNN matmul on weights reordered into its blocked layout, up to
//         512 rows (ApplyF32); past that, or on OpenBLAS, the GEMM API on the
//         weights as loaded (output-major ones transposed once where no
//         matmul pack exists).
//   int8: oneDNN matmul on weights reordered into its blocked layout (AMX /
//         VNNI kernels); if this CPU has no such kernel (oneDNN refuses the
//         primitive, e.g. AVX2 only), the GEMM API on plain s8 weights; on the
//         OpenBLAS backend, the packed s8 GEMM where it has a SIMD path (arm64
//         NEON / SDOT, s8_gemm.h), else the integer products in an f32 GEMM.
//   bf16: oneDNN matmul on packed bf16 weights where the CPU has bf16
//         instructions (AVX512_BF16, AMX); elsewhere oneDNN only emulates
//         bf16 (4x slower than f32, measured), so an f32 GEMM runs on
//         bf16-rounded weights and inputs: the same products, f32 speed.
struct PackedLinear::Packs {
  absl::once_flag int8_once, int8_plain_once, bf16_once, bf16_rounded_once, f32_once,
      f32_packed_once;
  std::atomic<int64_t> bytes{0};
  // int8: w = w_scale[j] * w8[k, j]; w_colsum[j] = sum_k w8[k, j].
  std::vector<float> w_scale;
  std::vector<int32_t> w_colsum;
  std::vector<int8_t> w8;  // [in, out]; the plain form only (oneDNN's GEMM API)
  std::vector<float> w8f;  // the same integers as floats (OpenBLAS backend)
  PackedS8Weights s8;      // panels for the s8 GEMM (OpenBLAS backend, arm64)
  bool s8_ok = false;
  std::vector<float> w_rounded;      // [in, out] bf16-rounded; the emulated bf16 form only
  std::vector<float> w_input_major;  // [in, out] f32 copy of output-major weights
  bool int8_packed_ok = false, bf16_packed_ok = false, f32_packed_ok = false;
#if defined(ATTNSERVE_GEMM_ONEDNN)
  dnnl::memory int8_packed, bf16_packed, f32_packed;  // in the matmul primitive's own layout
#endif
};

// Rows quantised for an int8 product: u8 per token (QuantizeRowsU8's form)
// with each row's scale and zero point; the pad rows of q are zeros.
struct PackedLinear::QuantizedRows {
  std::vector<uint8_t> q;
  std::vector<float> scale;
  std::vector<int32_t> zero;
};

namespace {

using QuantizedRows = PackedLinear::QuantizedRows;

// Per-thread buffers of one Apply: quantised or rounded input, raw output;
// `hidden` holds a feed-forward pair's requantised middle activations.
struct Scratch {
  QuantizedRows xq, hidden;
  std::vector<uint16_t> x16;
  std::vector<float> xf, tmp, row;
  std::vector<int32_t> acc;
};
Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

float RoundedToBf16(float x) { return FromBf16(ToBf16(x)); }

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

// Reorders [k, n] weights (row-major, or stored [n, k] when `w_tag` is ba)
// into the layout the matmul prefers. False (nothing packed) when oneDNN has
// no matmul for these types here.
bool PackWeights(const void* w, int64_t k, int64_t n, dt src, dt wei, dt dst, dnnl::memory* packed,
                 tag w_tag = tag::ab) {
  try {
    const dnnl::memory::desc packed_md =
        MatmulDesc(64, k, n, src, wei, dst, nullptr).weights_desc();
    dnnl::memory plain({{k, n}, wei, w_tag}, CpuEngine(), const_cast<void*>(w));
    *packed = dnnl::memory(packed_md, CpuEngine());
    dnnl::stream stream(CpuEngine());
    dnnl::reorder(plain, *packed).execute(stream, plain, *packed);
    stream.wait();
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

// A matmul primitive with its source and destination memory objects (no
// buffer of their own), for one shape. Making them costs about 35
// allocations and a primitive-cache lookup, so each thread keeps the ones it
// made (thread_scratch.h's switch turns this off, as before).
struct MatmulCall {
  int64_t m = 0, k = 0, n = 0;
  int threads = 0;  // a primitive splits its work for the thread count it was made under
  dt src = dt::undef, dst = dt::undef;
  dnnl::memory::desc weights;
  dnnl::matmul matmul;
  dnnl::memory src_mem, dst_mem;
};

// Shapes kept per thread: padded row buckets x distinct layer shapes.
constexpr size_t kMaxKeptMatmuls = 256;

MatmulCall& FindOrMakeMatmul(int64_t m, int64_t k, int64_t n, dt src, dt dst,
                             const dnnl::memory::desc& weights) {
  thread_local std::vector<MatmulCall> calls;
  if (!KeepThreadScratch() || calls.size() >= kMaxKeptMatmuls) calls.clear();
  const int threads = omp_get_max_threads();
  for (MatmulCall& c : calls) {
    if (c.m == m && c.k == k && c.n == n && c.threads == threads && c.src == src && c.dst == dst &&
        c.weights == weights) {
      return c;
    }
  }
  const ProfileScope setup(ProfilePhase::kGemmSetup);
  const auto pd = MatmulDesc(m, k, n, src, weights.data_type(), dst, &weights);
  calls.push_back(MatmulCall{m, k, n, threads, src, dst, weights, dnnl::matmul(pd),
                             dnnl::memory(pd.src_desc(), CpuEngine(), DNNL_MEMORY_NONE),
                             dnnl::memory(pd.dst_desc(), CpuEngine(), DNNL_MEMORY_NONE)});
  return calls.back();
}

// x [m, k] (m already padded) times packed weights into dst [m, n]; false
// when oneDNN refuses this shape (the caller then takes the plain path).
bool RunMatmul(const void* x, int64_t m, int64_t k, int64_t n, dt src, dt dst,
               const dnnl::memory& packed, void* out) {
  try {
    MatmulCall& call = FindOrMakeMatmul(m, k, n, src, dst, packed.get_desc());
    thread_local dnnl::stream stream(CpuEngine());
    call.src_mem.set_data_handle(const_cast<void*>(x));
    call.dst_mem.set_data_handle(out);
    // The C call: the C++ one builds an unordered_map of the arguments.
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, call.src_mem.get()},
                                    {DNNL_ARG_WEIGHTS, packed.get()},
                                    {DNNL_ARG_DST, call.dst_mem.get()}};
    if (dnnl_primitive_execute(call.matmul.get(), stream.get(), 3, args) != dnnl_success) {
      return false;
    }
    return dnnl_stream_wait(stream.get()) == dnnl_success;
  } catch (const dnnl::error&) {
    return false;
  }
}
#else
int64_t PaddedRows(int64_t rows) { return rows; }
#endif

// y[r, :] += bias for `rows` rows ldy apart; nothing when bias is null.
void AddBias(const float* bias, int64_t rows, int64_t n, float* y, int64_t ldy) {
  if (bias == nullptr) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* yr = y + r * ldy;
    for (int64_t j = 0; j < n; ++j) yr[j] += bias[j];
  }
}

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
    AddBias(bias, 1, n, yr, ldy);
  }
}

}  // namespace

int Int8ActivationMax() {
#if defined(ATTNSERVE_GEMM_ONEDNN)
  static const int kMax = OnednnHasVnni() ? 255 : 127;
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

float PackedLinear::WeightAt(int64_t k, int64_t j) const {
  return layout_ == Layout::kInputMajor ? weight_[k * out_ + j] : weight_[j * in_ + k];
}

std::vector<int8_t> PackedLinear::QuantizedWeights() const {
  const int64_t k = in_, n = out_;
  std::vector<int8_t> w8(k * n);
  for (int64_t j = 0; j < n; ++j) {
    const float scale = packs_->w_scale[j];
    for (int64_t kk = 0; kk < k; ++kk) {
      const float q = std::nearbyint(WeightAt(kk, j) / scale);
      w8[kk * n + j] = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
    }
  }
  return w8;
}

void PackedLinear::EnsurePlainInt8(std::vector<int8_t> w8) const {
  Packs& p = *packs_;
  absl::call_once(p.int8_plain_once, [&] {
    if (w8.empty()) w8 = QuantizedWeights();
#if defined(ATTNSERVE_GEMM_ONEDNN)
    p.w8 = std::move(w8);
    p.bytes += static_cast<int64_t>(p.w8.size());
#else
    p.w8f.assign(w8.begin(), w8.end());
    p.bytes += static_cast<int64_t>(p.w8f.size() * sizeof(float));
#endif
  });
}

void PackedLinear::EnsureRoundedBf16() const {
  Packs& p = *packs_;
  absl::call_once(p.bf16_rounded_once, [&] {
    const int64_t k = in_, n = out_;
    p.w_rounded.resize(k * n);
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int64_t j = 0; j < n; ++j) p.w_rounded[kk * n + j] = RoundedToBf16(WeightAt(kk, j));
    }
    p.bytes += static_cast<int64_t>(p.w_rounded.size() * sizeof(float));
  });
}

void PackedLinear::EnsureInt8() const {
  const int64_t k = in_, n = out_;
  Packs& p = *packs_;
  absl::call_once(p.int8_once, [&] {
    p.w_scale.assign(n, 1.0f);
    for (int64_t j = 0; j < n; ++j) {
      float amax = 0.0f;
      for (int64_t kk = 0; kk < k; ++kk) amax = std::max(amax, std::fabs(WeightAt(kk, j)));
      if (amax > 0.0f) p.w_scale[j] = amax / 127.0f;
    }
    std::vector<int8_t> w8 = QuantizedWeights();
    p.w_colsum.assign(n, 0);
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int64_t j = 0; j < n; ++j) p.w_colsum[j] += w8[kk * n + j];
    }
    p.bytes += static_cast<int64_t>(n * (sizeof(float) + sizeof(int32_t)));
#if defined(ATTNSERVE_GEMM_ONEDNN)
    p.int8_packed_ok = PackWeights(w8.data(), k, n, dt::u8, dt::s8, dt::s32, &p.int8_packed);
    if (p.int8_packed_ok) p.bytes += static_cast<int64_t>(p.int8_packed.get_desc().get_size());
#else
    p.s8_ok = BestS8GemmPath() != S8GemmPath::kPortable;
    if (p.s8_ok) {
      p.s8 = PackedS8Weights(w8.data(), k, n);
      p.bytes += p.s8.bytes();
      return;
    }
#endif
    // No packed form: the plain one takes these weights instead of quantising again.
    if (!p.int8_packed_ok) EnsurePlainInt8(std::move(w8));
  });
}

namespace {

// x [rows, cols] quantised per row into `out`, its pad rows zeroed.
void QuantizeInput(const float* x, int64_t rows, int64_t cols, QuantizedRows* out) {
  const ProfileScope scope(ProfilePhase::kQuantize);
  const int64_t padded = PaddedRows(rows);
  out->q.resize(padded * cols);
  out->scale.resize(rows);
  out->zero.resize(rows);
  QuantizeRowsU8(x, rows, cols, Int8ActivationMax(), out->q.data(), out->scale.data(),
                 out->zero.data());
  std::fill(out->q.begin() + rows * cols, out->q.end(), uint8_t{0});
}

// Rows per int8 product. On oneDNN a long input's s32 product left the
// cache before the rescale read it back: 515 rows took 1.5x the per-row
// time of 16 (request_profile batch32). Blocks of 32 keep it in L2; the
// layers are per token and integer products exact, so blocks change no
// bit. The other backends were not measured so and take the rows whole.
int64_t Int8RowBlock(int64_t rows) {
#if defined(ATTNSERVE_GEMM_ONEDNN)
  (void)rows;
  return 32;
#else
  return rows;
#endif
}

}  // namespace

const int32_t* PackedLinear::MultiplyInt8(QuantizedRows* x, int64_t rows) const {
  const int64_t k = in_, n = out_;
  EnsureInt8();
  Packs& p = *packs_;
  Scratch& s = ThreadScratch();
  const int64_t padded = PaddedRows(rows);
  s.acc.resize(padded * n);
  bool done = false;
#if defined(ATTNSERVE_GEMM_ONEDNN)
  done = p.int8_packed_ok &&
         RunMatmul(x->q.data(), padded, k, n, dt::u8, dt::s32, p.int8_packed, s.acc.data());
#else
  if (p.s8_ok) {
    // The s8 GEMM takes signed activations: x - 128 (the top bit flipped,
    // in place), with each row's zero point moved by the same 128.
    for (int64_t i = 0; i < rows * k; ++i) x->q[i] ^= 0x80u;
    for (int64_t r = 0; r < rows; ++r) x->zero[r] -= 128;
    p.s8.Multiply(reinterpret_cast<const int8_t*>(x->q.data()), rows, k, s.acc.data(), n);
    done = true;
  }
#endif
  if (!done) {
    EnsurePlainInt8();
#if defined(ATTNSERVE_GEMM_ONEDNN)
    GemmU8S8NN(rows, n, k, x->q.data(), k, p.w8.data(), n, s.acc.data(), n, Int8ActivationMax());
#else
    // No fast integer GEMM here (Debian's arm64 oneDNN has only a reference
    // one): the integer products in an f32 GEMM, exact up to sums of 2^24,
    // so int8 gives the int8 model's numbers at f32 speed.
    s.xf.assign(x->q.begin(), x->q.begin() + rows * k);
    s.tmp.resize(rows * n);
    Sgemm(false, false, rows, n, k, 1.0f, s.xf.data(), k, p.w8f.data(), n, 0.0f, s.tmp.data(), n);
    for (int64_t i = 0; i < rows * n; ++i) s.acc[i] = static_cast<int32_t>(std::lrint(s.tmp[i]));
#endif
  }
  return s.acc.data();
}

void PackedLinear::ApplyInt8(const float* x, int64_t rows, float* y, bool accumulate,
                             int64_t ldy) const {
  Scratch& s = ThreadScratch();
  const int64_t block = Int8RowBlock(rows);
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t m = std::min(block, rows - r0);
    QuantizeInput(x + r0 * in_, m, in_, &s.xq);
    MultiplyRescaled(&s.xq, m, y + r0 * ldy, accumulate, ldy);
  }
}

void PackedLinear::MultiplyRescaled(QuantizedRows* x, int64_t rows, float* y, bool accumulate,
                                    int64_t ldy) const {
  const int32_t* acc = MultiplyInt8(x, rows);
  const Packs& p = *packs_;
  const ProfileScope scope(ProfilePhase::kRescale);
  DequantizeRows(acc, rows, out_, x->scale.data(), x->zero.data(), p.w_scale.data(),
                 p.w_colsum.data(), bias_, y, ldy, accumulate);
}

void PackedLinear::ApplyInt8FeedForward(InPlaceActivation act, const PackedLinear& down,
                                        const float* x, int64_t rows, float* y, bool accumulate,
                                        int64_t ldy) const {
  if (ldy == 0) ldy = down.out_;
  if (rows == 0) return;
  if (packs_ == nullptr || down.packs_ == nullptr || down.in_ != out_) {
    // Not a pair of loaded layers: the separate calls (they check their own shapes).
    std::vector<float> hidden(rows * out_);
    Apply(x, rows, hidden.data(), false, LinearPrecision::kInt8);
    act(hidden.data(), rows * out_);
    down.Apply(hidden.data(), rows, y, accumulate, LinearPrecision::kInt8, ldy);
    return;
  }
  Scratch& s = ThreadScratch();
  // A block of rows at a time, the whole pair: the s32 products and the u8
  // middle rows stay in cache between the two GEMMs.
  const int64_t block = Int8RowBlock(rows);
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t m = std::min(block, rows - r0);
    QuantizeInput(x + r0 * in_, m, in_, &s.xq);
    const int32_t* acc = MultiplyInt8(&s.xq, m);
    {
      // Rescale, activate and requantise one row at a time while it is in
      // cache: the same operations per element as Apply + act + the next
      // Apply's QuantizeInput, without the f32 rows written out and read twice.
      const ProfileScope scope(ProfilePhase::kRescale);
      const Packs& p = *packs_;
      const int64_t n = out_;
      QuantizedRows& h = s.hidden;
      h.q.resize(PaddedRows(m) * n);
      h.scale.resize(m);
      h.zero.resize(m);
      float* row = GrownTo(&s.row, n);
      for (int64_t r = 0; r < m; ++r) {
        DequantizeRows(acc + r * n, 1, n, &s.xq.scale[r], &s.xq.zero[r], p.w_scale.data(),
                       p.w_colsum.data(), bias_, row, n, false);
        act(row, n);
        QuantizeRowsU8(row, 1, n, Int8ActivationMax(), h.q.data() + r * n, &h.scale[r], &h.zero[r]);
      }
      std::fill(h.q.begin() + m * n, h.q.end(), uint8_t{0});
    }
    down.MultiplyRescaled(&s.hidden, m, y + r0 * ldy, accumulate, ldy);
  }
  ReleaseIfOverBound(&s.hidden.q);
  ReleaseIfOverBound(&s.xq.q);
  ReleaseIfOverBound(&s.acc);
}

void PackedLinear::ApplyBf16(const float* x, int64_t rows, float* y, bool accumulate,
                             int64_t ldy) const {
  const int64_t k = in_, n = out_;
  Packs& p = *packs_;
  absl::call_once(p.bf16_once, [&] {
#if defined(ATTNSERVE_GEMM_ONEDNN)
    if (OnednnHasNativeBf16()) {
      std::vector<uint16_t> w16(k * n);
      for (int64_t kk = 0; kk < k; ++kk) {
        for (int64_t j = 0; j < n; ++j) w16[kk * n + j] = ToBf16(WeightAt(kk, j));
      }
      p.bf16_packed_ok = PackWeights(w16.data(), k, n, dt::bf16, dt::bf16, dt::f32, &p.bf16_packed);
      if (p.bf16_packed_ok) p.bytes += static_cast<int64_t>(p.bf16_packed.get_desc().get_size());
    }
#endif
  });
  Scratch& s = ThreadScratch();
  const int64_t padded = PaddedRows(rows);
  s.tmp.resize(padded * n);
#if defined(ATTNSERVE_GEMM_ONEDNN)
  if (p.bf16_packed_ok) {
    s.x16.assign(padded * k, 0);
    for (int64_t i = 0; i < rows * k; ++i) s.x16[i] = ToBf16(x[i]);
    if (RunMatmul(s.x16.data(), padded, k, n, dt::bf16, dt::f32, p.bf16_packed, s.tmp.data())) {
      AddBiasRows(s.tmp.data(), rows, n, bias_, y, ldy, accumulate);
      return;
    }
    // oneDNN refused this shape (not seen in practice): round in f32 instead.
  }
#endif
  EnsureRoundedBf16();
  s.xf.resize(rows * k);
  for (int64_t i = 0; i < rows * k; ++i) s.xf[i] = RoundedToBf16(x[i]);
  Sgemm(false, false, rows, n, k, 1.0f, s.xf.data(), k, p.w_rounded.data(), n, 0.0f, s.tmp.data(),
        n);
  AddBiasRows(s.tmp.data(), rows, n, bias_, y, ldy, accumulate);
}

bool PackedLinear::EnsureF32Packed() const {
  Packs& p = *packs_;
#if defined(ATTNSERVE_GEMM_ONEDNN)
  absl::call_once(p.f32_packed_once, [&] {
    const tag w_tag = layout_ == Layout::kOutputMajor ? tag::ba : tag::ab;
    p.f32_packed_ok =
        PackWeights(weight_, in_, out_, dt::f32, dt::f32, dt::f32, &p.f32_packed, w_tag);
    if (p.f32_packed_ok) p.bytes += static_cast<int64_t>(p.f32_packed.get_desc().get_size());
  });
#endif
  return p.f32_packed_ok;
}

bool PackedLinear::ApplyF32Packed(const float* x, int64_t rows, float* y, bool accumulate,
                                  int64_t ldy) const {
#if defined(ATTNSERVE_GEMM_ONEDNN)
  const int64_t k = in_, n = out_;
  Packs& p = *packs_;
  if (!EnsureF32Packed()) return false;
  Scratch& s = ThreadScratch();
  const int64_t padded = PaddedRows(rows);
  const float* src = x;
  if (padded != rows) {
    s.xf.resize(padded * k);
    std::copy(x, x + rows * k, s.xf.begin());
    std::fill(s.xf.begin() + rows * k, s.xf.end(), 0.0f);
    src = s.xf.data();
  }
  // Straight into y where its rows are the product's; else through tmp.
  const bool direct = padded == rows && ldy == n && !accumulate;
  float* out = y;
  if (!direct) {
    s.tmp.resize(padded * n);
    out = s.tmp.data();
  }
  if (!RunMatmul(src, padded, k, n, dt::f32, dt::f32, p.f32_packed, out)) return false;
  if (direct) {
    AddBias(bias_, rows, n, y, ldy);
  } else {
    AddBiasRows(s.tmp.data(), rows, n, bias_, y, ldy, accumulate);
  }
  return true;
#else
  (void)x, (void)rows, (void)y, (void)accumulate, (void)ldy;
  return false;
#endif
}

void PackedLinear::ApplyF32(const float* x, int64_t rows, float* y, bool accumulate,
                            int64_t ldy) const {
  // Up to this many rows oneDNN's matmul on weights packed once, which runs
  // short row counts at up to twice the GEMM API's speed; above, the GEMM
  // API is within a few percent and needs no padded copies of x and y (at
  // 2,048 USE-lite tokens those added 17 MiB to the peak resident set).
  constexpr int64_t kMatmulMaxRows = 512;
  if (packs_ != nullptr && rows <= kMatmulMaxRows && ApplyF32Packed(x, rows, y, accumulate, ldy)) {
    return;
  }
  if (layout_ == Layout::kOutputMajor && packs_ != nullptr && !EnsureF32Packed()) {
    // No matmul here: oneDNN 2.6's f32 GEMM with B transposed runs short row
    // counts at a fraction of its untransposed speed, so transpose once.
    Packs& p = *packs_;
    absl::call_once(p.f32_once, [&] {
      const int64_t k = in_, n = out_;
      p.w_input_major.resize(k * n);
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t kk = 0; kk < k; ++kk) p.w_input_major[kk * n + j] = weight_[j * k + kk];
      }
      p.bytes += static_cast<int64_t>(p.w_input_major.size() * sizeof(float));
    });
    Linear(x, rows, in_, p.w_input_major.data(), out_, bias_, y, accumulate, false, ldy);
    return;
  }
  Linear(x, rows, in_, weight_, out_, bias_, y, accumulate, layout_ == Layout::kOutputMajor, ldy);
}

void PackedLinear::Apply(const float* x, int64_t rows, float* y, bool accumulate,
                         LinearPrecision precision, int64_t ldy) const {
  if (ldy == 0) ldy = out_;
  if (rows == 0) return;
  if (precision == LinearPrecision::kInt8 && packs_ != nullptr) {
    ApplyInt8(x, rows, y, accumulate, ldy);
  } else if (precision == LinearPrecision::kBf16 && packs_ != nullptr) {
    ApplyBf16(x, rows, y, accumulate, ldy);
  } else {
    ApplyF32(x, rows, y, accumulate, ldy);
  }
  // A long input's buffers go back to the heap (thread_scratch.h's bound).
  // Only the bound: these buffers were never freed per run, and the freed
  // mode replays what runs did before buffers were kept.
  Scratch& s = ThreadScratch();
  ReleaseIfOverBound(&s.xq.q);
  ReleaseIfOverBound(&s.x16);
  ReleaseIfOverBound(&s.xf);
  ReleaseIfOverBound(&s.tmp);
  ReleaseIfOverBound(&s.acc);
}

}  // namespace attnserve
