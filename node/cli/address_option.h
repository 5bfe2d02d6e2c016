// The HOST:PORT check of command-line options, shared by fvce and fvce-node.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace fvce::cli {

// HOST:PORT, with a port from 1 to 65535 (an empty string is a usage error).
inline const CLI::Validator kAddress(
    [](std::string& value) -> std::string {
      auto colon = value.rfind(':');
      if (colon == std::string::npos || colon == 0) return "'" + value + "' is not HOST:PORT";
      auto port = value.substr(colon + 1);
      if (port.empty() || port.size() > 5 ||
          port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535)
        return "'" + value + "' has no valid port";
      return {};
    },
    "HOST:PORT");

}  // namespace fvce::cli
