// The steps of an embedding request shared by Embed and EmbedStream: check
// the request against the limits and the policy, then run it in a worker.
#ifndef ATTNSERVE_SERVER_EMBED_CALL_H_
#define ATTNSERVE_SERVER_EMBED_CALL_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attnserve/v1/inference.pb.h"
#include "server/serving_state.h"

namespace attnserve {

// Everything a worker needs, snapshotted when the request was admitted: a
// policy switch or model reload meanwhile does not tear the request.
struct PreparedEmbed {
  std::shared_ptr<const Engine> engine;
  std::shared_ptr<const v1::Policy> policy;
  RunOptions options;
  bool reject_over_length = false;
  bool return_token_ids = false;
  absl::Time admitted;
  const power::RequestEnergyAttributor* energy = nullptr;
  const power::EnergyMeter* meter = nullptr;
};

// Limits (texts, bytes), model name, policy overrides. Errors name the field.
absl::StatusOr<PreparedEmbed> PrepareEmbed(
    const ServingState& state, const std::string& model,
    const google::protobuf::RepeatedPtrField<std::string>& texts,
    const v1::ExecutionOptions& options, bool return_token_ids);

// Tokenizes, applies the over-length policy, runs the engine and fills
// `response`. `stats` receives the engine's figures when it ran, and
// `energy_joules` the energy attributed to the run (< 0 when unknown).
absl::Status ExecuteEmbed(const PreparedEmbed& prepared,
                          const google::protobuf::RepeatedPtrField<std::string>& texts,
                          absl::Time deadline, std::function<bool()> is_cancelled,
                          v1::EmbedResponse* response, RunStats* stats, double* energy_joules);

// Copies engine stats into the wire message.
void ToProto(const RunStats& stats, double queue_seconds, int64_t policy_version,
             v1::RunStats* out);

// absl::Time of a gRPC deadline (InfiniteFuture when none).
absl::Time DeadlineOf(std::chrono::system_clock::time_point deadline);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_EMBED_CALL_H_
