#include "node/xml/body_check.h"

#include <atomic>

namespace fvce::xml {

namespace {
std::atomic<BodyCheck> installed{nullptr};
}  // namespace

void set_body_check(BodyCheck check) {
  installed.store(check, std::memory_order_release);
}

Status check_body(std::string_view text) {
  BodyCheck check = installed.load(std::memory_order_acquire);
  return check ? check(text) : Status::Ok();
}

bool has_body_check() {
  return installed.load(std::memory_order_acquire) != nullptr;
}

}  // namespace fvce::xml
