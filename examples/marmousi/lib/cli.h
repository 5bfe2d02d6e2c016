// Command-line conventions shared by the Marmousi programs (CLI11).
//
// ParseArguments returns -1 when the program should go on, otherwise the exit code:
// 0 after --help, kExitUsage (2) after a usage error, which is printed to stderr with a
// pointer to --help. Fail() prints "<program>: error: <message>" and returns kExitFailure.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "status.h"

namespace marmousi {

inline int ParseArguments(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": usage error: " << e.what() << "\n"
              << "Run with --help for the list of options.\n";
    return kExitUsage;
  }
  return -1;
}

inline int Fail(const CLI::App& app, const Status& status) {
  std::cerr << app.get_name() << ": error: " << status.message() << "\n";
  return kExitFailure;
}

inline int Fail(const CLI::App& app, const std::string& message) {
  return Fail(app, Status::Error(message));
}

}  // namespace marmousi
