// TfjsWeights::Load on a fuzzed model directory. The input is model.json, a
// NUL byte, then the bytes of the one shard file "group1-shard1of1.bin" (no
// NUL: no shard file). A loaded model's tensors must lie inside its buffer.
#include <filesystem>
#include <string>

#include "engine/model/tfjs_weights.h"
#include "tests/fuzz/fuzz_target.h"

ATTNSERVE_FUZZ_TARGET(tfjs_manifest) {
  const std::string_view input = attnserve::fuzz::AsStringView(data, size);
  const std::string dir = attnserve::fuzz::ScratchDir() + "/tfjs_model";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const size_t nul = input.find('\0');
  attnserve::fuzz::WriteFileOrDie(dir + "/model.json", input.substr(0, nul));
  if (nul != std::string_view::npos) {
    attnserve::fuzz::WriteFileOrDie(dir + "/group1-shard1of1.bin", input.substr(nul + 1));
  }
  absl::StatusOr<attnserve::TfjsWeights> weights = attnserve::TfjsWeights::Load(dir);
  if (!weights.ok()) return 0;
  int64_t elements = 0;
  for (const attnserve::TensorView& t : weights->tensors()) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    ATTNSERVE_FUZZ_CHECK(n == t.num_elements);
    elements += t.num_elements;
    ATTNSERVE_FUZZ_CHECK(weights->Find(t.name).ok());
  }
  ATTNSERVE_FUZZ_CHECK(elements * 4 == weights->total_bytes());
  return 0;
}
