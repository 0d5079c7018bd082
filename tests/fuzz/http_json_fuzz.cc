// The HTTP API's JSON request readers (server/http/json_request.h) on
// arbitrary bodies: each either reads the request or refuses it with a 4xx
// whose body, in both error shapes, is valid JSON; texts it reads are valid
// UTF-8 and token ids non-negative.
#include <string>

#include "engine/tokenizer/utf8.h"
#include "nlohmann/json.hpp"
#include "server/http/json_request.h"
#include "server/http/json_response.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

absl::Status ReadAll(const nlohmann::json& body, attnserve::v1::EmbedRequest* request) {
  if (absl::Status s = attnserve::ReadInputs(body, "input", true, request->mutable_texts(),
                                             request->mutable_token_inputs());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = attnserve::ReadExecutionOptions(body, request->mutable_options()); !s.ok()) {
    return s;
  }
  if (auto b = attnserve::OptionalBool(body, "truncate"); !b.ok()) return b.status();
  if (auto s = attnserve::OptionalString(body, "model"); !s.ok()) return s.status();
  if (auto i = attnserve::OptionalInt(body, "dimensions"); !i.ok()) return i.status();
  return absl::OkStatus();
}

}  // namespace

ATTNSERVE_FUZZ_TARGET(http_json) {
  absl::StatusOr<nlohmann::json> body =
      attnserve::ParseJsonBody(absl::string_view(reinterpret_cast<const char*>(data), size), 16);
  attnserve::v1::EmbedRequest request;
  const absl::Status status = body.ok() ? ReadAll(*body, &request) : body.status();
  if (status.ok()) {
    ATTNSERVE_FUZZ_CHECK(request.texts_size() + request.token_inputs_size() > 0);
    for (const std::string& text : request.texts()) {
      ATTNSERVE_FUZZ_CHECK(attnserve::ValidateUtf8(text).ok());
    }
    for (const attnserve::v1::TokenIds& ids : request.token_inputs()) {
      for (int32_t id : ids.ids()) ATTNSERVE_FUZZ_CHECK(id >= 0);
    }
    return 0;
  }
  ATTNSERVE_FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  for (attnserve::ApiStyle style : {attnserve::ApiStyle::kOpenAi, attnserve::ApiStyle::kTei}) {
    const attnserve::HttpResponse r = attnserve::ErrorResponse(style, {"input"}, status);
    ATTNSERVE_FUZZ_CHECK(r.status == 400);
    ATTNSERVE_FUZZ_CHECK(nlohmann::json::accept(r.body));
  }
  return 0;
}
