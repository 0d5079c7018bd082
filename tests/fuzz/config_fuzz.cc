// The server's configuration file (text-format attnserve.v1.Config) through
// LoadConfig: parse, defaults, validation. Errors are fine; a loaded config
// must validate again unchanged.
#include <string>

#include "server/server_config.h"
#include "tests/fuzz/fuzz_target.h"

ATTNSERVE_FUZZ_TARGET(config) {
  const std::string path = attnserve::fuzz::ScratchDir() + "/attnserve.textproto";
  attnserve::fuzz::WriteFileOrDie(path, attnserve::fuzz::AsStringView(data, size));
  attnserve::ConfigFlags flags;
  flags.config_file = path;
  absl::StatusOr<attnserve::v1::Config> config = attnserve::LoadConfig(flags);
  if (!config.ok()) return 0;
  attnserve::v1::Config again = *config;
  ATTNSERVE_FUZZ_CHECK(attnserve::FinalizeConfig(&again).ok());
  ATTNSERVE_FUZZ_CHECK(again.SerializeAsString() == config->SerializeAsString());
  return 0;
}
