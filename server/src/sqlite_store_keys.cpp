// appkeys server — SqliteStore's keys: the Store's key operations, create_key's
// limit and uniqueness checks inside one write transaction.
#include <appkeys/server/sqlite_store.hpp>

#include "sqlite_store_rows.hpp"

#include <string>
#include <utility>

namespace appkeys::server {

namespace {

using sqlite::Connection;
using sqlite_rows::read_key;
using sqlite_rows::scalar;

/// create_key's checks and insert, inside a write transaction.
CreateKeyOutcome create_key_in(Connection& c, std::string_view user_id, const KeyRecord& key,
                               std::size_t max_keys) {
  {
    auto user = c.prepare("SELECT 1 FROM users WHERE id = ?1");
    user.bind(1, user_id);
    if (!user.step()) return CreateKeyOutcome::no_such_user;
  }
  {
    auto taken = c.prepare("SELECT 1 FROM api_keys WHERE user_id = ?1 AND name = ?2");
    taken.bind(1, user_id).bind(2, key.name);
    if (taken.step()) return CreateKeyOutcome::name_taken;
  }
  {
    auto count = c.prepare("SELECT count(*) FROM api_keys WHERE user_id = ?1");
    count.bind(1, user_id);
    if (static_cast<std::size_t>(scalar(std::move(count))) >= max_keys) {
      return CreateKeyOutcome::limit_reached;
    }
  }
  // The unique index on (user_id, name) is the last word, should anything bypass the
  // check above: a conflict inserts nothing and reads as name_taken.
  c.prepare(
       "INSERT INTO api_keys (id, user_id, name, key_hash, disabled) VALUES (?1, ?2, ?3, ?4, ?5) "
       "ON CONFLICT (user_id, name) DO NOTHING")
      .bind(1, key.id.to_hex())
      .bind(2, user_id)
      .bind(3, key.name)
      .bind(4, key.key_hash)
      .bind(5, std::int64_t{key.disabled ? 1 : 0})
      .run();
  return c.changes() == 1 ? CreateKeyOutcome::created : CreateKeyOutcome::name_taken;
}

}  // namespace

CreateKeyOutcome SqliteStore::create_key(std::string_view user_id, const KeyRecord& key,
                                         std::size_t max_keys) {
  CreateKeyOutcome outcome = CreateKeyOutcome::no_such_user;
  // Inside the write transaction (BEGIN IMMEDIATE holds the write lock), so the count
  // below cannot change before the insert: across threads, batched writes and
  // processes, no 21st key slips in.
  writes_.run([&](Connection& c) {
    outcome = create_key_in(c, user_id, key, max_keys);
    return outcome == CreateKeyOutcome::created;
  });
  return outcome;
}

std::vector<KeyRecord> SqliteStore::list_keys(std::string_view user_id) const {
  auto c = pool_.acquire();
  auto rows = c->prepare(
      "SELECT id, name, key_hash, disabled FROM api_keys WHERE user_id = ?1 ORDER BY seq");
  rows.bind(1, user_id);
  std::vector<KeyRecord> out;
  while (rows.step()) out.push_back(read_key(rows, 0));
  return out;
}

std::optional<KeyRecord> SqliteStore::find_key(std::string_view user_id,
                                               const ObjectId& key_id) const {
  auto c = pool_.acquire();
  auto row = c->prepare(
      "SELECT id, name, key_hash, disabled FROM api_keys WHERE id = ?1 AND user_id = ?2");
  row.bind(1, key_id.to_hex()).bind(2, user_id);
  if (!row.step()) return std::nullopt;
  return read_key(row, 0);
}

std::optional<std::pair<std::string, KeyRecord>> SqliteStore::find_key_by_hash(
    std::string_view hash) const {
  auto c = pool_.acquire();
  auto row = c->prepare(
      "SELECT user_id, id, name, key_hash, disabled FROM api_keys WHERE key_hash = ?1");
  row.bind(1, hash);
  if (!row.step()) return std::nullopt;
  return std::pair<std::string, KeyRecord>{row.text(0), read_key(row, 1)};
}

bool SqliteStore::set_key_disabled(std::string_view user_id, const ObjectId& key_id,
                                   bool disabled) {
  bool found = false;
  writes_.run([&](Connection& c) {
    // Found even when the state is already the asked one (changes() would say 1 anyway:
    // SQLite counts matched rows).
    c.prepare("UPDATE api_keys SET disabled = ?3 WHERE id = ?1 AND user_id = ?2")
        .bind(1, key_id.to_hex())
        .bind(2, user_id)
        .bind(3, std::int64_t{disabled ? 1 : 0})
        .run();
    return found = c.changes() == 1;
  });
  return found;
}

bool SqliteStore::delete_key(std::string_view user_id, const ObjectId& key_id) {
  bool found = false;
  writes_.run([&](Connection& c) {
    c.prepare("DELETE FROM api_keys WHERE id = ?1 AND user_id = ?2")
        .bind(1, key_id.to_hex())
        .bind(2, user_id)
        .run();
    return found = c.changes() == 1;
  });
  return found;
}

std::size_t SqliteStore::count_keys(std::string_view user_id) const {
  auto c = pool_.acquire();
  auto count = c->prepare("SELECT count(*) FROM api_keys WHERE user_id = ?1");
  count.bind(1, user_id);
  return static_cast<std::size_t>(scalar(std::move(count)));
}

}  // namespace appkeys::server
