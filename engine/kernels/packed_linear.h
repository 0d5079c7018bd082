// A dense layer y = x W + b that runs in the precision a request asks for:
// f32, int8 or bf16, each form of the weights made on first use (so a server
// that never asks for a precision never pays its memory). The int8 form is
// dynamic quantisation as ONNX Runtime and PyTorch do it for BERT-class
// models: weights s8 symmetric per output channel, activations u8 asymmetric
// per token, s32 accumulation, then rescaled to f32.
//
// Backends (packed_linear.cc says which form runs when): on oneDNN the packs
// are reordered into the matmul primitive's blocked layout once (AMX or VNNI
// kernels where the CPU has them; f32 up to 512 rows); on the OpenBLAS
// backend (arm64) f32 runs OpenBLAS on the weights as loaded and int8 the
// packed s8 GEMM (s8_gemm.h) where the CPU has a NEON path.
#ifndef ATTNSERVE_ENGINE_KERNELS_PACKED_LINEAR_H_
#define ATTNSERVE_ENGINE_KERNELS_PACKED_LINEAR_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/kernels/linear_precision.h"

namespace attnserve {

// An elementwise activation in place (kernels/elementwise.h: ReluInPlace, GeluInPlace, ...).
using InPlaceActivation = void (*)(float* x, int64_t n);

class PackedLinear {
 public:
  // kInputMajor: W is [in, out] (TensorFlow); kOutputMajor: [out, in] (torch).
  enum class Layout { kInputMajor, kOutputMajor };

  PackedLinear() = default;
  // weight (and bias, which may be null) must outlive this object and its copies.
  PackedLinear(const float* weight, const float* bias, int in, int out, Layout layout);

  // y[rows, out] (=|+=) x[rows, in] W + b, y's rows ldy apart (0: out).
  // Thread-safe; copies share the low-precision packs.
  void Apply(const float* x, int64_t rows, float* y, bool accumulate, LinearPrecision precision,
             int64_t ldy = 0) const;

  // The int8 feed-forward pair y (=|+=) down(act(this(x))): this layer's
  // integer product is rescaled, activated and requantised for `down` one
  // row at a time, so its f32 activations are never written out (the same
  // arithmetic per element as Apply, act, then down.Apply, all in int8).
  void ApplyInt8FeedForward(InPlaceActivation act, const PackedLinear& down, const float* x,
                            int64_t rows, float* y, bool accumulate, int64_t ldy = 0) const;

  int in() const { return in_; }
  int out() const { return out_; }
  const float* weight() const { return weight_; }
  const float* bias() const { return bias_; }
  bool empty() const { return weight_ == nullptr; }
  int64_t Flops() const { return 2 * int64_t{in_} * out_; }

  // Bytes of the low-precision packs built so far.
  int64_t packed_bytes() const;

  struct Packs;          // defined in packed_linear.cc
  struct QuantizedRows;  // activations quantised per row, as the int8 product takes them

 private:
  void ApplyInt8(const float* x, int64_t rows, float* y, bool accumulate, int64_t ldy) const;
  void EnsureInt8() const;  // the weights' int8 forms, made on first use
  // The s32 product of x's rows with the int8 weights, in this thread's
  // scratch (row stride out()); consumes x (the arm64 path shifts it in place).
  const int32_t* MultiplyInt8(QuantizedRows* x, int64_t rows) const;
  // y (=|+=) the rescaled product, bias added: an int8 layer after its quantisation.
  void MultiplyRescaled(QuantizedRows* x, int64_t rows, float* y, bool accumulate,
                        int64_t ldy) const;
  void ApplyF32(const float* x, int64_t rows, float* y, bool accumulate, int64_t ldy) const;
  // Packs the f32 weights for oneDNN's matmul once; false where it cannot run.
  bool EnsureF32Packed() const;
  // oneDNN's matmul on f32 weights packed once; false where it cannot run.
  bool ApplyF32Packed(const float* x, int64_t rows, float* y, bool accumulate, int64_t ldy) const;
  void ApplyBf16(const float* x, int64_t rows, float* y, bool accumulate, int64_t ldy) const;
  float WeightAt(int64_t k, int64_t j) const;  // W[k, j] in either layout
  // W quantised with the per-column scales, row-major [in, out].
  std::vector<int8_t> QuantizedWeights() const;
  // The s8 weights for oneDNN's GEMM API / the f32-GEMM form: `w8` when
  // given (already quantised), else quantised here.
  void EnsurePlainInt8(std::vector<int8_t> w8 = {}) const;
  void EnsureRoundedBf16() const;  // bf16-rounded f32 weights for the f32 GEMM

  const float* weight_ = nullptr;
  const float* bias_ = nullptr;
  int in_ = 0, out_ = 0;
  Layout layout_ = Layout::kInputMajor;
  std::shared_ptr<Packs> packs_;
};

// The u8 range the int8 path quantises activations to: 255 where the CPU
// multiplies u8 x s8 without 16-bit saturation (VNNI, AMX, the portable
// loops), else 127 (oneDNN's advice for pre-VNNI x86).
int Int8ActivationMax();

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_KERNELS_PACKED_LINEAR_H_
