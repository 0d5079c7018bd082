// A request's ExecutionOptions merged over the policy's defaults, field by
// field, refusing fields the policy does not let requests override.
#ifndef ATTNSERVE_SERVER_REQUEST_OPTIONS_H_
#define ATTNSERVE_SERVER_REQUEST_OPTIONS_H_

#include "absl/status/statusor.h"
#include "attnserve/v1/admin.pb.h"
#include "engine/run_options.h"

namespace attnserve {

// Options of the policy alone for requests to `model`: its defaults, with
// the fields model_defaults[model] sets over them. INVALID_ARGUMENT naming
// the field ("policy.defaults.…", "policy.model_defaults[\"m\"].…") for a
// name that does not parse.
absl::StatusOr<RunOptions> PolicyRunOptions(const v1::Policy& policy,
                                            const std::string& model = "");

// The request's fields over PolicyRunOptions(policy, model).
// PERMISSION_DENIED naming the field when the request sets one the policy
// does not allow; values themselves are validated by the engine.
absl::StatusOr<RunOptions> MergeRunOptions(const v1::Policy& policy, const std::string& model,
                                           const v1::ExecutionOptions& request);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_REQUEST_OPTIONS_H_
