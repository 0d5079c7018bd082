// Runs one dense layer (engine/kernels/packed_linear.h) a given number of
// times, on one thread: the program whose guest instructions
// scripts/arm64/count_instructions.sh counts under qemu. The last call runs
// between two marker functions, whose names qemu's exec log shows, so the
// count covers one steady-state call (weights packed and scratch allocated
// by the calls before it), not start-up.
//
//   layer_calls --in 512 --out 2048 --rows 16 --precision int8 --calls 2
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/kernels/linear_precision.h"
#include "engine/kernels/packed_linear.h"
#include "engine/util/float_env.h"
#include "tools/layer_call_markers.h"

namespace attnserve {
namespace {

int Usage(const char* why) {
  std::fprintf(stderr,
               "layer_calls: %s\nusage: layer_calls --in N --out N --rows N "
               "--precision f32|int8|bf16 --calls N\n",
               why);
  return 2;
}

int Run(int argc, char** argv) {
  int in = 0, out = 0, rows = 0, calls = -1;
  std::string precision_name = "f32";
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return Usage("every flag takes a value");
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--in") {
      in = std::atoi(value.c_str());
    } else if (flag == "--out") {
      out = std::atoi(value.c_str());
    } else if (flag == "--rows") {
      rows = std::atoi(value.c_str());
    } else if (flag == "--calls") {
      calls = std::atoi(value.c_str());
    } else if (flag == "--precision") {
      precision_name = value;
    } else {
      return Usage(("unknown flag " + flag).c_str());
    }
  }
  if (in <= 0 || out <= 0 || rows <= 0) return Usage("--in, --out and --rows must be > 0");
  if (calls < 0) return Usage("--calls must be >= 0");
  const auto precision = ParseLinearPrecision(precision_name);
  if (!precision) return Usage(("unknown --precision " + precision_name).c_str());

  PrepareComputeThreads(1);
  std::vector<float> w(static_cast<size_t>(in) * out), b(out), x(static_cast<size_t>(rows) * in);
  uint32_t i = 0;
  for (float& v : w) v = LayerCallNoise(++i) * 0.05f;
  for (float& v : b) v = LayerCallNoise(++i) * 0.1f;
  for (float& v : x) v = LayerCallNoise(++i);
  std::vector<float> y(static_cast<size_t>(rows) * out);
  const PackedLinear layer(w.data(), b.data(), in, out, PackedLinear::Layout::kInputMajor);
  double sum = 0;
  for (int c = 0; c < calls; ++c) {
    if (c == calls - 1) layer_calls_begin();
    layer.Apply(x.data(), rows, y.data(), false, *precision);
    if (c == calls - 1) layer_calls_end();
    sum += y[c % y.size()];
  }
  std::printf("layer_calls: %d x %d, %d rows, %s, %d calls (checksum %.6g)\n", in, out, rows,
              precision_name.c_str(), calls, sum);
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) { return attnserve::Run(argc, argv); }
