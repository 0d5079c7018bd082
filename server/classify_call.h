// The worker half of a Classify request (the checks before queueing are
// PrepareEmbed's, shared with Embed).
#ifndef ATTNSERVE_SERVER_CLASSIFY_CALL_H_
#define ATTNSERVE_SERVER_CLASSIFY_CALL_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attnserve/v1/inference.pb.h"
#include "server/embed_call.h"

namespace attnserve {

// FailedPrecondition when the model has no heads, NotFound naming an unknown
// head, InvalidArgument when "" is ambiguous: checked before queueing.
absl::Status CheckHead(const Engine& engine, const std::string& head);

// Tokenizes, applies the over-length policy, classifies and fills `response`;
// `stats` and `energy_joules` as ExecuteEmbed.
absl::Status ExecuteClassify(const PreparedEmbed& prepared,
                             const google::protobuf::RepeatedPtrField<std::string>& texts,
                             const std::string& head, absl::Time deadline,
                             std::function<bool()> is_cancelled, v1::ClassifyResponse* response,
                             RunStats* stats, double* energy_joules);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_CLASSIFY_CALL_H_
