#include "server/admitted_call.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "server/bearer_token.h"
#include "server/embed_batch.h"
#include "server/embed_call.h"
#include "server/status_util.h"

namespace attnserve {
namespace {

// The model name for telemetry labels ("" while loading).
std::string ModelName(const ServingState& state) {
  auto engine = state.models->Current();
  return engine != nullptr ? engine->model_info().name : "";
}

// The answer to a request admission refused; counts the rejection.
absl::Status Refused(const ServingState& state, const CallSite& site, AdmissionQueue::Admit admit) {
  const bool full = admit == AdmissionQueue::Admit::kQueueFull;
  state.observer->OnRejected(site.rpc, site.transport, full ? "queue_full" : "shutting_down");
  if (!full) return absl::UnavailableError("the server is shutting down");
  return WithRetryAfter(absl::ResourceExhaustedError(absl::StrCat(
                            "the request queue is full (", state.queue->workers(), " running, ",
                            state.queue->capacity(), " waiting); retry with backoff")),
                        1);
}

}  // namespace

absl::Status CheckCallable(const ServingState& state, const CallSite& site) {
  if (!state.api_keys.empty()) {
    if (absl::Status s = CheckBearer(site.authorization, state.api_keys, "inference calls");
        !s.ok()) {
      return s;
    }
  }
  if (state.draining.load()) {
    return absl::UnavailableError("the server is draining; retry elsewhere");
  }
  return CheckStarted(state);
}

absl::Status RecordCall(const ServingState& state, const CallSite& site,
                        const absl::Status& status) {
  RequestRecord record;
  record.rpc = site.rpc;
  record.transport = site.transport;
  record.model = ModelName(state);
  record.code = static_cast<int>(status.code());
  record.total_seconds = absl::ToDoubleSeconds(absl::Now() - site.start);
  state.observer->OnRequest(record);
  return status;
}

void RecordRun(const ServingState& state, const CallSite& site, const PreparedCall& prepared,
               const absl::Status& status, const RunOutcome& outcome) {
  RequestRecord record;
  record.rpc = site.rpc;
  record.transport = site.transport;
  record.model = prepared.engine->model_info().name;
  record.kernel = prepared.options.attention;
  record.code = static_cast<int>(status.code());
  record.total_seconds = absl::ToDoubleSeconds(absl::Now() - site.start);
  record.queue_seconds = outcome.queue_seconds;
  record.stats = status.ok() && outcome.ran ? &outcome.stats : nullptr;
  record.energy_joules = outcome.energy_joules;
  state.observer->OnRequest(record);
}

namespace {

// The steps before the queue: authenticate, refuse, prepare, check. On
// failure the call is recorded and finished here, and nullopt returned.
std::optional<PreparedCall> PrepareOrFinish(ServingState* state, const CallSite& site,
                                            const CallInputs& inputs, const CheckFn& check,
                                            const FinishFn& finish) {
  absl::Status refused = CheckCallable(*state, site);
  absl::StatusOr<PreparedCall> prepared =
      refused.ok() ? PrepareCall(*state, inputs) : absl::StatusOr<PreparedCall>(refused);
  if (prepared.ok() && check) {
    if (absl::Status s = check(*prepared); !s.ok()) prepared = s;
  }
  if (!prepared.ok()) {
    finish(RecordCall(*state, site, prepared.status()));
    return std::nullopt;
  }
  return *std::move(prepared);
}

}  // namespace

void RunAdmittedCall(ServingState* state, CallSite site, const CallInputs& inputs,
                     const CheckFn& check, ExecuteFn execute, FinishFn finish) {
  std::optional<PreparedCall> prepared = PrepareOrFinish(state, site, inputs, check, finish);
  if (!prepared) return;
  // The job owns the site and callbacks; `finish` is shared with the refusal
  // branch below, which runs only when the job was never queued.
  auto shared_finish = std::make_shared<FinishFn>(std::move(finish));
  auto shared_site = std::make_shared<CallSite>(std::move(site));
  const AdmissionQueue::Admit admit =
      state->queue->TrySubmit([state, shared_site, shared_finish, execute = std::move(execute),
                               p = *std::move(prepared)](const AdmissionQueue::Release& release) {
        RunOutcome outcome;
        const absl::Status status = execute(p, *shared_site, &outcome);
        RecordRun(*state, *shared_site, p, status, outcome);
        release();
        (*shared_finish)(status);
      });
  if (admit != AdmissionQueue::Admit::kAccepted) {
    (*shared_finish)(RecordCall(*state, *shared_site, Refused(*state, *shared_site, admit)));
  }
}

void RunAdmittedEmbed(ServingState* state, CallSite site, const CallInputs& inputs,
                      v1::EmbedResponse* response, FinishFn finish) {
  std::optional<PreparedCall> prepared = PrepareOrFinish(state, site, inputs, nullptr, finish);
  if (!prepared) return;
  std::string key = EmbedBatchKey(*prepared);
  if (key.empty()) {
    // Runs alone: the plain path (RunAdmittedCall without its checks again).
    auto shared_finish = std::make_shared<FinishFn>(std::move(finish));
    auto shared_site = std::make_shared<CallSite>(std::move(site));
    const AdmissionQueue::Admit admit =
        state->queue->TrySubmit([state, shared_site, shared_finish, response,
                                 p = *std::move(prepared)](const AdmissionQueue::Release& release) {
          RunOutcome outcome;
          const absl::Status status =
              ExecuteEmbed(p, shared_site->deadline, shared_site->is_cancelled, response, &outcome);
          RecordRun(*state, *shared_site, p, status, outcome);
          release();
          (*shared_finish)(status);
        });
    if (admit != AdmissionQueue::Admit::kAccepted) {
      (*shared_finish)(RecordCall(*state, *shared_site, Refused(*state, *shared_site, admit)));
    }
    return;
  }
  auto member = std::make_shared<EmbedBatchMember>(state, std::move(site), *std::move(prepared),
                                                   std::move(key), response, std::move(finish));
  const AdmissionQueue::Admit admit = state->queue->TrySubmitBatchable(member, &RunEmbedBatch);
  if (admit != AdmissionQueue::Admit::kAccepted) {
    member->finish(RecordCall(*state, member->site, Refused(*state, member->site, admit)));
  }
}

}  // namespace attnserve
