#include "server/prepared_call.h"

#include "absl/strings/str_cat.h"
#include "engine/util/status_macros.h"
#include "server/request_options.h"
#include "server/telemetry/power/energy_meter.h"

namespace attnserve {

CallInputs InputsOf(const v1::EmbedRequest& r) {
  return CallInputs{&r.model(),
                    &r.texts(),
                    &r.token_inputs(),
                    &r.options(),
                    r.return_token_ids(),
                    r.has_truncate() ? std::optional(r.truncate()) : std::nullopt,
                    r.token_ids_with_special_tokens()};
}

CallInputs InputsOf(const v1::ClassifyRequest& r) {
  return CallInputs{
      &r.model(),   &r.texts(), &r.token_inputs(),
      &r.options(), false,      r.has_truncate() ? std::optional(r.truncate()) : std::nullopt};
}

absl::Time DeadlineOf(std::chrono::system_clock::time_point deadline) {
  // gRPC reports "no deadline" as a time point centuries away.
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

absl::StatusOr<std::shared_ptr<const Engine>> EngineFor(const ServingState& state,
                                                        const std::string& model) {
  std::shared_ptr<const Engine> engine =
      model.empty() ? state.models->Current() : state.models->Find(model);
  if (engine != nullptr) return engine;
  if (state.models->Current() == nullptr)
    return absl::UnavailableError("the model is still loading");
  return absl::NotFoundError(absl::StrCat("model: '", model, "' is not served; this server serves ",
                                          state.models->NameList()));
}

absl::Status CheckInputLimits(const v1::LimitsConfig& limits, const CallInputs& in,
                              const std::string& scope) {
  const int texts = in.texts->size(), id_lists = in.token_inputs->size();
  if (texts > 0 && id_lists > 0) {
    return absl::InvalidArgumentError("texts: give texts or token_inputs, not both");
  }
  const int n = texts + id_lists;
  const char* field = id_lists > 0 ? "token_inputs" : "texts";
  if (n == 0) return absl::InvalidArgumentError("texts: at least one text is required");
  if (n > limits.max_texts_per_request()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", n, " texts exceed the limit of ",
                                                   limits.max_texts_per_request(), scope));
  }
  for (int i = 0; i < texts; ++i) {
    if (static_cast<int64_t>((*in.texts)[i].size()) > limits.max_text_bytes()) {
      return absl::InvalidArgumentError(absl::StrCat("texts[", i, "]: ", (*in.texts)[i].size(),
                                                     " bytes exceed the limit of ",
                                                     limits.max_text_bytes(), scope));
    }
  }
  for (int i = 0; i < id_lists; ++i) {
    if ((*in.token_inputs)[i].ids_size() > limits.max_tokens()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token_inputs[", i, "]: ", (*in.token_inputs)[i].ids_size(),
                       " ids exceed the max_tokens limit of ", limits.max_tokens(),
                       scope.empty() ? " (the server's)" : scope));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PreparedCall> PrepareCall(const ServingState& state, const CallInputs& inputs) {
  PreparedCall prepared;
  prepared.inputs = inputs;
  ASSIGN_OR_RETURN(prepared.engine, EngineFor(state, *inputs.model));
  const std::string& model = prepared.engine->model_info().name;
  const v1::LimitsConfig& limits = state.LimitsFor(model);
  RETURN_IF_ERROR(CheckInputLimits(limits, inputs, state.LimitsScope(model)));
  prepared.policy = state.policy->Current();
  ASSIGN_OR_RETURN(prepared.options, MergeRunOptions(*prepared.policy, model, *inputs.options));
  if (prepared.options.num_threads == 0) prepared.options.num_threads = state.threads_per_request;
  // A model's own max_tokens (the engine knows only the server's): a larger
  // clip is refused, and the model's default clip is lowered to it.
  if (limits.max_tokens() < state.limits.max_tokens()) {
    if (prepared.options.max_tokens > limits.max_tokens()) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.max_tokens: ", prepared.options.max_tokens,
                       " exceeds the limit of ", limits.max_tokens(), state.LimitsScope(model)));
    }
    if (prepared.options.max_tokens == 0 &&
        prepared.engine->model_info().default_max_tokens > limits.max_tokens()) {
      prepared.options.max_tokens = limits.max_tokens();
    }
  }
  // Fail fast on a bad kernel, parameter or range (max_tokens against the
  // server's limit included: it is the engine's max_tokens_limit) before queueing.
  if (absl::Status s = prepared.engine->CheckOptions(prepared.options); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("options.", s.message()));
  }
  const int clip = prepared.options.max_tokens != 0
                       ? prepared.options.max_tokens
                       : prepared.engine->model_info().default_max_tokens;
  if (prepared.policy->over_length() == "reject") {
    prepared.reject_over = clip;
    prepared.reject_why = " and the policy rejects over-length texts (over_length: reject)";
  } else if (inputs.truncate.has_value() && !*inputs.truncate) {
    prepared.reject_over = clip;
    prepared.reject_why = " and the request asked not to truncate (truncate: false)";
  }
  prepared.admitted = absl::Now();
  prepared.energy = state.energy;
  prepared.meter = state.meter;
  return prepared;
}

