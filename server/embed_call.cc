#include "server/embed_call.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "server/request_options.h"
#include "server/telemetry/power/energy_meter.h"
#include "server/telemetry/power/request_energy.h"

namespace attnserve {

absl::Time DeadlineOf(std::chrono::system_clock::time_point deadline) {
  // gRPC reports "no deadline" as a time point centuries away.
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

absl::StatusOr<PreparedEmbed> PrepareEmbed(
    const ServingState& state, const std::string& model,
    const google::protobuf::RepeatedPtrField<std::string>& texts,
    const v1::ExecutionOptions& options, bool return_token_ids) {
  PreparedEmbed prepared;
  prepared.engine = state.models->Current();
  if (prepared.engine == nullptr) return absl::UnavailableError("the model is still loading");
  const std::string& served = prepared.engine->model_info().name;
  if (!model.empty() && model != served) {
    return absl::NotFoundError(
        absl::StrCat("model: '", model, "' is not served; this server serves '", served, "'"));
  }
  if (texts.empty()) return absl::InvalidArgumentError("texts: at least one text is required");
  if (texts.size() > state.limits.max_texts_per_request()) {
    return absl::InvalidArgumentError(absl::StrCat("texts: ", texts.size(),
                                                   " texts exceed the limit of ",
                                                   state.limits.max_texts_per_request()));
  }
  for (int i = 0; i < texts.size(); ++i) {
    if (static_cast<int64_t>(texts[i].size()) > state.limits.max_text_bytes()) {
      return absl::InvalidArgumentError(absl::StrCat("texts[", i, "]: ", texts[i].size(),
                                                     " bytes exceed the limit of ",
                                                     state.limits.max_text_bytes()));
    }
  }
  prepared.policy = state.policy->Current();
  absl::StatusOr<RunOptions> run = MergeRunOptions(*prepared.policy, options);
  if (!run.ok()) return run.status();
  prepared.options = *std::move(run);
  if (prepared.options.num_threads == 0) prepared.options.num_threads = state.threads_per_request;
  if (prepared.options.max_tokens > state.limits.max_tokens()) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.max_tokens: ", prepared.options.max_tokens,
                     " exceeds the server's limit of ", state.limits.max_tokens()));
  }
  // Fail fast on a bad kernel, parameter or range before queueing.
  if (absl::Status s = prepared.engine->CheckOptions(prepared.options); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("options.", s.message()));
  }
  prepared.reject_over_length = prepared.policy->over_length() == "reject";
  prepared.return_token_ids = return_token_ids;
  prepared.admitted = absl::Now();
  prepared.energy = state.energy;
  prepared.meter = state.meter;
  return prepared;
}

absl::Status ExecuteEmbed(const PreparedEmbed& prepared,
                          const google::protobuf::RepeatedPtrField<std::string>& texts,
                          absl::Time deadline, std::function<bool()> is_cancelled,
                          v1::EmbedResponse* response, RunStats* stats, double* energy_joules) {
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
  ids.reserve(texts.size());
  const int clip = prepared.options.max_tokens != 0 ? prepared.options.max_tokens
                                                    : engine.model_info().default_max_tokens;
  for (int i = 0; i < texts.size(); ++i) {
    absl::StatusOr<std::vector<int32_t>> t = engine.Tokenize(texts[i]);
    if (!t.ok())
      return absl::Status(t.status().code(),
                          absl::StrCat("texts[", i, "]: ", t.status().message()));
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
  absl::StatusOr<EmbedResult> result = engine.EmbedTokenIds(std::move(ids), options);
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
  for (size_t i = 0; i < result->token_ids.size(); ++i) {
    v1::Embedding* e = response->add_embeddings();
    e->mutable_values()->Add(result->embedding(i), result->embedding(i) + result->dim);
    if (prepared.return_token_ids) {
      e->mutable_token_ids()->Add(result->token_ids[i].begin(), result->token_ids[i].end());
    }
  }
  ToProto(result->stats, queue_seconds, prepared.policy->version(), response->mutable_stats());
  *stats = std::move(result->stats);
  return absl::OkStatus();
}

void ToProto(const RunStats& stats, double queue_seconds, int64_t policy_version,
             v1::RunStats* out) {
  out->set_attention_kernel(stats.attention_kernel);
  out->set_linear_precision(stats.linear_precision);
  out->set_queue_seconds(queue_seconds);
  out->set_tokenize_seconds(stats.tokenize_seconds);
  out->set_compute_seconds(stats.compute_seconds);
  out->set_attention_seconds(stats.attention_seconds);
  out->set_flops(stats.flops);
  out->set_attention_pairs_scored(stats.attention_pairs_scored);
  out->set_attention_pairs_total(stats.attention_pairs_total);
  out->set_layers_run(stats.layers_run);
  for (int64_t t : stats.tokens_per_layer) out->add_tokens_per_layer(t);
  for (const TextStats& t : stats.texts) {
    v1::TextStats* ts = out->add_texts();
    ts->set_tokens_in(t.tokens_in);
    ts->set_tokens_used(t.tokens_used);
    ts->set_tokens_kept(t.tokens_kept);
    ts->set_exit_layer(t.exit_layer);
  }
  out->set_exit_layer(stats.exit_layer);
  out->set_num_threads(stats.num_threads);
  out->set_max_tokens(stats.max_tokens);
  out->set_policy_version(policy_version);
  if (!stats.auto_config.empty()) {
    v1::AutoSelection* a = out->mutable_auto_selection();
    a->set_config(stats.auto_config);
    a->set_budget_met(stats.budget_met);
    a->set_note(stats.budget_note);
    a->set_predicted_latency_ms(stats.predicted_latency_ms);
    a->set_predicted_quality(stats.predicted_quality);
  }
}

}  // namespace attnserve
