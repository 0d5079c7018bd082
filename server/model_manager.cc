#include "server/model_manager.h"

#include <algorithm>
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

absl::StatusOr<std::shared_ptr<const Engine>> ModelManager::LoadEngine(
    const std::string& model_dir) const {
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
  return std::shared_ptr<const Engine>(std::move(engine));
}

absl::Status ModelManager::Add(const std::string& model_dir) {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<const Engine> engine, LoadEngine(model_dir));
  const std::string& name = engine->model_info().name;
  std::lock_guard<std::mutex> lock(mu_);
  for (const Served& s : served_) {
    if (s.name == name) {
      return absl::AlreadyExistsError(absl::StrCat("model_dir: '", model_dir, "' is model '", name,
                                                   "', already served from '", s.dir,
                                                   "'; each served model needs its own name"));
    }
  }
  served_.push_back(Served{name, model_dir, std::move(engine), ++loads_});
  return absl::OkStatus();
}

absl::StatusOr<ModelManager::Served> ModelManager::Reload(const std::string& name,
                                                          const std::string& model_dir) {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  std::string dir;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (served_.empty()) return absl::UnavailableError("no model is served yet");
    auto it = name.empty() ? served_.begin()
                           : std::find_if(served_.begin(), served_.end(),
                                          [&](const Served& s) { return s.name == name; });
    if (it == served_.end()) {
      return absl::NotFoundError(
          absl::StrCat("model: '", name, "' is not served; this server serves ", NameListLocked()));
    }
    dir = model_dir.empty() ? it->dir : model_dir;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Engine> engine, LoadEngine(dir));
  const std::string& new_name = engine->model_info().name;
  std::lock_guard<std::mutex> lock(mu_);
  // Found again: only this thread changes served_ (reload_mu_), but the
  // vector may not be indexed across the unlocked load.
  const std::string& target = name.empty() ? served_.front().name : name;
  Served* slot = nullptr;
  for (Served& s : served_) {
    if (s.name == target) {
      slot = &s;
    } else if (s.name == new_name) {
      return absl::AlreadyExistsError(absl::StrCat("model_dir: '", dir, "' is model '", new_name,
                                                   "', which is already served from '", s.dir,
                                                   "'; reload that one instead"));
    }
  }
  *slot = Served{new_name, dir, std::move(engine), ++loads_};
  return *slot;
}

std::shared_ptr<const Engine> ModelManager::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return served_.empty() ? nullptr : served_.front().engine;
}

std::shared_ptr<const Engine> ModelManager::Find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Served& s : served_) {
    if (s.name == name) return s.engine;
  }
  return nullptr;
}

std::vector<ModelManager::Served> ModelManager::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  return served_;
}

std::string ModelManager::NameList() const {
  std::lock_guard<std::mutex> lock(mu_);
  return NameListLocked();
}

std::string ModelManager::NameListLocked() const {
  std::string out;
  for (const Served& s : served_) absl::StrAppend(&out, out.empty() ? "'" : ", '", s.name, "'");
  return out.empty() ? "none yet" : out;
}

int64_t ModelManager::GenerationOf(const Engine* engine) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Served& s : served_) {
    if (s.engine.get() == engine) return s.generation;
  }
  return 0;
}

}  // namespace attnserve
