// The model families the engine loads: one explicit table, asked in order
// (like the attention-kernel catalogue, engine/attention/registry.cc).
// Engine::Load loads a directory through LoadModel.
#ifndef ATTNSERVE_ENGINE_MODEL_MODEL_FAMILIES_H_
#define ATTNSERVE_ENGINE_MODEL_MODEL_FAMILIES_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/encoder_model.h"

namespace attnserve {

struct ModelFamily {
  std::string_view name;  // "use-lite", "bert"
  // The files a directory of this family holds, and what it is, for the
  // error that lists every family when none matches.
  std::string_view expects;
  // Whether `dir` holds the file(s) that mark this family.
  bool (*detect)(const std::string& dir) = nullptr;
  // Loads and checks the model in `dir` (one `detect` accepted).
  absl::StatusOr<std::unique_ptr<EncoderModel>> (*load)(const std::string& dir) = nullptr;
};

// Every family, in the order they are asked: a family whose marker another
// family's directory may also hold comes first.
const std::vector<ModelFamily>& AllModelFamilies();

// The model in `dir`, loaded by the first family that detects it; NotFound
// listing what each family expects when none does.
absl::StatusOr<std::unique_ptr<EncoderModel>> LoadModel(const std::string& dir);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_MODEL_FAMILIES_H_
