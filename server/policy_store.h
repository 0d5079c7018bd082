// The runtime policy: default execution options and what requests may
// override. Versioned, swapped atomically (readers hold a shared_ptr to the
// version they started with), persisted to a text-format file so a restart
// keeps it.
#ifndef ATTNSERVE_SERVER_POLICY_STORE_H_
#define ATTNSERVE_SERVER_POLICY_STORE_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "attnserve/v1/admin.pb.h"

namespace attnserve {

class PolicyStore {
 public:
  // Checks a policy's defaults (kernel, parameters, ranges); supplied by the
  // server, which knows the engine.
  using Validator = std::function<absl::Status(const v1::Policy&)>;

  // Loads `path` if it exists (errors name the file, line and column), else
  // starts from `initial`. An empty path keeps the policy in memory only.
  static absl::StatusOr<std::unique_ptr<PolicyStore>> Open(const std::string& path,
                                                           const v1::Policy& initial,
                                                           Validator validator);

  std::shared_ptr<const v1::Policy> Current() const;

  // Validates and installs `policy` as version current+1, persisting it first:
  // if the file cannot be written the previous policy stays and the error is
  // returned. expected_version != 0 must equal the current version (ABORTED).
  absl::StatusOr<v1::Policy> Set(v1::Policy policy, int64_t expected_version,
                                 const std::string& updated_by);

  // Fields a policy may list as overridable.
  static const std::vector<std::string>& OverridableFields();

 private:
  PolicyStore(std::string path, Validator validator)
      : path_(std::move(path)), validator_(std::move(validator)) {}
  absl::Status Persist(const v1::Policy& policy) const;

  const std::string path_;
  const Validator validator_;
  mutable std::mutex mu_;
  std::shared_ptr<const v1::Policy> current_;
};

// Structural checks shared by the store and the config loader: overridable
// names, over_length value.
absl::Status ValidatePolicyShape(const v1::Policy& policy);

// Batching fields in range (0 = unset where the policy overrides the
// config); errors name the field ("max_batch_requests: ...").
absl::Status CheckBatching(const v1::Batching& batching);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_POLICY_STORE_H_
