// The same dense layer as tools/layer_calls, run by Debian's XNNPACK
// (bookworm: git 2022-02-16) instead of attnserve: f32 fully connected, or
// qs8 (statically quantised int8: fixed activation scale, XNNPACK's own
// requantisation). scripts/arm64/count_instructions.sh counts the guest
// instructions of its last call under qemu, between the same markers, to
// see whether XNNPACK's arm64 micro-kernels would beat OpenBLAS (f32) or our
// s8 GEMM (int8) on the model's shapes (issue 18). Not part of the CMake
// build (XNNPACK is no dependency of attnserve); the script compiles it.
//
//   xnnpack_fc_calls --in 512 --out 2048 --rows 16 --precision f32|qs8 --calls 2
#include <xnnpack.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "tools/layer_call_markers.h"

namespace {

int Fail(const char* what) {
  std::fprintf(stderr, "xnnpack_fc_calls: %s\n", what);
  return 1;
}

// Sets up and runs `op` `calls` times, the last between the markers.
template <typename Setup>
bool RunCalls(xnn_operator_t op, int calls, Setup setup) {
  for (int c = 0; c < calls; ++c) {
    if (c == calls - 1) layer_calls_begin();
    if (setup(op) != xnn_status_success || xnn_run_operator(op, nullptr) != xnn_status_success) {
      return false;
    }
    if (c == calls - 1) layer_calls_end();
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int in = 0, out = 0, rows = 0, calls = 2;
  std::string precision = "f32";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--in")
      in = std::atoi(argv[i + 1]);
    else if (flag == "--out")
      out = std::atoi(argv[i + 1]);
    else if (flag == "--rows")
      rows = std::atoi(argv[i + 1]);
    else if (flag == "--calls")
      calls = std::atoi(argv[i + 1]);
    else if (flag == "--precision")
      precision = argv[i + 1];
    else
      return Fail(("unknown flag " + flag).c_str());
  }
  if (in <= 0 || out <= 0 || rows <= 0 || calls < 1)
    return Fail("--in, --out, --rows, --calls > 0");
  if (xnn_initialize(nullptr) != xnn_status_success) return Fail("xnn_initialize");
  xnn_operator_t op = nullptr;
  uint32_t seed = 0;
  // Weights input-major ([in, out], as attnserve's): XNN_FLAG_TRANSPOSE_WEIGHTS.
  if (precision == "f32") {
    std::vector<float> w(size_t(in) * out), b(out), x(size_t(rows) * in), y(size_t(rows) * out);
    for (float& v : w) v = LayerCallNoise(++seed) * 0.05f;
    for (float& v : b) v = LayerCallNoise(++seed) * 0.1f;
    for (float& v : x) v = LayerCallNoise(++seed);
    const float inf = std::numeric_limits<float>::infinity();
    if (xnn_create_fully_connected_nc_f32(in, out, in, out, w.data(), b.data(), -inf, inf,
                                          XNN_FLAG_TRANSPOSE_WEIGHTS, &op) != xnn_status_success)
      return Fail("xnn_create_fully_connected_nc_f32");
    if (!RunCalls(op, calls, [&](xnn_operator_t o) {
          return xnn_setup_fully_connected_nc_f32(o, rows, x.data(), y.data(), nullptr);
        }))
      return Fail("f32 run");
    std::printf("xnnpack f32: y[0] %.6g\n", y[0]);
  } else if (precision == "qs8") {
    std::vector<int8_t> w(size_t(in) * out), x(size_t(rows) * in), y(size_t(rows) * out);
    std::vector<int32_t> b(out);
    for (int8_t& v : w) v = static_cast<int8_t>(LayerCallNoise(++seed) * 127);
    for (int32_t& v : b) v = static_cast<int32_t>(LayerCallNoise(++seed) * 1000);
    for (int8_t& v : x) v = static_cast<int8_t>(LayerCallNoise(++seed) * 127);
    if (xnn_create_fully_connected_nc_qs8(in, out, in, out, 0, 0.02f, 0.001f, w.data(), b.data(), 0,
                                          0.5f, -128, 127, XNN_FLAG_TRANSPOSE_WEIGHTS,
                                          &op) != xnn_status_success)
      return Fail("xnn_create_fully_connected_nc_qs8");
    if (!RunCalls(op, calls, [&](xnn_operator_t o) {
          return xnn_setup_fully_connected_nc_qs8(o, rows, x.data(), y.data(), nullptr);
        }))
      return Fail("qs8 run");
    std::printf("xnnpack qs8: y[0] %d\n", y[0]);
  } else {
    return Fail(("unknown --precision " + precision).c_str());
  }
  xnn_delete_operator(op);
  return 0;
}
