// attnbench's HTTP side: an Embed call as POST /v1/embeddings (the OpenAI
// route of attnserve's HTTP API), on one keep-alive libcurl connection.
// The answer is parsed as a client would, into the gRPC response shape, so
// the recorder treats both transports alike.
#ifndef ATTNSERVE_CLIENTS_ATTNBENCH_HTTP_EMBED_H_
#define ATTNSERVE_CLIENTS_ATTNBENCH_HTTP_EMBED_H_

#include <string>

#include "attnserve/v1/inference.pb.h"
#include "grpcpp/support/status.h"

typedef void CURL;

namespace attnserve::bench {

class HttpEmbedClient {
 public:
  // `base_url` e.g. "http://127.0.0.1:8080"; each call has `timeout_seconds`.
  HttpEmbedClient(std::string base_url, double timeout_seconds);
  ~HttpEmbedClient();
  HttpEmbedClient(const HttpEmbedClient&) = delete;
  HttpEmbedClient& operator=(const HttpEmbedClient&) = delete;

  // The request's texts and options as JSON, with return_stats so the
  // response carries RunStats. Non-200 answers map to the gRPC code of the
  // same meaning (429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, ...).
  grpc::Status Embed(const v1::EmbedRequest& request, v1::EmbedResponse* response);

 private:
  std::string url_;
  double timeout_seconds_;
  CURL* curl_;
  std::string body_, answer_;
};

}  // namespace attnserve::bench

#endif  // ATTNSERVE_CLIENTS_ATTNBENCH_HTTP_EMBED_H_
