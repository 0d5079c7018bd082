#include "clients/attnbench/http_embed.h"

#include <curl/curl.h>

#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace attnserve::bench {
namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

grpc::StatusCode CodeOf(long http_status) {
  switch (http_status) {
    case 400:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case 401:
      return grpc::StatusCode::UNAUTHENTICATED;
    case 403:
      return grpc::StatusCode::PERMISSION_DENIED;
    case 404:
      return grpc::StatusCode::NOT_FOUND;
    case 413:
    case 429:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 503:
      return grpc::StatusCode::UNAVAILABLE;
    case 504:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    default:
      return grpc::StatusCode::UNKNOWN;
  }
}

std::string RequestJson(const v1::EmbedRequest& request) {
  nlohmann::json body = {{"input", request.texts()}, {"return_stats", true}};
  const v1::ExecutionOptions& o = request.options();
  if (o.has_attention()) {
    body["attention"] = o.attention().kernel();
    if (!o.attention().params().empty()) {
      body["attention_params"] = nlohmann::json::object();
      for (const auto& [key, value] : o.attention().params()) body["attention_params"][key] = value;
    }
  }
  if (o.max_tokens() != 0) body["max_tokens"] = o.max_tokens();
  if (!o.linear_precision().empty()) body["linear_precision"] = o.linear_precision();
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

HttpEmbedClient::HttpEmbedClient(std::string base_url, double timeout_seconds)
    : url_(std::move(base_url) + "/v1/embeddings"),
      timeout_seconds_(timeout_seconds),
      curl_(curl_easy_init()) {}

HttpEmbedClient::~HttpEmbedClient() {
  if (curl_ != nullptr) curl_easy_cleanup(curl_);
}

grpc::Status HttpEmbedClient::Embed(const v1::EmbedRequest& request, v1::EmbedResponse* response) {
  if (curl_ == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "curl_easy_init failed");
  body_ = RequestJson(request);
  answer_.clear();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body_.data());
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_.size()));
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &answer_);
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_seconds_ * 1e3));
  curl_easy_setopt(curl_, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  const CURLcode sent = curl_easy_perform(curl_);
  curl_slist_free_all(headers);
  if (sent != CURLE_OK) {
    return grpc::Status(sent == CURLE_OPERATION_TIMEDOUT ? grpc::StatusCode::DEADLINE_EXCEEDED
                                                         : grpc::StatusCode::UNAVAILABLE,
                        curl_easy_strerror(sent));
  }
  long status = 0;
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
  const nlohmann::json answer = nlohmann::json::parse(answer_, nullptr, false);
  if (status != 200) {
    const std::string message = answer.is_object() && answer.contains("error")
                                    ? answer["error"].value("message", answer_)
                                    : answer_;
    return grpc::Status(CodeOf(status), message);
  }
  if (!answer.is_object() || !answer.contains("data")) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "HTTP 200 without data: " + answer_);
  }
  response->set_model(answer.value("model", ""));
  for (const nlohmann::json& item : answer["data"]) {
    v1::Embedding* e = response->add_embeddings();
    for (const nlohmann::json& v : item["embedding"]) e->add_values(v.get<float>());
  }
  if (answer.contains("stats")) {
    (void)google::protobuf::util::JsonStringToMessage(answer["stats"].dump(),
                                                      response->mutable_stats());
  }
  return grpc::Status::OK;
}

}  // namespace attnserve::bench
