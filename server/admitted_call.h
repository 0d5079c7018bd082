// The one path every inference call takes, whatever the transport:
//   authenticate -> refuse while draining or loading -> prepare (limits,
//   policy, options) -> admit into the bounded queue -> execute in a worker
//   -> record to telemetry -> finish.
// gRPC handlers (inference_service.cc) and HTTP routes (http/) differ only in
// how they read the request and write the answer.
#ifndef ATTNSERVE_SERVER_ADMITTED_CALL_H_
#define ATTNSERVE_SERVER_ADMITTED_CALL_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/prepared_call.h"
#include "server/serving_state.h"

namespace attnserve {

// Where a call came from and what bounds it.
struct CallSite {
  std::string rpc;        // "Embed", ...; HTTP: the route
  std::string transport;  // "grpc" or "http"
  absl::Time start = absl::Now();
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> is_cancelled;        // may be empty
  std::optional<std::string> authorization;  // the caller's Authorization value
};

// Checks the worker-side call after preparing; e.g. Classify's head.
using CheckFn = std::function<absl::Status(const PreparedCall&)>;
// Runs in a worker: the engine call that fills the transport's response.
using ExecuteFn = std::function<absl::Status(const PreparedCall&, const CallSite&, RunOutcome*)>;
// Called exactly once with the call's status: on this thread when the call
// is refused before the queue, else on the worker after its slot is freed.
using FinishFn = std::function<void(const absl::Status&)>;

void RunAdmittedCall(ServingState* state, CallSite site, const CallInputs& inputs,
                     const CheckFn& check, ExecuteFn execute, FinishFn finish);

// The same path for an embedding call, whose worker side is ExecuteEmbed;
// when the policy's batching allows, it may share one engine run with other
// queued embedding calls of the same options (server/embed_batch.h).
void RunAdmittedEmbed(ServingState* state, CallSite site, const CallInputs& inputs,
                      v1::EmbedResponse* response, FinishFn finish);

// Reports a call a worker ran (or refused) to telemetry.
void RecordRun(const ServingState& state, const CallSite& site, const PreparedCall& prepared,
               const absl::Status& status, const RunOutcome& outcome);

// For calls answered inline (Tokenize, model info): authentication and the
// draining / loading refusal. Record the result with RecordCall.
absl::Status CheckCallable(const ServingState& state, const CallSite& site);

// Reports a call that ended without running the engine; returns `status`.
absl::Status RecordCall(const ServingState& state, const CallSite& site,
                        const absl::Status& status);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_ADMITTED_CALL_H_
