// The Admin gRPC service: policy, kernel catalogue, model reload. Every call
// is authenticated first (AdminAuth).
#ifndef ATTNSERVE_SERVER_ADMIN_SERVICE_H_
#define ATTNSERVE_SERVER_ADMIN_SERVICE_H_

#include "attnserve/v1/admin.grpc.pb.h"
#include "server/admin_auth.h"
#include "server/serving_state.h"

namespace attnserve {

class AdminService final : public v1::Admin::CallbackService {
 public:
  AdminService(ServingState* state, AdminAuth auth) : state_(state), auth_(std::move(auth)) {}

  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext* context,
                                      const v1::GetPolicyRequest* request,
                                      v1::Policy* response) override;
  grpc::ServerUnaryReactor* SetPolicy(grpc::CallbackServerContext* context,
                                      const v1::SetPolicyRequest* request,
                                      v1::Policy* response) override;
  grpc::ServerUnaryReactor* ListAttentionKernels(
      grpc::CallbackServerContext* context, const v1::ListAttentionKernelsRequest* request,
      v1::ListAttentionKernelsResponse* response) override;
  grpc::ServerUnaryReactor* ReloadModel(grpc::CallbackServerContext* context,
                                        const v1::ReloadModelRequest* request,
                                        v1::ModelInfo* response) override;

 private:
  ServingState* const state_;
  const AdminAuth auth_;
};

// The kernel catalogue in wire form (also used by attnctl).
void FillKernelCatalogue(v1::ListAttentionKernelsResponse* out);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_ADMIN_SERVICE_H_
