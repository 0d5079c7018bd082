#include "server/policy_store.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/util/status_macros.h"
#include "server/request_options.h"
#include "server/text_proto.h"

namespace attnserve {

const std::vector<std::string>& PolicyStore::OverridableFields() {
  static const std::vector<std::string>* const kFields =
      new std::vector<std::string>{"attention",  "max_tokens", "num_threads",     "pruning",
                                   "early_exit", "budget",     "linear_precision"};
  return *kFields;
}

absl::Status CheckBatching(const v1::Batching& b) {
  const auto out_of_range = [](const char* field, int64_t value, int64_t hi) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", value, " is out of range [0, ", hi, "]"));
  };
  if (b.max_batch_requests() < 0 || b.max_batch_requests() > 1024) {
    return out_of_range("max_batch_requests", b.max_batch_requests(), 1024);
  }
  if (b.max_batch_tokens() < 0 || b.max_batch_tokens() > (1 << 20)) {
    return out_of_range("max_batch_tokens", b.max_batch_tokens(), 1 << 20);
  }
  if (b.max_queue_delay_us() < 0 || b.max_queue_delay_us() > 1000000) {
    return out_of_range("max_queue_delay_us", b.max_queue_delay_us(), 1000000);
  }
  return absl::OkStatus();
}

absl::Status ValidatePolicyShape(const v1::Policy& policy) {
  for (const std::string& field : policy.overridable()) {
    const auto& known = PolicyStore::OverridableFields();
    if (std::find(known.begin(), known.end(), field) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat("policy.overridable: unknown field '", field,
                                                     "'; known: ", absl::StrJoin(known, ", ")));
    }
  }
  if (!policy.over_length().empty() && policy.over_length() != "truncate" &&
      policy.over_length() != "reject") {
    return absl::InvalidArgumentError(absl::StrCat("policy.over_length: '", policy.over_length(),
                                                   "' is not 'truncate' or 'reject'"));
  }
  if (absl::Status s = CheckBatching(policy.batching()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("policy.batching.", s.message()));
  }
  for (const auto& [model, batching] : policy.model_batching()) {
    if (model.empty()) {
      return absl::InvalidArgumentError("policy.model_batching: a model name is empty");
    }
    if (absl::Status s = CheckBatching(batching); !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("policy.model_batching[\"", model, "\"].", s.message()));
    }
  }
  if (policy.defaults().max_tokens() < 0) {
    return absl::InvalidArgumentError("policy.defaults.max_tokens: must be >= 0");
  }
  // The names in the defaults (precision, pruning fallback, modes) parse
  // as requests' do; the model's validator checks the values.
  RETURN_IF_ERROR(PolicyRunOptions(policy).status());
  for (const auto& [model, options] : policy.model_defaults()) {
    if (model.empty()) {
      return absl::InvalidArgumentError("policy.model_defaults: a model name is empty");
    }
    RETURN_IF_ERROR(PolicyRunOptions(policy, model).status());
  }
  if (policy.defaults().num_threads() < 0) {
    return absl::InvalidArgumentError("policy.defaults.num_threads: must be >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Open(const std::string& path,
                                                               const v1::Policy& initial,
                                                               Validator validator) {
  std::unique_ptr<PolicyStore> store(new PolicyStore(path, std::move(validator)));
  v1::Policy policy = initial;
  std::error_code ec;
  if (!path.empty() && std::filesystem::exists(path, ec)) {
    policy.Clear();
    RETURN_IF_ERROR(ParseTextProtoFile(path, &policy));
  }
  if (absl::Status s = ValidatePolicyShape(policy); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.empty() ? "initial policy" : path, ": ", s.message()));
  }
  if (absl::Status s = store->validator_(policy); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.empty() ? "initial policy" : path, ": ", s.message()));
  }
  if (policy.version() == 0) policy.set_version(1);
  store->current_ = std::make_shared<const v1::Policy>(std::move(policy));
  return store;
}

std::shared_ptr<const v1::Policy> PolicyStore::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

absl::StatusOr<v1::Policy> PolicyStore::Set(v1::Policy policy, int64_t expected_version,
                                            const std::string& updated_by) {
  RETURN_IF_ERROR(ValidatePolicyShape(policy));
  RETURN_IF_ERROR(validator_(policy));
  // Writers serialise here; readers only copy the shared_ptr.
  std::lock_guard<std::mutex> lock(mu_);
  if (expected_version != 0 && expected_version != current_->version()) {
    return absl::AbortedError(absl::StrCat("policy version is ", current_->version(),
                                           ", not the expected ", expected_version));
  }
  policy.set_version(current_->version() + 1);
  policy.set_updated_by(updated_by);
  policy.set_update_time(absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()));
  if (!path_.empty()) {
    if (absl::Status s = WriteTextProtoFileAtomically(path_, policy); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("policy not changed: ", s.message()));
    }
  }
  current_ = std::make_shared<const v1::Policy>(policy);
  return policy;
}

}  // namespace attnserve
