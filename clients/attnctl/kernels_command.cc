#include <iostream>

#include "clients/attnctl/commands.h"
#include "engine/attention/length_defaults.h"
#include "engine/attention/registry.h"
#include "nlohmann/json.hpp"

namespace attnserve {

int RunKernelsCommand(bool as_json) {
  nlohmann::json list = nlohmann::json::array();
  for (const AttentionKernel* kernel : AllAttentionKernels()) {
    const KernelInfo& info = kernel->info();
    nlohmann::json params = nlohmann::json::array();
    for (const ParamSpec& p : info.params) {
      nlohmann::json param = {{"name", p.name},
                              {"type", p.type == ParamType::kInt ? "int" : "float"},
                              {"default", p.default_value},
                              {"min", p.min_value},
                              {"max", p.max_value},
                              {"description", p.description}};
      if (const LengthDefault* rule = FindLengthDefault(info.name, p.name)) {
        nlohmann::json points = nlohmann::json::array();
        for (const auto& [tokens, value] : rule->points) points.push_back({tokens, value});
        param["default_by_length"] = points;
      }
      params.push_back(param);
    }
    list.push_back({{"name", info.name},
                    {"description", info.description},
                    {"exact", info.exact},
                    {"time", info.time_complexity},
                    {"memory", info.memory_complexity},
                    {"params", params}});
  }
  if (as_json) {
    std::cout << list.dump(2) << '\n';
    return 0;
  }
  for (const auto& k : list) {
    std::cout << k["name"].get<std::string>()
              << (k["exact"].get<bool>() ? "  (exact)" : "  (approximate)") << "\n  "
              << k["description"].get<std::string>() << "\n  time " << k["time"].get<std::string>()
              << ", memory " << k["memory"].get<std::string>() << '\n';
    for (const auto& p : k["params"]) {
      std::cout << "  --attention-param " << p["name"].get<std::string>() << "=" << p["default"]
                << "  (" << p["type"].get<std::string>() << " in [" << p["min"] << ", " << p["max"]
                << "]) " << p["description"].get<std::string>() << '\n';
      if (p.contains("default_by_length")) {
        std::cout << "      default by length (tokens: value):";
        for (const auto& point : p["default_by_length"]) {
          std::cout << " " << point[0] << ": " << point[1];
        }
        std::cout << '\n';
      }
    }
  }
  return 0;
}

}  // namespace attnserve
