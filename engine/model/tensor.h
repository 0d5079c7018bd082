// A named, typed view into a model's weight buffer.
#ifndef ATTNSERVE_ENGINE_MODEL_TENSOR_H_
#define ATTNSERVE_ENGINE_MODEL_TENSOR_H_

#include <cstdint>
#include <string>
#include <vector>

namespace attnserve {

enum class DType { kFloat32, kInt32 };

const char* DTypeName(DType dtype);

struct TensorView {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::kFloat32;
  int64_t num_elements = 0;
  const void* data = nullptr;

  const float* f32() const { return static_cast<const float*>(data); }
  const int32_t* i32() const { return static_cast<const int32_t*>(data); }
};

// "[1, 1, 256, 768]"
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_TENSOR_H_
