// The server's configuration: a text-format Config file, command-line flags
// over it, defaults for what neither sets, and validation naming the field.
#ifndef ATTNSERVE_SERVER_SERVER_CONFIG_H_
#define ATTNSERVE_SERVER_SERVER_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attnserve/v1/config.pb.h"

namespace attnserve {

// Flag values; empty means "not given".
struct ConfigFlags {
  std::string config_file;
  // Model directories: their (common) parent becomes the model root; the
  // first is the default model, the others are served beside it.
  std::vector<std::string> models;
  std::string grpc_address;
  std::string metrics_address;
  std::string admin_token_file;
  std::string policy_file;
  std::string http_address;  // "none" disables the HTTP API
  std::string api_key_file;
};

absl::StatusOr<v1::Config> LoadConfig(const ConfigFlags& flags);

// Fills defaults and checks every field; errors name it ("limits.max_tokens: ...").
absl::Status FinalizeConfig(v1::Config* config);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_SERVER_CONFIG_H_
