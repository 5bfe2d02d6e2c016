// Status: the error value returned by the Marmousi library.
//
// A Status is either ok or carries one message meant for a person: it names the file
// (if any) and what is wrong with it. The programs print it to stderr and exit 1.
// Nothing in the library throws; exceptions are used only by CLI11 for arguments.
#pragma once

#include <string>
#include <utility>

namespace marmousi {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return message_.empty(); }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {
    if (message_.empty()) message_ = "unknown error";
  }
  std::string message_;
};

// Exit codes shared by all programs: 1 for a failed run, 2 for a usage error.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace marmousi
