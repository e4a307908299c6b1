// A temporary directory for one SQLite store file, removed (with the -wal and -shm
// files) when the object goes.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace appkeys_test {

/// Owns a fresh directory under the system's temporary directory.
///
/// Thread safety: immutable after construction.
class TempStoreDir {
 public:
  TempStoreDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "appkeys-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
  }
  TempStoreDir(const TempStoreDir&) = delete;
  TempStoreDir& operator=(const TempStoreDir&) = delete;
  ~TempStoreDir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  /// The database file's path (not created here).
  std::string db_path() const { return (dir_ / "appkeys.db").string(); }

  /// The bytes of every file in the directory (the db, -wal, -shm).
  std::vector<std::pair<std::string, std::string>> file_contents() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      std::ifstream in(entry.path(), std::ios::binary);
      out.emplace_back(entry.path().filename().string(),
                       std::string(std::istreambuf_iterator<char>(in), {}));
    }
    return out;
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace appkeys_test
