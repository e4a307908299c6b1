// The Store concept's combined reads, find_live_session and find_live_session_key,
// checked requirement by requirement on any store (store.hpp lists them): each condition
// that must refuse a token is made to fail alone, and the key read only ever finds the
// session user's own key. sqlite_store_test.cpp runs it on MemoryStore and SqliteStore,
// postgres_store_test.cpp on PostgresStore.
#pragma once

#include <appkeys/detail/random.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/testing/backend/records.hpp>
#include <appkeys/testing/backend/store.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace appkeys_test {

/// Runs every check on `store`, a fresh store (no users yet).
template <appkeys::testing::backend::Store S>
void check_live_session_reads(S& store) {
  using namespace appkeys::testing::backend;
  const std::int64_t now = 1'700'000'000;
  auto user = [](const std::string& email) {
    UserRecord u;
    u.id = appkeys::detail::random_object_id().to_hex();
    u.provider = "local-userpass";
    u.identity_id = appkeys::detail::random_object_id().to_hex();
    u.email = email;
    return u;
  };
  auto key = [](const std::string& name) {
    KeyRecord k;
    k.id = appkeys::detail::random_object_id();
    k.name = name;
    k.key_hash = appkeys::detail::random_object_id().to_hex();  // any unique text
    return k;
  };
  const UserRecord ann = user("ann@example.com");
  const UserRecord bo = user("bo@example.com");
  REQUIRE(store.insert_user(ann));
  REQUIRE(store.insert_user(bo));
  const KeyRecord anns_key = key("anns");
  const KeyRecord bos_key = key("bos");
  REQUIRE(store.create_key(ann.id, anns_key, 20) == CreateKeyOutcome::created);
  REQUIRE(store.create_key(bo.id, bos_key, 20) == CreateKeyOutcome::created);

  // Ann's session ends at now + 50; its refresh token would live to now + 100, its
  // access token to now + 10.
  SessionRecord session;
  session.user_id = ann.id;
  session.provider = "local-userpass";
  session.device_id = appkeys::detail::random_object_id().to_hex();
  session.refresh_expires_at = now + 50;
  const std::string refresh = "refresh-token-hash";
  const std::string access = "access-token-hash";
  const std::vector<IssuedToken> tokens{{refresh, TokenRecord{TokenKind::refresh, 0, now + 100}},
                                        {access, TokenRecord{TokenKind::access, 0, now + 10}}};
  const std::uint64_t id = store.start_session(session, tokens, 0, nullptr);

  SECTION("a live token of the kind asked finds its session") {
    auto found = store.find_live_session(refresh, TokenKind::refresh, now);
    REQUIRE(found);
    CHECK(found->id == id);
    CHECK(found->user_id == ann.id);
    CHECK(found->provider == "local-userpass");
    CHECK(found->device_id == session.device_id);
    CHECK(found->refresh_expires_at == now + 50);
    CHECK(store.find_live_session(access, TokenKind::access, now + 9));
  }
  SECTION("an unknown token, or one of the other kind, finds nothing") {
    CHECK_FALSE(store.find_live_session("unknown-hash", TokenKind::refresh, now));
    CHECK_FALSE(store.find_live_session(refresh, TokenKind::access, now));
    CHECK_FALSE(store.find_live_session(access, TokenKind::refresh, now));
    CHECK_FALSE(store.find_live_session_key(access, TokenKind::refresh, now, anns_key.id));
  }
  SECTION("an expired token finds nothing (expires_at > now, strictly)") {
    CHECK_FALSE(store.find_live_session(access, TokenKind::access, now + 10));
    CHECK(store.find_live_session(refresh, TokenKind::refresh, now + 49));
  }
  SECTION("a live token of an expired session finds nothing") {
    CHECK_FALSE(store.find_live_session(refresh, TokenKind::refresh, now + 50));
    CHECK_FALSE(store.find_live_session_key(refresh, TokenKind::refresh, now + 50, anns_key.id));
  }
  SECTION("an ended session finds nothing") {
    store.end_session(id);
    CHECK_FALSE(store.find_live_session(refresh, TokenKind::refresh, now));
    CHECK_FALSE(store.find_live_session_key(refresh, TokenKind::refresh, now, anns_key.id));
  }
  SECTION("a disabled user's session finds nothing, and again once enabled") {
    // set_user_disabled alone (the rules also end the sessions): the read checks the
    // user itself.
    REQUIRE(store.set_user_disabled(ann.id, true));
    CHECK_FALSE(store.find_live_session(refresh, TokenKind::refresh, now));
    CHECK_FALSE(store.find_live_session_key(refresh, TokenKind::refresh, now, anns_key.id));
    REQUIRE(store.set_user_disabled(ann.id, false));
    CHECK(store.find_live_session(refresh, TokenKind::refresh, now));
  }
  SECTION("a deleted user's session finds nothing") {
    REQUIRE(store.delete_user(ann.id));
    CHECK_FALSE(store.find_live_session(refresh, TokenKind::refresh, now));
    CHECK_FALSE(store.find_live_session_key(refresh, TokenKind::refresh, now, anns_key.id));
  }
  SECTION("the key read finds the session user's own key, and only that") {
    auto own = store.find_live_session_key(refresh, TokenKind::refresh, now, anns_key.id);
    REQUIRE(own);
    CHECK(own->session.id == id);
    CHECK(own->session.user_id == ann.id);
    REQUIRE(own->key);
    CHECK(own->key->id == anns_key.id);
    CHECK(own->key->name == "anns");
    CHECK(own->key->key_hash == anns_key.key_hash);
    CHECK_FALSE(own->key->disabled);

    REQUIRE(store.set_key_disabled(ann.id, anns_key.id, true));
    auto disabled = store.find_live_session_key(refresh, TokenKind::refresh, now, anns_key.id);
    REQUIRE(disabled);
    REQUIRE(disabled->key);
    CHECK(disabled->key->disabled);

    auto others = store.find_live_session_key(refresh, TokenKind::refresh, now, bos_key.id);
    REQUIRE(others);
    CHECK(others->session.id == id);
    CHECK_FALSE(others->key);

    auto unknown = store.find_live_session_key(refresh, TokenKind::refresh, now,
                                               appkeys::detail::random_object_id());
    REQUIRE(unknown);
    CHECK_FALSE(unknown->key);

    REQUIRE(store.delete_key(ann.id, anns_key.id));
    auto deleted = store.find_live_session_key(refresh, TokenKind::refresh, now, anns_key.id);
    REQUIRE(deleted);
    CHECK_FALSE(deleted->key);
  }
}

}  // namespace appkeys_test
