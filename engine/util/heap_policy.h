// Keeps freed activation memory in the process heap between runs.
//
// A run allocates its activations (tokens x widest row x a few buffers) and
// frees them at the end. With glibc's defaults, buffers of a few MiB are
// mmap'ed or trimmed back to the OS on free, so the next run page-faults and
// zero-fills them again: measured on a 32-text batch of short texts (515
// tokens, USE-lite, engine_bench embed/batch32) as 62.9 ms per run instead of
// 28.2 ms at one thread (53.3 vs 18.4 ms at two). Raising the mmap and trim
// thresholds keeps such buffers in the heap; requests larger than the
// threshold (64 MiB) still go back to the OS.
#ifndef ATTNSERVE_ENGINE_UTIL_HEAP_POLICY_H_
#define ATTNSERVE_ENGINE_UTIL_HEAP_POLICY_H_

namespace attnserve {

// Sets the thresholds once per process (glibc only; a no-op elsewhere, and
// when GLIBC_TUNABLES already sets malloc thresholds). Engine::Load calls it.
void KeepActivationMemoryInHeap();

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_UTIL_HEAP_POLICY_H_
