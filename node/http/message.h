// HTTP message types shared by the server, the client and the Resource layer, and the
// helpers every Resource uses to answer: XML documents, <error> documents, and bodies
// validated against the schema before they are decoded.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/params_view.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "node/auth/caller.h"
#include "node/core/status.h"
#include "node/http/stream.h"
#include "node/model/codec.h"
#include "node/xml/body_check.h"

namespace fvce::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Verb = bhttp::verb;

inline constexpr std::string_view kXmlType = "application/xml; charset=utf-8";

// A response carrying an XML document (status 200 unless given).
Response xml_response(std::string body, bhttp::status status = bhttp::status::ok);
// A response carrying plain text (e.g. /metrics).
Response text_response(std::string body, std::string_view content_type,
                       bhttp::status status = bhttp::status::ok);
// 204 No Content.
Response no_content();
// The <error> document for status, with its HTTP code.
Response error_response(const Status& status, int line = 0, int column = 0);

// Sets the headers every response carries, so that a browser shown any answer of a node
// neither sniffs its type, frames it, sends it referrers nor caches it (unless the handler
// chose a Cache-Control), and, over TLS, keeps to HTTPS (Strict-Transport-Security).
void set_security_headers(bhttp::fields& header, bool tls);

template <typename T>
Response document(const T& value, bhttp::status status = bhttp::status::ok) {
  return xml_response(model::to_xml(value), status);
}

// Checks the body against the schema (in a node; see xml/body_check.h) and decodes it as T.
// A failure is an invalid-argument Status; a schema failure's message starts with
// "LINE:COL: ".
template <typename T>
Result<T> parse_body(std::string_view body) {
  auto valid = xml::check_body(body);
  if (!valid.ok()) return valid;
  return model::from_xml<T>(body);
}

// Parses an <error> body received from a peer back into a Status.
Status status_from_error_body(int http_status, std::string_view body);

// The pieces of a request a handler reads besides the body.
struct RequestView {
  const Request& request;
  std::string_view path;
  boost::urls::params_view query;
  std::string remote;  // the peer's address as "IP:PORT"
  const auth::Caller* who = nullptr;  // who sent it, as the server authenticated it

  std::string_view body() const { return request.body(); }
  // Who sent the request (an unauthenticated caller when the server had no authenticator).
  const auth::Caller& caller() const;
  // The decoded value of query parameter key, or "" when absent.
  std::string param(std::string_view key) const;
};

using Handler = std::function<asio::awaitable<Response>(const RequestView&)>;

// A request whose body (or answer) is too large to hold in memory: the handler reads the
// body from the connection itself and writes its own answer (e.g. a file streamed with
// http::file_body). Only the header has been read when the handler is called.
struct StreamExchange {
  Stream& stream;
  beast::flat_buffer& buffer;
  // The header, read; convert it into a parser of another body type to read the body.
  bhttp::request_parser<bhttp::string_body>& parser;
  const RequestView& view;
  std::chrono::milliseconds read_timeout;
  // Set by the handler: the status it answered (for metrics), and whether the connection
  // can serve another request (false when the body was not read to its end).
  int status = 0;
  bool keep_alive = true;
};
using StreamHandler = std::function<asio::awaitable<void>(StreamExchange&)>;

}  // namespace fvce::http
