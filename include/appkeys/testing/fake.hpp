// appkeys — FakeBackend and FakeTransport: the whole server of PROTOCOL.md, in memory.
//
// The hosted service is gone (PROTOCOL.md §1), so this model is the reference peer: the
// client's tests run against it, and testing::LocalServer serves it over real HTTP. Its
// rules are backend::BasicBackend's, the same code `appkeys serve` runs over SQLite;
// only the store (backend::MemoryStore) and the password hash (backend::HeaderCrypto)
// are its own.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/testing/backend/basic_backend.hpp>
#include <appkeys/testing/backend/crypto.hpp>
#include <appkeys/testing/backend/memory_store.hpp>
#include <appkeys/testing/backend/options.hpp>
#include <appkeys/testing/backend/url.hpp>

#include <utility>

namespace appkeys::testing {

/// The server of PROTOCOL.md (locations, logins, registration, sessions, profiles and
/// the six user API key routes), in memory, reached through HTTP-shaped requests; see
/// backend::BasicBackend for every member.
///
/// Nothing secret is stored in clear: key values and tokens are kept only as SHA-256
/// hashes, passwords salted and hashed, so debug_dump() can prove it. Tokens are HS256
/// JWTs under a random per-backend secret. Secrets come from the OS CSPRNG. Password
/// hashing is one fast salted SHA-256, fit for test users only (backend::HeaderCrypto);
/// `appkeys serve` uses scrypt.
///
/// Thread safety: every member function may be called concurrently; each request sees
/// and leaves a consistent state (the store takes one mutex per step).
class FakeBackend : public backend::BasicBackend<backend::MemoryStore, backend::HeaderCrypto> {
 public:
  FakeBackend() : FakeBackend(FakeBackendOptions{}) {}
  /// A server with no users, behaving as `options` says.
  explicit FakeBackend(FakeBackendOptions options)
      : BasicBackend(std::move(options), backend::HeaderCrypto{}) {}
};

/// A Transport that hands each request to a FakeBackend in the same process: no
/// sockets, no threads, deterministic. The URL must still be absolute http:// or
/// https://, as for a real transport, so a client that builds a bad URL fails here too.
///
/// Thread safety: send may be called concurrently (the backend is thread-safe); the
/// backend must outlive every FakeTransport that refers to it.
class FakeTransport {
 public:
  /// Sends every request to `backend`.
  explicit FakeTransport(FakeBackend& backend) noexcept : backend_(&backend) {}

  /// The backend's answer; errc::transport only for a URL that is not absolute http(s).
  Result<HttpResponse> send(const HttpRequest& request) {
    if (!fake_detail::is_absolute_http_url(request.url)) {
      return AppError(errc::transport,
                      "FakeTransport: the request URL is not an absolute http:// or https:// URL");
    }
    return backend_->handle(request);
  }

 private:
  FakeBackend* backend_;
};

static_assert(Transport<FakeTransport>);

}  // namespace appkeys::testing
