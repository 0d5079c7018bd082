// One line per lifecycle event (start, model loaded, policy changed, drain),
// never one per request: requests are counted in metrics.
#ifndef ATTNSERVE_SERVER_LIFECYCLE_LOG_H_
#define ATTNSERVE_SERVER_LIFECYCLE_LOG_H_

#include <string>

namespace attnserve {

// "2026-11-23T02:30:00Z attnserve: <message>" on stderr.
void LogEvent(const std::string& message);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_LIFECYCLE_LOG_H_
