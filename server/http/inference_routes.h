// The HTTP/JSON API, over the same call path as the gRPC service
// (server/admitted_call.h): OpenAI's POST /v1/embeddings and GET /v1/models;
// Hugging Face TEI's POST /embed, /predict, /tokenize, GET /info, /health;
// and POST /classify (the gRPC Classify in JSON). docs/CLIENTS.md shows
// every route with curl.
#ifndef ATTNSERVE_SERVER_HTTP_INFERENCE_ROUTES_H_
#define ATTNSERVE_SERVER_HTTP_INFERENCE_ROUTES_H_

#include <map>
#include <string>
#include <utility>

#include "server/http/http_server.h"
#include "server/serving_state.h"

namespace attnserve {

struct HttpApiOptions {
  int max_json_depth = 16;
  std::string version;  // the server's version, for /info
};

std::map<std::pair<std::string, std::string>, HttpServer::Handler> InferenceRoutes(
    ServingState* state, const HttpApiOptions& options);

// Errors found before a route runs, in the shape of the API the path
// belongs to (OpenAI under /v1/, TEI elsewhere).
HttpServer::ErrorHandler ApiErrorHandler(ServingState* state);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_HTTP_INFERENCE_ROUTES_H_
