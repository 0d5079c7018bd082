// The served models, by name. Requests take a shared_ptr to the engine they
// start with; a reload builds the new engine beside the old one and swaps only
// on success, so a failed reload keeps the old model serving, in-flight
// requests finish on the model they started with, and the other models are
// never touched.
#ifndef ATTNSERVE_SERVER_MODEL_MANAGER_H_
#define ATTNSERVE_SERVER_MODEL_MANAGER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/engine.h"

namespace attnserve {

class ModelManager {
 public:
  // One served model: its name (the engine's ModelInfo name), the directory
  // under the model root it was loaded from, and which load it was (a
  // counter over all models, so every successful load has its own number).
  struct Served {
    std::string name;
    std::string dir;
    std::shared_ptr<const Engine> engine;
    int64_t generation = 0;
  };

  // `base` carries the engine limits; models are directories under `model_root`;
  // their classification heads are in `heads_dir` and their auto-policy table
  // in `calibration_file` (each relative to the model's directory, or absolute).
  ModelManager(EngineConfig base, std::string model_root, std::string heads_dir = "heads",
               std::string calibration_file = "calibration.json")
      : base_(std::move(base)),
        model_root_(std::move(model_root)),
        heads_dir_(std::move(heads_dir)),
        calibration_file_(std::move(calibration_file)) {}

  // Loads `model_dir` (a name under the model root) and serves it beside the
  // others; the first one added is the default. A name already served is
  // AlreadyExists.
  absl::Status Add(const std::string& model_dir);

  // Reloads the served model `name` ("" = the default) from `model_dir` (""
  // = the directory it was loaded from). NotFound names the served models;
  // a reload that would take another served model's name is refused.
  absl::StatusOr<Served> Reload(const std::string& name, const std::string& model_dir);

  // The default model's engine, or null before the first successful load.
  std::shared_ptr<const Engine> Current() const;
  // The engine serving `name`, or null.
  std::shared_ptr<const Engine> Find(const std::string& name) const;
  // Every served model, the default first.
  std::vector<Served> All() const;
  // "'use-lite', 'bert-cls'" (for errors).
  std::string NameList() const;
  // The generation of the model `engine` belongs to (0 if not served).
  int64_t GenerationOf(const Engine* engine) const;

 private:
  absl::StatusOr<std::string> ResolveDir(const std::string& model_dir) const;
  // Loads and warms an engine from `model_dir`, without serving it.
  absl::StatusOr<std::shared_ptr<const Engine>> LoadEngine(const std::string& model_dir) const;
  std::string NameListLocked() const;

  const EngineConfig base_;
  const std::string model_root_;
  const std::string heads_dir_;
  const std::string calibration_file_;
  std::mutex reload_mu_;  // one load at a time
  mutable std::mutex mu_;
  std::vector<Served> served_;  // served_[0] is the default
  int64_t loads_ = 0;
};

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_MODEL_MANAGER_H_
