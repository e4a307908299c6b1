// appkeys server — PostgresStore's keys: the Store's key operations, create_key's
// limit and uniqueness checks under a row lock on the user.
#include <appkeys/server/postgres_store.hpp>

#include "postgres_store_rows.hpp"

#include <string>
#include <utility>

namespace appkeys::server {

namespace {

using pg::Connection;
using pg_rows::read_key;
using pg_rows::to_int;

}  // namespace

CreateKeyOutcome PostgresStore::create_key(std::string_view user_id, const KeyRecord& key,
                                           std::size_t max_keys) {
  return pool_.transaction([&](Connection& c) {
    // The user's row lock: every create for this user, on any server, waits here for
    // the one before it to commit, and then (READ COMMITTED: each statement sees what
    // was committed before it started) counts its keys. NO KEY UPDATE does not block the
    // foreign-key checks of logins inserting sessions for the same user.
    if (c.exec("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", {user_id}).rows() == 0) {
      return CreateKeyOutcome::no_such_user;
    }
    auto counts = c.exec(
        "SELECT count(*), count(*) FILTER (WHERE name = $2) FROM api_keys WHERE user_id = $1",
        {user_id, key.name});
    if (counts.integer(0, 1) != 0) return CreateKeyOutcome::name_taken;
    if (static_cast<std::size_t>(counts.integer(0, 0)) >= max_keys) {
      return CreateKeyOutcome::limit_reached;
    }
    // The unique index on (user_id, name) is the last word, should anything bypass the
    // lock: a conflict inserts nothing and reads as name_taken.
    auto inserted = c.exec(
        "INSERT INTO api_keys (id, user_id, name, key_hash, disabled) VALUES ($1, $2, $3, $4, "
        "$5) ON CONFLICT (user_id, name) DO NOTHING",
        {key.id.to_hex(), user_id, key.name, key.key_hash, to_int(key.disabled)});
    return inserted.affected() == 1 ? CreateKeyOutcome::created : CreateKeyOutcome::name_taken;
  });
}

std::vector<KeyRecord> PostgresStore::list_keys(std::string_view user_id) const {
  return pool_.read([&](Connection& c) {
    auto rows = c.exec(
        "SELECT id, name, key_hash, disabled FROM api_keys WHERE user_id = $1 ORDER BY seq",
        {user_id});
    std::vector<KeyRecord> out;
    for (int i = 0; i < rows.rows(); ++i) out.push_back(read_key(rows, i, 0));
    return out;
  });
}

std::optional<KeyRecord> PostgresStore::find_key(std::string_view user_id,
                                                 const ObjectId& key_id) const {
  return pool_.read([&](Connection& c) -> std::optional<KeyRecord> {
    auto rows = c.exec(
        "SELECT id, name, key_hash, disabled FROM api_keys WHERE id = $1 AND user_id = $2",
        {key_id.to_hex(), user_id});
    if (rows.rows() == 0) return std::nullopt;
    return read_key(rows, 0, 0);
  });
}

std::optional<std::pair<std::string, KeyRecord>> PostgresStore::find_key_by_hash(
    std::string_view hash) const {
  return pool_.read([&](Connection& c) -> std::optional<std::pair<std::string, KeyRecord>> {
    auto rows = c.exec(
        "SELECT user_id, id, name, key_hash, disabled FROM api_keys WHERE key_hash = $1", {hash});
    if (rows.rows() == 0) return std::nullopt;
    return std::pair<std::string, KeyRecord>{rows.text(0, 0), read_key(rows, 0, 1)};
  });
}

bool PostgresStore::set_key_disabled(std::string_view user_id, const ObjectId& key_id,
                                     bool disabled) {
  return pool_.transaction([&](Connection& c) {
    // PostgreSQL counts matched rows, so an unchanged state still reads as found.
    return c.exec("UPDATE api_keys SET disabled = $3 WHERE id = $1 AND user_id = $2",
                  {key_id.to_hex(), user_id, to_int(disabled)})
               .affected() == 1;
  });
}

bool PostgresStore::delete_key(std::string_view user_id, const ObjectId& key_id) {
  return pool_.transaction([&](Connection& c) {
    return c.exec("DELETE FROM api_keys WHERE id = $1 AND user_id = $2",
                  {key_id.to_hex(), user_id})
               .affected() == 1;
  });
}

std::size_t PostgresStore::count_keys(std::string_view user_id) const {
  return pool_.read([&](Connection& c) {
    return static_cast<std::size_t>(
        c.exec("SELECT count(*) FROM api_keys WHERE user_id = $1", {user_id}).integer(0, 0));
  });
}

}  // namespace appkeys::server
