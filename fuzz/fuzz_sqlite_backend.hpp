// The fuzzed backend of fuzz_fake_backend_request.cpp when it is built as
// fuzz_fake_backend_request_sqlite: the same rules (BasicBackend) over the SQLite store
// of `appkeys serve`, on a fresh file in a temporary directory (under /dev/shm when there
// is one, so that each commit's fsync costs little).
#pragma once

#include <appkeys/server/sqlite_store.hpp>
#include <appkeys/testing/backend/basic_backend.hpp>
#include <appkeys/testing/backend/crypto.hpp>

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

namespace appkeys_fuzz {

/// A directory made before the store opens and removed after it closes.
struct FuzzStoreDir {
  FuzzStoreDir() {
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::string pattern = (base / "appkeys-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir = pattern;
  }
  ~FuzzStoreDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::filesystem::path dir;
};

/// BasicBackend<SqliteStore, HeaderCrypto>, built like a FakeBackend.
class SqliteFuzzBackend
    : private FuzzStoreDir,
      public appkeys::testing::backend::BasicBackend<appkeys::server::SqliteStore,
                                                     appkeys::testing::backend::HeaderCrypto> {
 public:
  explicit SqliteFuzzBackend(appkeys::testing::FakeBackendOptions options)
      : BasicBackend(std::move(options), appkeys::testing::backend::HeaderCrypto{},
                     (dir / "appkeys.db").string()) {}
};

}  // namespace appkeys_fuzz
