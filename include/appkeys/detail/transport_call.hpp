// appkeys — calling a user's transport safely: whatever it throws becomes an AppError.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>

#include <utility>

namespace appkeys::detail {

/// The AppError for a transport that threw. Its message is not kept: it might quote
/// the request, which can hold a token.
inline AppError transport_threw() {
  return AppError(errc::transport, "the transport threw an exception");
}

/// `transport.send(request)`; a transport should report failures as values (the
/// Transport concept), and one that throws anyway, with anything at all, must not
/// break NoThrowExec's promise.
template <Transport T>
Result<HttpResponse> guarded_send(T& transport, const HttpRequest& request) noexcept {
#if APPKEYS_HAS_EXCEPTIONS
  try {
    return transport.send(request);
  } catch (const AppError& error) {
    return error;
  } catch (...) {
    return transport_threw();
  }
#else
  return transport.send(request);
#endif
}

}  // namespace appkeys::detail
