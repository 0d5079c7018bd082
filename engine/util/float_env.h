// Floating-point environment of compute threads.
#ifndef ATTNSERVE_ENGINE_UTIL_FLOAT_ENV_H_
#define ATTNSERVE_ENGINE_UTIL_FLOAT_ENV_H_

namespace attnserve {

// Sets flush-to-zero and denormals-are-zero in the calling thread. Denormal
// operands slow f32 GEMM by tens of times on x86 and oneDNN 2.6 does not set
// these itself.
void EnableFlushToZeroInThisThread();

// Returns true if the calling thread flushes denormals to zero.
bool FlushToZeroEnabledInThisThread();

// Sets the OpenMP thread count of the calling thread (oneDNN and our kernels use
// OpenMP) and enables flush-to-zero in every thread of that pool.
void PrepareComputeThreads(int num_threads);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_UTIL_FLOAT_ENV_H_
