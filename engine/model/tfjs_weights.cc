#include "engine/model/tfjs_weights.h"

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using nlohmann::json;

constexpr int64_t kMaxModelJsonBytes = int64_t{64} << 20;
constexpr int64_t kMaxWeightsBytes = int64_t{4} << 30;

absl::Status ManifestError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("model.json: ", what));
}

// A manifest entry before its bytes are attached.
struct EntrySpec {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype;
  int64_t num_elements;
};

absl::StatusOr<EntrySpec> ParseEntry(const json& entry, size_t group, size_t index) {
  const std::string where = absl::StrCat("weightsManifest[", group, "].weights[", index, "]");
  if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string()) {
    return ManifestError(absl::StrCat(where, ": expected an object with a name"));
  }
  EntrySpec spec;
  spec.name = entry["name"].get<std::string>();
  const std::string what = absl::StrCat(where, " '", spec.name, "'");
  if (entry.contains("quantization")) {
    return ManifestError(absl::StrCat(what, ": quantized weights are not supported"));
  }
  const json* dtype = entry.contains("dtype") ? &entry["dtype"] : nullptr;
  if (dtype == nullptr || !dtype->is_string()) {
    return ManifestError(absl::StrCat(what, ": missing dtype"));
  }
  if (*dtype == "float32") {
    spec.dtype = DType::kFloat32;
  } else if (*dtype == "int32") {
    spec.dtype = DType::kInt32;
  } else {
    return ManifestError(absl::StrCat(what, ": unsupported dtype '", dtype->get<std::string>(),
                                      "' (float32 and int32 are supported)"));
  }
  if (!entry.contains("shape") || !entry["shape"].is_array()) {
    return ManifestError(absl::StrCat(what, ": missing shape"));
  }
  spec.num_elements = 1;
  for (const json& dim : entry["shape"]) {
    if (!dim.is_number_integer() || dim.get<int64_t>() < 0) {
      return ManifestError(absl::StrCat(what, ": bad shape ", entry["shape"].dump()));
    }
    const int64_t d = dim.get<int64_t>();
    if (d != 0 && spec.num_elements > kMaxWeightsBytes / 4 / d) {
      return ManifestError(absl::StrCat(what, ": shape ", entry["shape"].dump(), " is too large"));
    }
    spec.num_elements *= d;
    spec.shape.push_back(d);
  }
  return spec;
}

