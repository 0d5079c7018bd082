// What scripts/arm64/count_instructions.sh needs from a program it counts
// (tools/layer_calls.cc, bench/arm64/xnnpack_fc_calls.cc): the two marker
// functions around the counted call, whose names qemu's exec log shows and
// count_instructions.py looks for, and cheap inputs. Include it in one file
// of a program only (the markers are defined here).
#ifndef ATTNSERVE_TOOLS_LAYER_CALL_MARKERS_H_
#define ATTNSERVE_TOOLS_LAYER_CALL_MARKERS_H_

#include <cstdint>

// Not inlined, and not folded into one function (different bodies).
extern "C" __attribute__((noinline)) void layer_calls_begin() { asm volatile("" ::: "memory"); }
extern "C" __attribute__((noinline)) void layer_calls_end() { asm volatile("nop" ::: "memory"); }

// Deterministic values in [-1, 1): under qemu's exec log a normal
// distribution's set-up would cost more than the layer.
inline float LayerCallNoise(uint32_t i) {
  return static_cast<float>((i * 2654435761u) >> 8) / static_cast<float>(1u << 23) - 1.0f;
}

#endif  // ATTNSERVE_TOOLS_LAYER_CALL_MARKERS_H_
