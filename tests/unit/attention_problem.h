// The inputs attention kernels are tested on: Q and K that share a low-rank
// latent drifting along the sequence (peaked attention, as in a trained model,
// not the flat attention of iid noise), V ~ N(0, 1), optional padding; one
// call of a kernel on them and the errors against reference::NaiveAttention.
#ifndef ATTNSERVE_TESTS_UNIT_ATTENTION_PROBLEM_H_
#define ATTNSERVE_TESTS_UNIT_ATTENTION_PROBLEM_H_

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/attention/attention_kernel.h"

namespace attnserve::testing {

struct Problem {
  int64_t n = 0;
  int heads = 0;
  int d = 0;
  std::vector<float> q, k, v;
  std::vector<uint8_t> valid;  // empty: no padding (else every third key from 1 is padding)

  int64_t width() const { return int64_t{heads} * d; }
  float scale() const { return 1.0f / std::sqrt(static_cast<float>(d)); }
};

// sharpness: scale * q.k ~ sharpness * z_i.z_j (0.6: peaked, not one-hot).
Problem MakeProblem(int64_t n, int heads, int d, bool padded, float sharpness = 0.6f,
                    uint32_t seed = 7);

struct RunResult {
  std::vector<float> out;
  std::vector<float> mass;  // per key; zeros unless the kernel reports key mass
  AttentionStats stats;
};

// One call's inputs on `p`, writing `out` [n, width]: every key is a query,
// p.valid the padding mask; no key mass.
AttentionInputs InputsFor(const Problem& p, float* out);

// Resolves `name` with `params` (strings, as requests carry them) and runs
// it once; failures are test failures.
RunResult RunKernel(const Problem& p, const std::string& name,
                    const std::map<std::string, std::string>& params);

std::vector<float> Reference(const Problem& p);

// ||out - ref|| / ||ref||.
double RelError(const std::vector<float>& out, const std::vector<float>& ref);
double MaxAbsError(const std::vector<float>& out, const std::vector<float>& ref);

// A kernel's error against `ref` in the measure its KernelInfo::tolerance
// names (max |out - ref|, or ||out - ref|| / ||ref||), and that bound.
struct ToleranceCheck {
  double error = 0;
  double bound = 0;
  const char* measure = "";
};
ToleranceCheck CheckTolerance(const KernelInfo& info, const std::vector<float>& out,
                              const std::vector<float>& ref);

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_UNIT_ATTENTION_PROBLEM_H_
