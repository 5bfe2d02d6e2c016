// Adapters that turn a Logic call into an HTTP handler: validate and decode the body,
// call, encode the answer or the error. Resources are made of these.
#pragma once

#include <utility>

#include "node/http/message.h"

namespace fvce::http {

// POST with a body In; the call returns Result<Out>; answers 200 with Out.
template <typename In, typename F>
Handler with_body(F call) {
  return [call = std::move(call)](const RequestView& v) -> asio::awaitable<Response> {
    auto in = parse_body<In>(v.body());
    if (!in.ok()) co_return error_response(in.status());
    auto out = co_await call(std::move(*in), v);
    if (!out.ok()) co_return error_response(out.status());
    co_return document(*out);
  };
}

// POST with a body In; the call returns Status; answers 204.
template <typename In, typename F>
Handler with_body_no_answer(F call) {
  return [call = std::move(call)](const RequestView& v) -> asio::awaitable<Response> {
    auto in = parse_body<In>(v.body());
    if (!in.ok()) co_return error_response(in.status());
    Status s = co_await call(std::move(*in), v);
    if (!s.ok()) co_return error_response(s);
    co_return no_content();
  };
}

// A request without a body; the call returns Result<Out>.
template <typename F>
Handler without_body(F call) {
  return [call = std::move(call)](const RequestView& v) -> asio::awaitable<Response> {
    auto out = co_await call(v);
    if (!out.ok()) co_return error_response(out.status());
    co_return document(*out);
  };
}

}  // namespace fvce::http
