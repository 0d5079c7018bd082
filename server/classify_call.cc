#include "server/classify_call.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/util/status_macros.h"

namespace attnserve {

absl::Status CheckHead(const Engine& engine, const std::string& head) {
  const std::vector<std::string> names = engine.HeadNames();
  if (names.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("model '", engine.model_info().name, "' has no classification heads loaded",
                     head.empty() ? "" : absl::StrCat(" (head '", head, "')")));
  }
  if (head.empty() && names.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "head: the model has several heads; name one of ", absl::StrJoin(names, ", ")));
  }
  if (!head.empty() && engine.heads().count(head) == 0) {
    return absl::NotFoundError(
        absl::StrCat("head: '", head, "' is not loaded; known: ", absl::StrJoin(names, ", ")));
  }
  return absl::OkStatus();
}

absl::Status ExecuteClassify(const PreparedCall& prepared, const std::string& head,
                             absl::Time deadline, std::function<bool()> is_cancelled,
                             v1::ClassifyResponse* response, RunOutcome* outcome) {
  const Engine& engine = *prepared.engine;
  ASSIGN_OR_RETURN(
      ClassifyResult result,
      RunEngine(prepared, deadline, std::move(is_cancelled), response->mutable_stats(), outcome,
                [&](std::vector<std::vector<int32_t>> ids, RunOptions options) {
                  return engine.ClassifyTokenIds(std::move(ids), head, options);
                }));
  response->set_model(engine.model_info().name);
  for (size_t i = 0; i < result.scores.size(); ++i) {
    v1::Classification* c = response->add_results();
    c->set_label(result.labels[result.predicted[i]]);
    for (size_t k = 0; k < result.labels.size(); ++k) {
      (*c->mutable_scores())[result.labels[k]] = result.scores[i][k];
    }
  }
  FinishOutcome(prepared, std::move(result.stats), response->mutable_stats(), outcome);
  return absl::OkStatus();
}

}  // namespace attnserve
