// Reader of Hugging Face safetensors files (model.safetensors): an 8-byte
// little-endian header length, a JSON header naming every tensor's dtype,
// shape and byte range, then the data. The file is mapped, every entry is
// validated before any is used, and F16/BF16 tensors are widened to float.
#ifndef ATTNSERVE_ENGINE_MODEL_SAFETENSORS_H_
#define ATTNSERVE_ENGINE_MODEL_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/model/tensor.h"

namespace attnserve {

// The dtypes attnserve reads; all become float32 in memory.
enum class SafetensorsDType { kF32, kF16, kBF16 };

const char* SafetensorsDTypeName(SafetensorsDType dtype);

// One header entry after validation; offsets are relative to the data region.
struct SafetensorsEntry {
  std::string name;
  SafetensorsDType dtype = SafetensorsDType::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
  // An integer position-id buffer (see ParseSafetensorsHeader): its layout is
  // checked, it is not loaded.
  bool ignored = false;
};

// Validates the layout of a whole file's bytes: header length within the
// file, a JSON object header, known dtypes, shape x dtype size == byte count,
// ranges inside the data region and not overlapping. `source` names the file
// in errors. On success, *data_offset is where the data region starts.
// Integer (I64/I32) tensors named "*position_ids" are accepted and marked
// ignored: older transformers versions saved that buffer (0, 1, ..., n-1)
// with the weights, and the encoder computes positions itself.
absl::StatusOr<std::vector<SafetensorsEntry>> ParseSafetensorsHeader(
    std::string_view bytes, const std::string& source, uint64_t* data_offset,
    std::map<std::string, std::string>* metadata = nullptr);

class SafetensorsFile {
 public:
  // Maps and validates `path`; errors name the file and the tensor.
  static absl::StatusOr<SafetensorsFile> Open(const std::string& path);

  SafetensorsFile(SafetensorsFile&&) = default;
  SafetensorsFile& operator=(SafetensorsFile&&) = default;

  // The tensor `name` (always float32), or NotFound naming it and the file.
  absl::StatusOr<const TensorView*> Find(std::string_view name) const;
  bool Has(std::string_view name) const { return index_.contains(std::string(name)); }

  // The tensor `name` with exactly `shape`, or an error naming both shapes.
  absl::StatusOr<const float*> Float32(std::string_view name,
                                       const std::vector<int64_t>& shape) const;

  // The dtype the tensor had in the file.
  SafetensorsDType source_dtype(std::string_view name) const;

  const std::vector<TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }
  // Bytes of float32 weights held (mapped or converted).
  int64_t float_bytes() const;

 private:
  struct Mapping;  // munmaps on destruction
  SafetensorsFile() = default;

  std::string path_;
  std::shared_ptr<Mapping> mapping_;
  std::vector<std::unique_ptr<float[]>> converted_;  // widened or realigned copies
  std::vector<TensorView> tensors_;
  std::vector<SafetensorsDType> source_dtypes_;
  absl::flat_hash_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_SAFETENSORS_H_
