// How long one call to another node may take, how many times it is tried, and for whom.
#pragma once

#include <chrono>
#include <string>

namespace fvce {

struct CallOptions {
  CallOptions() = default;
  CallOptions(std::chrono::milliseconds t, int a, std::string token = {})
      : timeout(t), attempts(a), user_token(std::move(token)) {}

  std::chrono::milliseconds timeout{0};  // per attempt; 0: the callee's default
  int attempts = 0;                      // total tries; 0: the callee's default
  // The token of the user the call is made for ("" = none: the node's own business). The
  // other node checks it again; a node acts for a user only with the user's own token.
  std::string user_token;
};

}  // namespace fvce
