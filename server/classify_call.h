// The worker side of a classification request (Classify, HTTP /classify and
// /predict); the checks before queueing are PrepareCall's plus CheckHead.
#ifndef ATTNSERVE_SERVER_CLASSIFY_CALL_H_
#define ATTNSERVE_SERVER_CLASSIFY_CALL_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attnserve/v1/inference.pb.h"
#include "server/prepared_call.h"

namespace attnserve {

// FailedPrecondition when the model has no heads, NotFound naming an unknown
// head, InvalidArgument when "" is ambiguous: checked before queueing.
absl::Status CheckHead(const Engine& engine, const std::string& head);

// Tokenizes (or checks the given ids), applies the over-length rule,
// classifies with `head` and fills `response`; `outcome` as ExecuteEmbed.
absl::Status ExecuteClassify(const PreparedCall& prepared, const std::string& head,
                             absl::Time deadline, std::function<bool()> is_cancelled,
                             v1::ClassifyResponse* response, RunOutcome* outcome);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_CLASSIFY_CALL_H_
