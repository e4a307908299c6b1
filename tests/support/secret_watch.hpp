// Collects the secrets a test has seen (passwords, key values, tokens) and checks that
// none of them appears in text the library produced: error messages, printed values.
// Failure messages name where the leak was, never the secret.
#pragma once

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace appkeys_test {

class SecretWatch {
 public:
  void add(std::string_view secret) {
    if (!secret.empty()) secrets_.emplace_back(secret);
  }

  bool leaks(std::string_view text) const {
    for (const auto& secret : secrets_) {
      if (text.find(secret) != std::string_view::npos) return true;
    }
    return false;
  }

  /// Fails the test if `text` contains a watched secret; `where` names the source.
  void check(std::string_view text, std::string_view where) const {
    INFO("secret leaked through " << where);
    CHECK_FALSE(leaks(text));
  }

  template <class T>
  void check_printed(const T& value, std::string_view where) const {
    std::ostringstream out;
    out << value;
    check(out.str(), where);
  }

 private:
  std::vector<std::string> secrets_;
};

}  // namespace appkeys_test
