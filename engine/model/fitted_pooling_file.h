// Reads <model_dir>/linformer_fit.json (tools/fit_linformer.py) into the
// FittedPooling linformer's fitted=1 runs on, after checking it was fitted
// to these weights: the file lists each weight file with its sha256, and a
// file that differs, is missing or is not listed refuses the fit.
#ifndef ATTNSERVE_ENGINE_MODEL_FITTED_POOLING_FILE_H_
#define ATTNSERVE_ENGINE_MODEL_FITTED_POOLING_FILE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/attention/fitted_pooling.h"
#include "engine/model/encoder_model.h"

namespace attnserve {

inline constexpr char kFittedPoolingFile[] = "linformer_fit.json";

// The fit in `path` for `model` (its files in `model_dir`); null when `path`
// does not exist. Malformed JSON, shapes that do not match the model, and
// weights other than those fitted on are errors naming the file and the field.
absl::StatusOr<std::unique_ptr<FittedPooling>> LoadFittedPooling(const std::string& path,
                                                                 const std::string& model_dir,
                                                                 const ModelInfo& model);

// The lowercase hex sha256 of the file at `path`.
absl::StatusOr<std::string> FileSha256(const std::string& path);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_FITTED_POOLING_FILE_H_
