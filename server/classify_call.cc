#include "server/classify_call.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/telemetry/power/energy_meter.h"
#include "server/telemetry/power/request_energy.h"

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

absl::Status ExecuteClassify(const PreparedEmbed& prepared,
                             const google::protobuf::RepeatedPtrField<std::string>& texts,
                             const std::string& head, absl::Time deadline,
                             std::function<bool()> is_cancelled, v1::ClassifyResponse* response,
                             RunStats* stats, double* energy_joules) {
  *energy_joules = -1;
  const Engine& engine = *prepared.engine;
  const double queue_seconds = absl::ToDoubleSeconds(absl::Now() - prepared.admitted);
  if (is_cancelled && is_cancelled()) return absl::CancelledError("cancelled while queued");
  if (absl::Now() > deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat("deadline expired after ", queue_seconds, " s in the queue"));
  }
  const absl::Time tokenize_start = absl::Now();
  std::vector<std::vector<int32_t>> ids;
  const int clip = prepared.options.max_tokens != 0 ? prepared.options.max_tokens
                                                    : engine.model_info().default_max_tokens;
  for (int i = 0; i < texts.size(); ++i) {
    absl::StatusOr<std::vector<int32_t>> t = engine.Tokenize(texts[i]);
    if (!t.ok()) {
      return absl::Status(t.status().code(),
                          absl::StrCat("texts[", i, "]: ", t.status().message()));
    }
    if (prepared.reject_over_length && static_cast<int>(t->size()) > clip) {
      return absl::InvalidArgumentError(
          absl::StrCat("texts[", i, "]: ", t->size(), " tokens exceed max_tokens ", clip,
                       " and the policy rejects over-length texts (over_length: reject)"));
    }
    ids.push_back(*std::move(t));
  }
  const double tokenize_seconds = absl::ToDoubleSeconds(absl::Now() - tokenize_start);

  RunOptions options = prepared.options;
  options.deadline = deadline;
  options.is_cancelled = std::move(is_cancelled);
  std::optional<power::EnergySpan> span;
  if (prepared.energy != nullptr) span = prepared.energy->BeginSpan();
  absl::StatusOr<ClassifyResult> result = engine.ClassifyTokenIds(std::move(ids), head, options);
  if (!result.ok()) return result.status();
  result->stats.tokenize_seconds = tokenize_seconds;
  if (span) {
    const double millijoules =
        prepared.energy->EndSpanMillijoules(*span, result->stats.cpu_seconds);
    *energy_joules = millijoules * 1e-3;
    response->mutable_stats()->set_energy_millijoules(millijoules);
    response->mutable_stats()->set_energy_source(prepared.meter->source_name());
  }
  response->set_model(engine.model_info().name);
  for (size_t i = 0; i < result->scores.size(); ++i) {
    v1::Classification* c = response->add_results();
    c->set_label(result->labels[result->predicted[i]]);
    for (size_t k = 0; k < result->labels.size(); ++k) {
      (*c->mutable_scores())[result->labels[k]] = result->scores[i][k];
    }
  }
  ToProto(result->stats, queue_seconds, prepared.policy->version(), response->mutable_stats());
  *stats = std::move(result->stats);
  return absl::OkStatus();
}

}  // namespace attnserve
