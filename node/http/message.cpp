#include "node/http/message.h"

namespace fvce::http {

Response xml_response(std::string body, bhttp::status status) {
  return text_response(std::move(body), kXmlType, status);
}

Response text_response(std::string body, std::string_view content_type, bhttp::status status) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response no_content() {
  Response res{bhttp::status::no_content, 11};
  res.prepare_payload();
  return res;
}

Response error_response(const Status& status, int line, int column) {
  model::ErrorDoc doc{status.code(), status.message(), line, column};
  // A body validation error carries its position at the front of the message.
  if (line == 0 && status.code() == ErrorCode::invalid_argument) {
    int l = 0, c = 0;
    if (std::sscanf(status.message().c_str(), "%d:%d:", &l, &c) == 2 && l > 0 && c > 0) {
      doc.line = l;
      doc.column = c;
    }
  }
  return xml_response(model::to_xml(doc),
                      static_cast<bhttp::status>(fvce::http_status(status.code())));
}

void set_security_headers(bhttp::fields& header, bool tls) {
  header.set(bhttp::field::server, "fvce");
  header.set("X-Content-Type-Options", "nosniff");
  header.set("X-Frame-Options", "DENY");
  // The user port's pages set a policy of their own.
  if (header.find("Content-Security-Policy") == header.end())
    header.set("Content-Security-Policy",
               "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  header.set("Referrer-Policy", "no-referrer");
  header.set("Cross-Origin-Opener-Policy", "same-origin");
  header.set("Cross-Origin-Resource-Policy", "same-origin");
  if (header.find(bhttp::field::cache_control) == header.end())
    header.set(bhttp::field::cache_control, "no-store");
  if (tls) header.set(bhttp::field::strict_transport_security, "max-age=31536000");
}

Status status_from_error_body(int http_status, std::string_view body) {
  auto doc = model::from_xml<model::ErrorDoc>(body);
  if (doc.ok())
    return Status(doc->code == ErrorCode::ok ? ErrorCode::internal : doc->code, doc->message);
  ErrorCode code = ErrorCode::internal;
  switch (http_status) {
    case 400:
      code = ErrorCode::invalid_argument;
      break;
    case 401:
      code = ErrorCode::unauthenticated;
      break;
    case 403:
      code = ErrorCode::forbidden;
      break;
    case 404:
      code = ErrorCode::not_found;
      break;
    case 409:
      code = ErrorCode::conflict;
      break;
    case 413:
      code = ErrorCode::too_large;
      break;
    case 429:
      code = ErrorCode::rate_limited;
      break;
    case 503:
      code = ErrorCode::unavailable;
      break;
    case 504:
      code = ErrorCode::timeout;
      break;
    default:
      break;
  }
  std::string text(body.substr(0, 200));
  return Status(code, "HTTP " + std::to_string(http_status) + (text.empty() ? "" : ": " + text));
}

const auth::Caller& RequestView::caller() const {
  static const auth::Caller nobody;
  return who ? *who : nobody;
}

std::string RequestView::param(std::string_view key) const {
  auto it = query.find(key);
  if (it == query.end()) return {};
  return std::string((*it).value);
}

}  // namespace fvce::http