// A shard path must name a file inside the model directory.
absl::Status CheckShardPath(const std::string& path) {
  if (path.empty() || path.find('/') != std::string::npos || path.find('\\') != std::string::npos ||
      path == "." || path == "..") {
    return ManifestError(
        absl::StrCat("shard path '", path, "' must be a plain file name in the model directory"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TfjsWeights> TfjsWeights::Load(const std::string& model_dir) {
  const std::string manifest_path = JoinPath(model_dir, "model.json");
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(manifest_path, kMaxModelJsonBytes));
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(manifest_path, ": invalid JSON at byte ", e.byte, ": ", e.what()));
  } catch (const json::exception& e) {  // out_of_range: a number that overflows (1e999)
    return absl::InvalidArgumentError(absl::StrCat(manifest_path, ": invalid JSON: ", e.what()));
  }
  if (!root.is_object() || !root.contains("weightsManifest") ||
      !root["weightsManifest"].is_array()) {
    return ManifestError("no weightsManifest array (not a TensorFlow.js model?)");
  }

  TfjsWeights weights;
  std::vector<std::pair<EntrySpec, int64_t>> specs;  // spec, byte offset
  std::vector<std::string> contents;
  int64_t total = 0;
  const json& groups = root["weightsManifest"];
  for (size_t g = 0; g < groups.size(); ++g) {
    const json& group = groups[g];
    if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array() ||
        !group.contains("weights") || !group["weights"].is_array()) {
      return ManifestError(
          absl::StrCat("weightsManifest[", g, "]: expected paths and weights arrays"));
    }
    // The group's shards, concatenated in order, hold its entries back to back.
    int64_t group_bytes = 0;
    const int64_t group_start = total;
    for (const json& p : group["paths"]) {
      if (!p.is_string()) return ManifestError("shard path is not a string");
      const std::string path = p.get<std::string>();
      RETURN_IF_ERROR(CheckShardPath(path));
      ASSIGN_OR_RETURN(std::string shard,
                       ReadFileToString(JoinPath(model_dir, path), kMaxWeightsBytes));
      group_bytes += static_cast<int64_t>(shard.size());
      if (total + group_bytes > kMaxWeightsBytes) {
        return ManifestError("weights larger than 4 GiB are not supported");
      }
      contents.push_back(std::move(shard));
    }
    int64_t offset = group_start;
    for (size_t i = 0; i < group["weights"].size(); ++i) {
      ASSIGN_OR_RETURN(EntrySpec spec, ParseEntry(group["weights"][i], g, i));
      const int64_t bytes = spec.num_elements * 4;
      if (offset + bytes > group_start + group_bytes) {
        return absl::DataLossError(absl::StrCat(
            model_dir, ": weight shards of group ", g, " hold ", group_bytes, " bytes but tensor '",
            spec.name, "' ", ShapeToString(spec.shape), " needs bytes up to ",
            offset + bytes - group_start, " (truncated or missing shard?)"));
      }
      specs.emplace_back(std::move(spec), offset);
      offset += bytes;
    }
    if (offset != group_start + group_bytes) {
      return absl::DataLossError(absl::StrCat(model_dir, ": weight shards of group ", g, " hold ",
                                              group_bytes, " bytes but the manifest describes ",
                                              offset - group_start, " (wrong shard size)"));
    }
    total += group_bytes;
  }

  weights.buffer_.resize(static_cast<size_t>(total / 4));
  char* dst = reinterpret_cast<char*>(weights.buffer_.data());
  for (const std::string& shard : contents) {
    std::memcpy(dst, shard.data(), shard.size());
    dst += shard.size();
  }
  weights.tensors_.reserve(specs.size());
  for (auto& [spec, offset] : specs) {
    if (weights.index_.contains(spec.name)) {
      return ManifestError(absl::StrCat("tensor '", spec.name, "' appears twice"));
    }
    TensorView view{std::move(spec.name), std::move(spec.shape), spec.dtype, spec.num_elements,
                    weights.buffer_.data() + offset / 4};
    weights.index_[view.name] = weights.tensors_.size();
    weights.tensors_.push_back(std::move(view));
  }
  return weights;
}

absl::StatusOr<const TensorView*> TfjsWeights::Find(absl::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    return absl::NotFoundError(absl::StrCat("model has no tensor '", name, "'"));
  }
  return &tensors_[it->second];
}

absl::StatusOr<const float*> TfjsWeights::Float32(absl::string_view name,
                                                  const std::vector<int64_t>& shape) const {
  ASSIGN_OR_RETURN(const TensorView* t, Find(name));
  if (t->dtype != DType::kFloat32) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "': expected float32, found ", DTypeName(t->dtype)));
  }
  if (t->shape != shape) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "': expected shape ",
                                                   ShapeToString(shape), ", found ",
                                                   ShapeToString(t->shape)));
  }
  return t->f32();
}

absl::StatusOr<int32_t> TfjsWeights::ScalarInt32(absl::string_view name) const {
  ASSIGN_OR_RETURN(const TensorView* t, Find(name));
  if (t->dtype != DType::kInt32 || t->num_elements != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "': expected one int32 value, found ", DTypeName(t->dtype),
                     " ", ShapeToString(t->shape)));
  }
  return t->i32()[0];
}

absl::StatusOr<float> TfjsWeights::ScalarFloat32(absl::string_view name) const {
  ASSIGN_OR_RETURN(const TensorView* t, Find(name));
  if (t->dtype != DType::kFloat32 || t->num_elements != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "': expected one float32 value, found ", DTypeName(t->dtype),
                     " ", ShapeToString(t->shape)));
  }
  return t->f32()[0];
}

}  // namespace attnserve
