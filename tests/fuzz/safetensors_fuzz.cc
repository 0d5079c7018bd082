// SafetensorsFile::Open on fuzzed file bytes. A file that opens must describe
// consistent tensors: elements = product of the shape, every name found, and
// every value readable (ASan catches a view past the mapping).
#include <string>

#include "engine/model/safetensors.h"
#include "tests/fuzz/fuzz_target.h"

ATTNSERVE_FUZZ_TARGET(safetensors) {
  const std::string path = attnserve::fuzz::ScratchDir() + "/model.safetensors";
  attnserve::fuzz::WriteFileOrDie(path, attnserve::fuzz::AsStringView(data, size));
  absl::StatusOr<attnserve::SafetensorsFile> file = attnserve::SafetensorsFile::Open(path);
  if (!file.ok()) return 0;
  int64_t bytes = 0;
  for (const attnserve::TensorView& t : file->tensors()) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    ATTNSERVE_FUZZ_CHECK(n == t.num_elements);
    ATTNSERVE_FUZZ_CHECK(file->Float32(t.name, t.shape).ok());
    float sum = 0.0f;
    for (int64_t i = 0; i < t.num_elements; ++i) sum += t.f32()[i];
    volatile float sink = sum;  // keeps the reads
    static_cast<void>(sink);
    bytes += 4 * t.num_elements;
  }
  ATTNSERVE_FUZZ_CHECK(bytes == file->float_bytes());
  return 0;
}
