// Request targets: the one percent-encoder of the project, and targets built from a route and
// query parameters.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace fvce::http {

// Percent-encodes text for a query parameter value: RFC 3986 unreserved characters and '/'
// stay as they are, every other byte becomes %XX.
std::string url_encode(std::string_view text);

// route?k1=v1&k2=v2, values percent-encoded; parameters with an empty value are left out.
std::string target(std::string_view route,
                   std::initializer_list<std::pair<std::string_view, std::string_view>> params);

}  // namespace fvce::http
