#include "server/model_manager.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"

namespace attnserve {

absl::StatusOr<std::string> ModelManager::ResolveDir(const std::string& model_dir) const {
  // Only names under the model root: no absolute paths, no way out of it.
  if (model_dir.empty() || model_dir.front() == '/' || model_dir.find("..") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("model_dir: '", model_dir, "' must be a relative name under the model root"));
  }
  return JoinPath(model_root_, model_dir);
}

absl::Status ModelManager::Load(const std::string& model_dir) {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  ASSIGN_OR_RETURN(std::string dir, ResolveDir(model_dir));
  EngineConfig config = base_;
  config.model_dir = dir;
  const auto beside_model = [&](const std::string& path) {
    return !path.empty() && path.front() == '/' ? path : JoinPath(dir, path);
  };
  config.heads_dir = beside_model(heads_dir_);
  config.calibration_file = beside_model(calibration_file_);
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Load(config));
  // One small run before serving: oneDNN JIT-compiles its kernels on first
  // use, which would otherwise land on the first request (~0.3 s). The same
  // for each low precision asked for, which also builds its packed weights.
  std::vector<LinearPrecision> precisions = {LinearPrecision::kF32};
  for (LinearPrecision p : base_.warm_linear_precisions) precisions.push_back(p);
  for (LinearPrecision precision : precisions) {
    RunOptions warm_options;
    warm_options.linear_precision = precision;
    if (absl::StatusOr<EmbedResult> warm = engine->Embed({"warm up"}, warm_options); !warm.ok()) {
      return absl::Status(warm.status().code(),
                          absl::StrCat("warm-up run (", std::string(LinearPrecisionName(precision)),
                                       ") failed: ", warm.status().message()));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::shared_ptr<const Engine>(std::move(engine));
  current_dir_ = model_dir;
  ++generation_;
  return absl::OkStatus();
}

std::shared_ptr<const Engine> ModelManager::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::string ModelManager::current_dir() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_dir_;
}

int64_t ModelManager::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

}  // namespace attnserve
