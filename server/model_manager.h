// The served model. Requests take a shared_ptr to the engine they start with;
// a reload builds the new engine beside the old one and swaps only on success,
// so a failed reload keeps the old model serving and in-flight requests finish
// on the model they started with.
#ifndef ATTNSERVE_SERVER_MODEL_MANAGER_H_
#define ATTNSERVE_SERVER_MODEL_MANAGER_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "engine/engine.h"

namespace attnserve {

class ModelManager {
 public:
  // `base` carries the engine limits; models are directories under `model_root`;
  // their classification heads are in `heads_dir` and their auto-policy table
  // in `calibration_file` (each relative to the model's directory, or absolute).
  ModelManager(EngineConfig base, std::string model_root, std::string heads_dir = "heads",
               std::string calibration_file = "calibration.json")
      : base_(std::move(base)),
        model_root_(std::move(model_root)),
        heads_dir_(std::move(heads_dir)),
        calibration_file_(std::move(calibration_file)) {}

  // Loads `model_dir` (a name under the model root) and makes it current.
  absl::Status Load(const std::string& model_dir);

  // The current engine, or null before the first successful load.
  std::shared_ptr<const Engine> Current() const;
  std::string current_dir() const;
  int64_t generation() const;

 private:
  absl::StatusOr<std::string> ResolveDir(const std::string& model_dir) const;

  const EngineConfig base_;
  const std::string model_root_;
  const std::string heads_dir_;
  const std::string calibration_file_;
  std::mutex reload_mu_;  // one reload at a time
  mutable std::mutex mu_;
  std::shared_ptr<const Engine> current_;
  std::string current_dir_;
  int64_t generation_ = 0;
};

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_MODEL_MANAGER_H_
