// Reading HTTP JSON bodies into the v1 request messages both transports
// share: the inputs (texts or token ids) and attnserve's own execution
// options. Errors are InvalidArgument naming the JSON field.
#ifndef ATTNSERVE_SERVER_HTTP_JSON_REQUEST_H_
#define ATTNSERVE_SERVER_HTTP_JSON_REQUEST_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attnserve/v1/inference.pb.h"
#include "nlohmann/json.hpp"

namespace attnserve {

// The body as a JSON object, nesting at most `max_depth` deep. Malformed
// JSON, invalid UTF-8 inside strings and non-objects name the byte offset.
absl::StatusOr<nlohmann::json> ParseJsonBody(absl::string_view body, int max_depth);

// `field` (required): a string or an array of strings become `texts`; with
// `allow_ids`, an array of integers (one input) or an array of such arrays
// become `token_inputs`.
absl::Status ReadInputs(const nlohmann::json& body, const char* field, bool allow_ids,
                        google::protobuf::RepeatedPtrField<std::string>* texts,
                        google::protobuf::RepeatedPtrField<v1::TokenIds>* token_inputs);

// attnserve's per-request options at the top level of the body, with the
// gRPC ExecutionOptions names and shapes (read through protobuf's JSON
// mapping, so the two transports share one schema): "attention" (a kernel
// name, or {"kernel", "params"}), "attention_params" (with a kernel name),
// "pruning", "early_exit", "budget", "linear_precision", "max_tokens",
// "num_threads". Absent keys stay unset (the policy decides).
absl::Status ReadExecutionOptions(const nlohmann::json& body, v1::ExecutionOptions* out);

// Optional typed fields; a present value of the wrong type names the field.
absl::StatusOr<std::optional<bool>> OptionalBool(const nlohmann::json& body, const char* field);
absl::StatusOr<std::optional<std::string>> OptionalString(const nlohmann::json& body,
                                                          const char* field);
absl::StatusOr<std::optional<int64_t>> OptionalInt(const nlohmann::json& body, const char* field);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_HTTP_JSON_REQUEST_H_
