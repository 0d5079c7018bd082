// A minimal HTTP/1.1 client over loopback for tests (the HTTP API, /metrics): one
// request per connection (Connection: close), status, headers and body.
// Tests that need a real client library use python3-requests and curl
// (tests/e2e/http_api_test.py); this one runs inside gtest binaries, so the
// HTTP server is also exercised under ASan and TSan.
#ifndef ATTNSERVE_TESTS_SUPPORT_HTTP_CLIENT_H_
#define ATTNSERVE_TESTS_SUPPORT_HTTP_CLIENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace attnserve::testing {

struct HttpAnswer {
  int status = 0;    // 0: no answer (connection refused or closed early)
  std::string head;  // status line and headers
  std::string body;
};

inline HttpAnswer HttpCall(int port, const std::string& method, const std::string& path,
                           const std::string& body = "",
                           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  HttpAnswer answer;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return answer;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return answer;
  }
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        "Connection: close\r\nContent-Type: application/json\r\n" +
                        "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t end = response.find("\r\n\r\n");
  if (end == std::string::npos || response.compare(0, 9, "HTTP/1.1 ") != 0) return answer;
  answer.status = std::atoi(response.c_str() + 9);
  answer.head = response.substr(0, end);
  answer.body = response.substr(end + 4);
  return answer;
}

// Requests the server holds (running in a worker or queued), read from its
// /metrics, so tests wait on the server's state instead of a fixed sleep.
inline int RequestsHeldByServer(int metrics_port) {
  const HttpAnswer answer = HttpCall(metrics_port, "GET", "/metrics");
  int held = 0;
  for (const std::string name : {"attnserve_in_flight_requests ", "attnserve_queue_depth "}) {
    const size_t at = answer.body.find("\n" + name);
    if (at != std::string::npos) held += std::atoi(answer.body.c_str() + at + 1 + name.size());
  }
  return held;
}

// Polls until the server holds at least `n` requests, or `done()` says the
// requests already finished, or a minute passes. True if the server held them.
inline bool WaitUntilServerHolds(int metrics_port, int n, const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done() && std::chrono::steady_clock::now() < give_up) {
    if (RequestsHeldByServer(metrics_port) >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_SUPPORT_HTTP_CLIENT_H_
