#include "node/http/router.h"

#include <stdexcept>

namespace fvce::http {

void Router::add(Verb method, std::string path, auth::Access access, Handler handler) {
  auto [it, inserted] = routes_.emplace(std::make_pair(std::move(path), method),
                                        std::make_pair(access, std::move(handler)));
  if (!inserted) throw std::logic_error("route registered twice: " + it->first.first);
}

void Router::add_stream(Verb method, std::string path, auth::Access access, StreamHandler handler) {
  auto [it, inserted] = streams_.emplace(std::make_pair(std::move(path), method),
                                         std::make_pair(access, std::move(handler)));
  if (!inserted) throw std::logic_error("route registered twice: " + it->first.first);
}

void Router::add_prefix(Verb method, std::string prefix, auth::Access access, Handler handler) {
  auto [it, inserted] = prefixes_.emplace(std::make_pair(std::move(prefix), method),
                                          std::make_pair(access, std::move(handler)));
  if (!inserted) throw std::logic_error("route registered twice: " + it->first.first);
}

Router::Match Router::find(Verb method, std::string_view path) const {
  Match m;
  auto st = streams_.find(std::make_pair(std::string(path), method));
  if (st != streams_.end()) {
    m.stream = &st->second.second;
    m.access = st->second.first;
    m.path_known = true;
    m.route = st->first.first;
    return m;
  }
  auto it = routes_.find(std::make_pair(std::string(path), method));
  if (it != routes_.end()) {
    m.handler = &it->second.second;
    m.access = it->second.first;
    m.path_known = true;
    m.route = it->first.first;
    return m;
  }
  const std::pair<const std::pair<std::string, Verb>, std::pair<auth::Access, Handler>>* best =
      nullptr;
  for (const auto& entry : prefixes_)
    if (entry.first.second == method && path.starts_with(entry.first.first) &&
        (!best || entry.first.first.size() > best->first.first.size()))
      best = &entry;
  if (best) {
    m.handler = &best->second.second;
    m.access = best->second.first;
    m.path_known = true;
    m.route = best->first.first + "*";
    return m;
  }
  for (const auto& [key, h] : routes_) {
    if (key.first == path) {
      m.path_known = true;
      m.route = key.first;
      break;
    }
  }
  for (const auto& [key, h] : streams_) {
    if (key.first == path) {
      m.path_known = true;
      m.route = key.first;
      break;
    }
  }
  return m;
}

}  // namespace fvce::http
