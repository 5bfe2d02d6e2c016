// Maps (method, path) to a handler. Routes are exact paths or prefixes; query strings are parsed
// for the handler. Registration happens at start-up, before the server runs; lookups are read-only
// and so thread-safe afterwards.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "node/auth/caller.h"
#include "node/http/message.h"

namespace fvce::http {

class Router {
 public:
  // Registers handler for method and path, serving the callers access lets in (the server
  // refuses the others before the handler runs). Registering the same pair twice is a bug.
  void add(Verb method, std::string path, auth::Access access, Handler handler);
  // Registers a handler that reads the body and writes the answer itself (large files).
  void add_stream(Verb method, std::string path, auth::Access access, StreamHandler handler);
  // Registers handler for every path that starts with prefix (and matches no exact route);
  // the longest prefix wins.
  void add_prefix(Verb method, std::string prefix, auth::Access access, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null when nothing matched (or a stream handler did)
    const StreamHandler* stream = nullptr;
    bool path_known = false;  // the path exists under another method (405)
    std::string route;        // the route's path, for metrics
    auth::Access access = auth::Access::admin;
  };
  Match find(Verb method, std::string_view path) const;

 private:
  std::map<std::pair<std::string, Verb>, std::pair<auth::Access, Handler>> routes_;
  std::map<std::pair<std::string, Verb>, std::pair<auth::Access, StreamHandler>> streams_;
  std::map<std::pair<std::string, Verb>, std::pair<auth::Access, Handler>> prefixes_;
};

}  // namespace fvce::http
