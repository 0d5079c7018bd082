// An HTTP/1.1 listener on civetweb (the library prometheus-cpp already links
// for /metrics): parses requests, reads bodies within a byte cap, and hands
// each to a route by method and path. No JSON or inference here.
#ifndef ATTNSERVE_SERVER_HTTP_HTTP_SERVER_H_
#define ATTNSERVE_SERVER_HTTP_HTTP_SERVER_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct mg_context;
struct mg_connection;

namespace attnserve {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::string body;
  // Header value by case-insensitive name; nullopt when absent.
  std::function<std::optional<std::string>(const char* name)> header;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpServerOptions {
  std::string address;  // HOST:PORT; port 0 picks a free one
  int threads = 32;     // connections served at once (keep-alive holds one)
  int64_t max_body_bytes = 4 << 20;
  int request_timeout_ms = 30000;  // socket reads and writes (slow clients)
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Answers a request that fails before any route runs (unknown route, bad
  // method, body too large): `status` and a message naming the cause.
  using ErrorHandler =
      std::function<HttpResponse(const HttpRequest&, int status, const std::string& message)>;

  // Routes are fixed at start; `on_error` renders errors in the API's shape.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options,
      std::map<std::pair<std::string, std::string>, Handler> routes, ErrorHandler on_error);
  ~HttpServer();  // Stop()

  // Answers new requests 503, waits (at most `grace`) until the requests in
  // progress have written their answers, then closes the listener. civetweb
  // drops writes once its stop begins, so the wait comes first.
  void Stop(absl::Duration grace = absl::Seconds(30));
  int port() const { return port_; }

 private:
  HttpServer() = default;
  static int OnRequest(mg_connection* conn);
  int Serve(mg_connection* conn);   // counts the request in `active_`
  int Answer(mg_connection* conn);  // routes it and writes the answer

  HttpServerOptions options_;
  std::map<std::pair<std::string, std::string>, Handler> routes_;  // (method, path)
  ErrorHandler on_error_;
  mg_context* context_ = nullptr;
  int port_ = 0;
  // std::mutex, not absl::Mutex: Debian's Abseil is not built for TSan,
  // which would then miss this synchronisation.
  std::mutex mu_;
  std::condition_variable idle_;
  int active_ = 0;  // requests inside Serve; guarded by mu_
  bool stopping_ = false;
};

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_HTTP_HTTP_SERVER_H_
