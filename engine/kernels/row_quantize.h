// Per-row (per-token) dynamic quantisation of activations to u8 and the
// matching dequantisation of an integer GEMM's output: the elementwise halves
// of the int8 linear layer (engine/kernels/packed_linear.h).
#ifndef ATTNSERVE_ENGINE_KERNELS_ROW_QUANTIZE_H_
#define ATTNSERVE_ENGINE_KERNELS_ROW_QUANTIZE_H_

#include <cstdint>

namespace attnserve {

// Row r of x [rows, cols] becomes q[r, :] = round(x / scale[r]) + zero[r],
// clamped to [0, qmax]. The row's range is widened to include 0 so that 0 is
// exact (zero padding and ReLU outputs stay exact). A constant-zero row gets
// scale 1, zero 0.
void QuantizeRowsU8(const float* x, int64_t rows, int64_t cols, int qmax, uint8_t* q, float* scale,
                    int32_t* zero);

// y[r, j] (=|+=) scale[r] * w_scale[j] * (acc[r, j] - zero[r] * w_colsum[j]) + bias[j]
// for r < rows, j < cols; acc has row stride cols, y row stride ldy; bias may
// be null. Undoes QuantizeRowsU8 against weights quantised per column
// (w = w_scale[j] * s8) whose column sums are w_colsum.
void DequantizeRows(const int32_t* acc, int64_t rows, int64_t cols, const float* scale,
                    const int32_t* zero, const float* w_scale, const int32_t* w_colsum,
                    const float* bias, float* y, int64_t ldy, bool accumulate);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_KERNELS_ROW_QUANTIZE_H_