namespace {

// Given ids, checked as the tokenizer's output would be: in the vocabulary,
// within the over-length rule.
absl::StatusOr<std::vector<std::vector<int32_t>>> CheckedTokenInputs(const PreparedCall& p) {
  const int vocab = p.engine->model_info().vocab_size;
  std::vector<std::vector<int32_t>> ids;
  ids.reserve(p.inputs.token_inputs->size());
  for (int i = 0; i < p.inputs.token_inputs->size(); ++i) {
    const v1::TokenIds& given = (*p.inputs.token_inputs)[i];
    for (int j = 0; j < given.ids_size(); ++j) {
      if (given.ids(j) < 0 || given.ids(j) >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat("token_inputs[", i, "][", j, "]: id ", given.ids(j),
                         " is outside the vocabulary [0, ", vocab, ")"));
      }
    }
    if (p.reject_over > 0 && given.ids_size() > p.reject_over) {
      return absl::InvalidArgumentError(absl::StrCat("token_inputs[", i, "]: ", given.ids_size(),
                                                     " tokens exceed max_tokens ", p.reject_over,
                                                     p.reject_why));
    }
    ids.emplace_back(given.ids().begin(), given.ids().end());
  }
  return ids;
}

}  // namespace

absl::StatusOr<std::vector<std::vector<int32_t>>> BeginRun(const PreparedCall& prepared,
                                                           absl::Time deadline,
                                                           const std::function<bool()>& cancelled,
                                                           RunOutcome* outcome,
                                                           double* tokenize_seconds) {
  outcome->queue_seconds = absl::ToDoubleSeconds(absl::Now() - prepared.admitted);
  if (cancelled && cancelled()) return absl::CancelledError("cancelled while queued");
  if (absl::Now() > deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat("deadline expired after ", outcome->queue_seconds, " s in the queue"));
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<std::vector<int32_t>>> ids;
  if (!prepared.inputs.token_inputs->empty()) {
    ids = CheckedTokenInputs(prepared);
  } else {
    const std::vector<std::string_view> texts(prepared.inputs.texts->begin(),
                                              prepared.inputs.texts->end());
    ids = prepared.engine->TokenizeBatch(texts, prepared.reject_over, prepared.reject_why);
  }
  *tokenize_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return ids;
}

RunEnergy::RunEnergy(const PreparedCall& prepared) : prepared_(prepared) {
  if (prepared.energy != nullptr) span_ = prepared.energy->BeginSpan();
}

double RunEnergy::EndMillijoules(double cpu_seconds) {
  return span_ ? prepared_.energy->EndSpanMillijoules(*span_, cpu_seconds) : -1;
}

void RunEnergy::Write(double millijoules, v1::RunStats* out, RunOutcome* outcome) const {
  if (millijoules < 0) return;
  outcome->energy_joules = millijoules * 1e-3;
  out->set_energy_millijoules(millijoules);
  out->set_energy_source(prepared_.meter->source_name());
}

void RunEnergy::End(double cpu_seconds, v1::RunStats* out, RunOutcome* outcome) {
  Write(EndMillijoules(cpu_seconds), out, outcome);
}

RunOptions OptionsFor(const PreparedCall& prepared, absl::Time deadline,
                      std::function<bool()> is_cancelled) {
  RunOptions options = prepared.options;
  options.deadline = deadline;
  options.is_cancelled = std::move(is_cancelled);
  return options;
}

namespace {

// Copies engine stats into the wire message.
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
  out->set_batch_requests(1);
  out->set_batch_texts(static_cast<int32_t>(stats.texts.size()));
  if (!stats.auto_config.empty()) {
    v1::AutoSelection* a = out->mutable_auto_selection();
    a->set_config(stats.auto_config);
    a->set_budget_met(stats.budget_met);
    a->set_note(stats.budget_note);
    a->set_predicted_latency_ms(stats.predicted_latency_ms);
    a->set_predicted_quality(stats.predicted_quality);
  }
}

}  // namespace

void FinishOutcome(const PreparedCall& prepared, RunStats stats, v1::RunStats* out,
                   RunOutcome* outcome) {
  ToProto(stats, outcome->queue_seconds, prepared.policy->version(), out);
  outcome->ran = true;
  outcome->stats = std::move(stats);
}

}  // namespace attnserve
