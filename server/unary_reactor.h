// The reactor of every unary RPC: what grpc::CallbackServerContext's
// DefaultReactor does, plus a hand-over ThreadSanitizer can see between the
// thread that finishes the call (a handler or an admission worker, which
// wrote the response) and the gRPC thread that completes it, then destroys
// the request and response after OnDone (server/tsan_handover.h).
#ifndef ATTNSERVE_SERVER_UNARY_REACTOR_H_
#define ATTNSERVE_SERVER_UNARY_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include "server/tsan_handover.h"

namespace attnserve {

class UnaryReactor final : public grpc::ServerUnaryReactor {
 public:
  // gRPC owns it until OnDone, which deletes it.
  static UnaryReactor* Create() { return new UnaryReactor; }

  // Ends the call. Nothing may touch the call's request or response after it.
  void FinishCall(const grpc::Status& status) {
    tsan::Publish(this);
    Finish(status);
  }

  void OnDone() override {
    tsan::Adopt(this);
    delete this;
  }

 private:
  UnaryReactor() = default;
};

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_UNARY_REACTOR_H_
