// Writing the HTTP API's JSON: errors in OpenAI's or TEI's shape with the
// field named as the HTTP body names it, float arrays at full precision, and
// wire messages through protobuf's JSON mapping (the gRPC field names).
#ifndef ATTNSERVE_SERVER_HTTP_JSON_RESPONSE_H_
#define ATTNSERVE_SERVER_HTTP_JSON_RESPONSE_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "server/http/http_server.h"

namespace attnserve {

enum class ApiStyle {
  kOpenAi,  // {"error": {"message", "type", "param", "code"}}
  kTei,     // {"error": "...", "error_type": "..."}
};

// How the body names what the engine calls "texts" ("input" for OpenAI,
// "inputs" for TEI).
struct FieldNames {
  const char* inputs = "inputs";
};

// An error response: the status code from HttpStatusOf, Retry-After for a
// full queue, the message with the field renamed for the body.
HttpResponse ErrorResponse(ApiStyle style, const FieldNames& names, const absl::Status& status);
// An error the HTTP layer itself found (404, 405, 413).
HttpResponse ErrorResponse(ApiStyle style, int http_status, const std::string& message);

// Appends `[v0,v1,...]` with each float in its shortest round-trip form.
void AppendFloatArray(std::string* out, const float* values, size_t n);

// Standard base64 of the floats' little-endian bytes (OpenAI's
// encoding_format "base64"), quoted.
void AppendBase64Floats(std::string* out, const float* values, size_t n);

// `message` as JSON with the .proto field names (e.g. RunStats).
std::string ProtoJson(const google::protobuf::Message& message);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_HTTP_JSON_RESPONSE_H_
