// The server rules over a durable store, with FakeBackend's API: fake_backend_test.cpp and
// the behaviour suite are compiled again against RulesBackend<SqliteUnderTest> and
// RulesBackend<PostgresUnderTest> (fake_backend_*_test.cpp, behaviour_*_test.cpp), so
// every rule is checked against the memory, SQLite and PostgreSQL stores by one test code.
#pragma once

#include <appkeys/appkeys.hpp>
#include <appkeys/testing/backend/basic_backend.hpp>
#include <appkeys/testing/backend/crypto.hpp>
#include <appkeys/testing/fake.hpp>

#include <utility>

namespace appkeys_test {

namespace rules_detail {
/// Constructed before the backend (a base listed first), destroyed after it.
template <class Place>
struct PlaceFirst {
  Place place;
};

/// The rules over Place's store, with HeaderCrypto: password hashing stays fast (the
/// rules, not scrypt, are under test here).
template <class Place>
using RulesOver = appkeys::testing::backend::BasicBackend<typename Place::store_type,
                                                          appkeys::testing::backend::HeaderCrypto>;
}  // namespace rules_detail

/// BasicBackend over the store of a fresh `Place` (SqliteUnderTest, PostgresUnderTest),
/// built like a FakeBackend.
///
/// Thread safety: as BasicBackend.
template <class Place>
class RulesBackend : private rules_detail::PlaceFirst<Place>,
                     public rules_detail::RulesOver<Place> {
 public:
  RulesBackend() : RulesBackend(appkeys::testing::FakeBackendOptions{}) {}
  explicit RulesBackend(appkeys::testing::FakeBackendOptions options)
      : rules_detail::RulesOver<Place>(std::move(options),
                                       appkeys::testing::backend::HeaderCrypto{},
                                       this->place.store_argument()) {}
  using rules_detail::PlaceFirst<Place>::place;
};

/// FakeTransport's behaviour over any backend (FakeTransport itself takes a FakeBackend).
///
/// Thread safety: as FakeTransport.
template <class Backend>
class BackendTransport {
 public:
  explicit BackendTransport(Backend& backend) noexcept : backend_(&backend) {}
  appkeys::Result<appkeys::HttpResponse> send(const appkeys::HttpRequest& request) {
    if (!appkeys::testing::fake_detail::is_absolute_http_url(request.url)) {
      return appkeys::AppError(
          appkeys::errc::transport,
          "FakeTransport: the request URL is not an absolute http:// or https:// URL");
    }
    return backend_->handle(request);
  }

 private:
  Backend* backend_;
};

}  // namespace appkeys_test
