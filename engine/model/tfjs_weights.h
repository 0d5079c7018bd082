// Reader of TensorFlow.js graph-model weights: model.json's weightsManifest and
// its binary shards. Every tensor is validated before any is used.
#ifndef ATTNSERVE_ENGINE_MODEL_TFJS_WEIGHTS_H_
#define ATTNSERVE_ENGINE_MODEL_TFJS_WEIGHTS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/model/tensor.h"

namespace attnserve {

class TfjsWeights {
 public:
  // Reads `model_dir`/model.json and the shards it lists. Errors name the file
  // and tensor: a missing file, bad JSON, an unsupported dtype or quantization,
  // a shard path leaving the directory, shards shorter or longer than the
  // manifest says.
  static absl::StatusOr<TfjsWeights> Load(const std::string& model_dir);

  // Views point into the owned buffer: movable, not copyable.
  TfjsWeights(TfjsWeights&&) = default;
  TfjsWeights& operator=(TfjsWeights&&) = default;
  TfjsWeights(const TfjsWeights&) = delete;
  TfjsWeights& operator=(const TfjsWeights&) = delete;

  // The tensor `name`, or NotFound naming it.
  absl::StatusOr<const TensorView*> Find(absl::string_view name) const;

  // The float32 tensor `name` with exactly `shape`, or an error naming the
  // tensor, the expected and the actual shape or dtype.
  absl::StatusOr<const float*> Float32(absl::string_view name,
                                       const std::vector<int64_t>& shape) const;
  // The value of the int32 or float32 scalar (or one-element) tensor `name`.
  absl::StatusOr<int32_t> ScalarInt32(absl::string_view name) const;
  absl::StatusOr<float> ScalarFloat32(absl::string_view name) const;

  const std::vector<TensorView>& tensors() const { return tensors_; }
  int64_t total_bytes() const { return static_cast<int64_t>(buffer_.size()) * 4; }

 private:
  TfjsWeights() = default;
  std::vector<uint32_t> buffer_;  // every entry is 4 bytes wide
  std::vector<TensorView> tensors_;
  absl::flat_hash_map<std::string, size_t> index_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_TFJS_WEIGHTS_H_
