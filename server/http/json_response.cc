#include "server/http/json_response.h"

#include <bit>
#include <charconv>
#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "server/status_util.h"

namespace attnserve {
namespace {

using nlohmann::json;

// OpenAI's error "type" for an HTTP status.
const char* OpenAiType(int http_status) {
  switch (http_status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    case 503:
      return "service_unavailable";
    case 504:
      return "timeout_error";
    default:
      return http_status < 500 ? "invalid_request_error" : "server_error";
  }
}

// TEI's error_type for an HTTP status.
const char* TeiType(int http_status) {
  switch (http_status) {
    case 413:
    case 400:
    case 404:
    case 405:
      return "Validation";
    case 429:
      return "Overloaded";
    case 401:
    case 403:
      return "Unauthorized";
    case 503:
      return "Unhealthy";
    default:
      return "Backend";
  }
}

// The engine names fields as the gRPC messages do ("texts[2]: ...",
// "options.attention: ..."); the HTTP body has "input" / "inputs" and the
// options at its top level.
std::string RenameFields(std::string message, const FieldNames& names) {
  for (const char* internal : {"token_inputs", "texts"}) {
    if (absl::StartsWith(message, internal)) {
      return absl::StrCat(names.inputs, message.substr(std::string_view(internal).size()));
    }
  }
  if (absl::StartsWith(message, "options.")) return message.substr(8);
  return message;
}

// The field an error names: the text before the first ": " when it looks
// like a field path.
std::string ParamOf(const std::string& message) {
  const size_t colon = message.find(": ");
  if (colon == std::string::npos || colon == 0) return "";
  const std::string head = message.substr(0, colon);
  for (char c : head) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '[' ||
          c == ']')) {
      return "";
    }
  }
  return head;
}

HttpResponse Render(ApiStyle style, int http_status, const std::string& message,
                    const std::string& code) {
  HttpResponse r;
  r.status = http_status;
  json body;
  if (style == ApiStyle::kOpenAi) {
    const std::string param = ParamOf(message);
    body["error"] = {{"message", message},
                     {"type", OpenAiType(http_status)},
                     {"param", param.empty() ? json(nullptr) : json(param)},
                     {"code", code}};
  } else {
    body = {{"error", message}, {"error_type", TeiType(http_status)}};
  }
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

std::string LowerCodeName(int code) {
  std::string name = CodeName(code);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace

HttpResponse ErrorResponse(ApiStyle style, const FieldNames& names, const absl::Status& status) {
  const int http_status = HttpStatusOf(status);
  HttpResponse r = Render(style, http_status, RenameFields(WireMessage(status), names),
                          LowerCodeName(static_cast<int>(status.code())));
  if (std::optional<int> retry = RetryAfterOf(status)) {
    r.headers.emplace_back("Retry-After", std::to_string(*retry));
  }
  return r;
}

HttpResponse ErrorResponse(ApiStyle style, int http_status, const std::string& message) {
  const char* code = http_status == 404   ? "not_found"
                     : http_status == 405 ? "method_not_allowed"
                     : http_status == 413 ? "request_too_large"
                     : http_status == 503 ? "unavailable"
                                          : "invalid_request";
  return Render(style, http_status, message, code);
}

void AppendFloatArray(std::string* out, const float* values, size_t n) {
  out->push_back('[');
  char buf[32];
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out->push_back(',');
    if (!std::isfinite(values[i])) {
      out->append("null");  // JSON has no NaN or infinity
      continue;
    }
    const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), values[i]);
    out->append(buf, r.ptr);
  }
  out->push_back(']');
}

void AppendBase64Floats(std::string* out, const float* values, size_t n) {
  static_assert(std::endian::native == std::endian::little,
                "encoding_format base64 sends little-endian float32");
  std::string encoded;
  absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(values), n * sizeof(float)),
                     &encoded);
  out->push_back('"');
  out->append(encoded);
  out->push_back('"');
}

std::string ProtoJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace attnserve
