// Early-return helpers for absl::Status / absl::StatusOr (Debian's Abseil 20220623
// has no status macros of its own).
#ifndef ATTNSERVE_ENGINE_UTIL_STATUS_MACROS_H_
#define ATTNSERVE_ENGINE_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ATTN_CONCAT_INNER(a, b) a##b
#define ATTN_CONCAT(a, b) ATTN_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status attn_status_ = (expr);        \
    if (!attn_status_.ok()) return attn_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ATTN_ASSIGN_OR_RETURN_IMPL(ATTN_CONCAT(attn_statusor_, __LINE__), lhs, expr)

#define ATTN_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) return statusor.status();         \
  lhs = std::move(statusor).value()

#endif  // ATTNSERVE_ENGINE_UTIL_STATUS_MACROS_H_
