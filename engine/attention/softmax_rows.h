// Vectorised row primitives of the tiled attention kernels (flash and the
// sparse-pattern engine): a running-max softmax needs max, exp-and-sum and
// scale as separate steps, which kernels/elementwise.h's SoftmaxRow fuses.
#ifndef ATTNSERVE_ENGINE_ATTENTION_SOFTMAX_ROWS_H_
#define ATTNSERVE_ENGINE_ATTENTION_SOFTMAX_ROWS_H_

#include <cstdint>

namespace attnserve {

// Largest of x[0:n); -inf for n == 0 or a row of -inf.
float RowMax(const float* x, int64_t n);

// x[i] = exp(x[i] - shift) in place, returns the sum. -inf entries become 0.
// shift must be finite.
float ExpShiftSum(float* x, int64_t n, float shift);

// x[i] *= s.
void ScaleRow(float* x, int64_t n, float s);

// Softmax of one row in place where -inf marks excluded entries; a row with
// no finite entry becomes all zeros (a query with no allowed key). Returns
// false in that case.
bool MaskedSoftmaxRow(float* x, int64_t n);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_SOFTMAX_ROWS_H_
