// The <error> document every failed request answers with.
#pragma once

#include <string>

#include "node/core/status.h"

namespace fvce::model {

struct ErrorDoc {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  int line = 0;  // 0 = not about a position in the request body
  int column = 0;
  bool operator==(const ErrorDoc&) const = default;
};

}  // namespace fvce::model
