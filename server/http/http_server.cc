#include "server/http/http_server.h"

#include <civetweb.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace attnserve {
namespace {

// RFC 9110 IMF-fixdate. Sent by us because civetweb 1.15 formats its own Date
// header with gmtime(), whose static buffer races between worker threads
// (seen by TSan); with a Date header present it skips that call.
std::string HttpDate() {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", absl::Now(), absl::UTCTimeZone());
}

void WriteResponse(mg_connection* conn, const HttpResponse& r) {
  mg_response_header_start(conn, r.status);
  const std::string date = HttpDate();
  mg_response_header_add(conn, "Date", date.c_str(), -1);
  mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
  const std::string length = std::to_string(r.body.size());
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  for (const auto& [name, value] : r.headers) {
    mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
  }
  mg_response_header_send(conn);
  if (!r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
}

// The body, or nullopt when it is larger than `cap` (declared or sent).
std::optional<std::string> ReadBody(mg_connection* conn, const mg_request_info* info, int64_t cap) {
  if (info->content_length > cap) return std::nullopt;
  std::string body;
  if (info->content_length > 0) body.reserve(static_cast<size_t>(info->content_length));
  char buf[16384];
  for (;;) {
    const int n = mg_read(conn, buf, sizeof(buf));
    if (n <= 0) break;
    if (static_cast<int64_t>(body.size()) + n > cap) return std::nullopt;
    body.append(buf, static_cast<size_t>(n));
  }
  return body;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, std::map<std::pair<std::string, std::string>, Handler> routes,
    ErrorHandler on_error) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->options_ = options;
  s->routes_ = std::move(routes);
  s->on_error_ = std::move(on_error);
  const std::string threads = std::to_string(options.threads);
  const std::string timeout = std::to_string(options.request_timeout_ms);
  const char* civet_options[] = {"listening_ports", options.address.c_str(), "num_threads",
                                 threads.c_str(), "request_timeout_ms", timeout.c_str(),
                                 "enable_keep_alive", "yes", "keep_alive_timeout_ms", "5000",
                                 // Small JSON answers must not wait for Nagle.
                                 "tcp_nodelay", "1", nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.begin_request = &HttpServer::OnRequest;
  // civetweb logs to stderr by default; errors reach clients as responses.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  char error[256] = "";
  mg_init_data init{&callbacks, s.get(), civet_options};
  mg_error_data error_data{};
  error_data.text = error;
  error_data.text_buffer_size = sizeof(error);
  s->context_ = mg_start2(&init, &error_data);
  if (s->context_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("http_address: cannot listen on ", options.address,
                                               error[0] != '\0' ? absl::StrCat(": ", error) : ""));
  }
  mg_server_port ports[4];
  std::memset(ports, 0, sizeof(ports));
  const int n = mg_get_server_ports(s->context_, 4, ports);
  s->port_ = n > 0 ? ports[0].port : 0;
  return s;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop(absl::Duration grace) {
  if (context_ == nullptr) return;
  {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    idle_.wait_for(lock, absl::ToChronoMilliseconds(grace), [this] { return active_ == 0; });
  }
  mg_stop(context_);
  context_ = nullptr;
}

int HttpServer::OnRequest(mg_connection* conn) {
  auto* self = static_cast<HttpServer*>(mg_get_user_data(mg_get_context(conn)));
  return self->Serve(conn);
}

int HttpServer::Serve(mg_connection* conn) {
  bool refuse = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    refuse = stopping_;
    if (!refuse) ++active_;
  }
  if (refuse) {
    mg_disable_connection_keep_alive(conn);
    WriteResponse(conn, on_error_(HttpRequest{}, 503, "the server is shutting down"));
    return 503;
  }
  const int status = Answer(conn);
  std::lock_guard<std::mutex> lock(mu_);
  if (--active_ == 0) idle_.notify_all();
  return status;
}

int HttpServer::Answer(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest request;
  request.method = info->request_method != nullptr ? info->request_method : "";
  request.path = info->local_uri != nullptr ? info->local_uri : "";
  request.header = [conn](const char* name) -> std::optional<std::string> {
    const char* value = mg_get_header(conn, name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  HttpResponse response;
  auto route = routes_.find({request.method, request.path});
  if (route == routes_.end()) {
    bool path_known = false;
    std::string allowed;
    for (const auto& [key, handler] : routes_) {
      if (key.second != request.path) continue;
      path_known = true;
      absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", key.first);
    }
    response = path_known ? on_error_(request, 405,
                                      absl::StrCat(request.method, " ", request.path,
                                                   ": method not allowed; use ", allowed))
                          : on_error_(request, 404, absl::StrCat("no route ", request.path));
    if (path_known) response.headers.emplace_back("Allow", allowed);
  } else if (std::optional<std::string> body = ReadBody(conn, info, options_.max_body_bytes);
             !body.has_value()) {
    response = on_error_(
        request, 413,
        absl::StrCat("the request body exceeds the limit of ", options_.max_body_bytes, " bytes"));
    // The rest of the body was not read: the connection cannot be reused.
    mg_disable_connection_keep_alive(conn);
  } else {
    request.body = *std::move(body);
    response = route->second(request);
  }
  WriteResponse(conn, response);
  return response.status;
}

}  // namespace attnserve
