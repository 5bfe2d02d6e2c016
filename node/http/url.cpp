#include "node/http/url.h"

namespace fvce::http {

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string target(std::string_view route,
                   std::initializer_list<std::pair<std::string_view, std::string_view>> params) {
  std::string out(route);
  char sep = '?';
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    out.push_back(sep);
    sep = '&';
    out.append(key);
    out.push_back('=');
    out.append(url_encode(value));
  }
  return out;
}

}  // namespace fvce::http
