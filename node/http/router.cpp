#include "node/http/router.h"

#include <stdexcept>

namespace fvce::http {

void Router::add(Verb method, std::string path, Handler handler) {
  auto [it, inserted] = routes_.emplace(std::make_pair(std::move(path), method), std::move(handler));
  if (!inserted) throw std::logic_error("route registered twice: " + it->first.first);
}

Router::Match Router::find(Verb method, std::string_view path) const {
  Match m;
  auto it = routes_.find(std::make_pair(std::string(path), method));
  if (it != routes_.end()) {
    m.handler = &it->second;
    m.path_known = true;
    m.route = it->first.first;
    return m;
  }
  for (const auto& [key, h] : routes_) {
    if (key.first == path) {
      m.path_known = true;
      m.route = key.first;
      break;
    }
  }
  return m;
}

}  // namespace fvce::http
