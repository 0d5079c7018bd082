// attnctl subcommands that talk to a running attnserve over gRPC.
#ifndef ATTNSERVE_CLIENTS_ATTNCTL_REMOTE_COMMANDS_H_
#define ATTNSERVE_CLIENTS_ATTNCTL_REMOTE_COMMANDS_H_

#include <string>
#include <vector>

#include "clients/attnctl/commands.h"
#include "clients/cpp/attnserve_client.h"

namespace attnserve {

// Connection flags shared by every remote command.
struct RemoteOptions {
  std::string server;  // HOST:PORT; empty = run the engine in-process
  std::string admin_token_file;
  std::string api_key_file;  // first key of the file, for inference calls
  std::string ca_file, cert_file, key_file;
  double timeout_seconds = 60;
};

struct PolicySetOptions {
  std::string attention;
  std::vector<std::string> attention_params;
  int max_tokens = -1;           // -1 = keep
  int num_threads = -1;          // -1 = keep
  std::string linear_precision;  // "" = keep
  std::vector<std::string> overridable;
  bool overridable_given = false;
  std::string over_length;
  int64_t expected_version = 0;
};

int RunRemoteEmbed(const RemoteOptions& remote, const EmbedCommandOptions& options);
int RunRemoteClassify(const RemoteOptions& remote, const EmbedCommandOptions& options);
int RunRemoteHealth(const RemoteOptions& remote);
int RunRemoteModels(const RemoteOptions& remote);
int RunRemoteKernels(const RemoteOptions& remote);
int RunRemotePolicyGet(const RemoteOptions& remote);
int RunRemotePolicySet(const RemoteOptions& remote, const PolicySetOptions& options);
int RunRemoteReload(const RemoteOptions& remote, const std::string& model,
                    const std::string& model_dir);

}  // namespace attnserve

#endif  // ATTNSERVE_CLIENTS_ATTNCTL_REMOTE_COMMANDS_H_
