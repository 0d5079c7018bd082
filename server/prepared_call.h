// An inference call checked and snapshotted before it is queued, and the
// worker-side steps every kind of call shares (queue checks, tokenize, the
// energy span, stats to the wire). Transport-neutral: gRPC handlers and the
// HTTP routes both hand in the v1 request messages.
#ifndef ATTNSERVE_SERVER_PREPARED_CALL_H_
#define ATTNSERVE_SERVER_PREPARED_CALL_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attnserve/v1/inference.pb.h"
#include "server/serving_state.h"
#include "server/telemetry/power/request_energy.h"

namespace attnserve {

// What preparing reads from an EmbedRequest or a ClassifyRequest.
struct CallInputs {
  const std::string* model;
  const google::protobuf::RepeatedPtrField<std::string>* texts;
  const google::protobuf::RepeatedPtrField<v1::TokenIds>* token_inputs;
  const v1::ExecutionOptions* options;
  bool return_token_ids = false;
  std::optional<bool> truncate;
  bool token_ids_with_special_tokens = false;
};
CallInputs InputsOf(const v1::EmbedRequest& request);
CallInputs InputsOf(const v1::ClassifyRequest& request);

// Everything a worker needs, snapshotted when the request was admitted: a
// policy switch or model reload meanwhile does not tear the request.
struct PreparedCall {
  std::shared_ptr<const Engine> engine;
  std::shared_ptr<const v1::Policy> policy;
  RunOptions options;
  CallInputs inputs;
  // > 0: texts of more tokens are refused (policy over_length: reject, or the
  // request's truncate: false), with `reject_why` ending the message.
  int reject_over = 0;
  std::string reject_why;
  absl::Time admitted;
  const power::RequestEnergyAttributor* energy = nullptr;
  const power::EnergyMeter* meter = nullptr;
};

// Count and size limits of the inputs (texts or token ids), before anything
// is tokenized. Errors name the field.
// `scope` ends each "limit of N" message (ServingState::LimitsScope).
absl::Status CheckInputLimits(const v1::LimitsConfig& limits, const CallInputs& inputs,
                              const std::string& scope = "");

// Limits (texts, bytes, token ids), model name, policy overrides, kernel and
// parameter checks. Errors name the field.
absl::StatusOr<PreparedCall> PrepareCall(const ServingState& state, const CallInputs& inputs);

// The model the request names, or the served one ("" = the served model);
// NotFound names both. Unavailable while the model loads.
absl::StatusOr<std::shared_ptr<const Engine>> EngineFor(const ServingState& state,
                                                        const std::string& model);

// What a worker reports about a call it ran, for telemetry.
struct RunOutcome {
  double queue_seconds = 0;
  bool ran = false;  // the engine ran; `stats` holds its figures
  RunStats stats;
  double energy_joules = -1;  // attributed energy; < 0 when unknown
  int batch_requests = 1;     // requests that shared the engine run
};

// The worker's first steps for any call: refuse one cancelled or expired
// while queued, then the token ids of the inputs (texts tokenized under the
// over-length rule, or the given ids checked against the vocabulary).
// Sets outcome->queue_seconds and *tokenize_seconds.
absl::StatusOr<std::vector<std::vector<int32_t>>> BeginRun(const PreparedCall& prepared,
                                                           absl::Time deadline,
                                                           const std::function<bool()>& cancelled,
                                                           RunOutcome* outcome,
                                                           double* tokenize_seconds);

// The energy attributed to one run, measured between Begin and End.
class RunEnergy {
 public:
  explicit RunEnergy(const PreparedCall& prepared);
  // Writes the energy into `out` and `outcome` (nothing when power is off).
  void End(double cpu_seconds, v1::RunStats* out, RunOutcome* outcome);
  // The energy of the run in millijoules; < 0 when power is off.
  double EndMillijoules(double cpu_seconds);
  // Writes `millijoules` (a share of a run's) into `out` and `outcome`.
  void Write(double millijoules, v1::RunStats* out, RunOutcome* outcome) const;

 private:
  const PreparedCall& prepared_;
  std::optional<power::EnergySpan> span_;
};

// RunOptions of a prepared call with the call's deadline and cancellation.
RunOptions OptionsFor(const PreparedCall& prepared, absl::Time deadline,
                      std::function<bool()> is_cancelled);

// Records a finished run: its stats (with the queue time and the policy
// version) into the wire message and `outcome`.
void FinishOutcome(const PreparedCall& prepared, RunStats stats, v1::RunStats* out,
                   RunOutcome* outcome);

// One unbatched call on the worker: BeginRun, then `run(ids, options)` (an
// Engine::*TokenIds call returning StatusOr<Result>) inside the energy span;
// the result's stats carry the tokenize time and the energy lands in
// `stats_out`. The caller fills its response, then calls FinishOutcome.
template <typename Run>
auto RunEngine(const PreparedCall& prepared, absl::Time deadline,
               std::function<bool()> is_cancelled, v1::RunStats* stats_out, RunOutcome* outcome,
               Run run) -> decltype(run(std::vector<std::vector<int32_t>>(), RunOptions())) {
  double tokenize_seconds = 0;
  absl::StatusOr<std::vector<std::vector<int32_t>>> ids =
      BeginRun(prepared, deadline, is_cancelled, outcome, &tokenize_seconds);
  if (!ids.ok()) return ids.status();
  RunEnergy energy(prepared);
  auto result = run(*std::move(ids), OptionsFor(prepared, deadline, std::move(is_cancelled)));
  if (!result.ok()) return result;
  result->stats.tokenize_seconds = tokenize_seconds;
  energy.End(result->stats.cpu_seconds, stats_out, outcome);
  return result;
}

// absl::Time of a gRPC deadline (InfiniteFuture when none).
absl::Time DeadlineOf(std::chrono::system_clock::time_point deadline);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_PREPARED_CALL_H_
