// Must not compile: a type without send() is not a Transport. ctest checks that the
// compiler names the requirement that failed.
#include <appkeys/appkeys.hpp>

struct NotATransport {
  int get(const appkeys::HttpRequest&) { return 0; }
};

int main() {
  appkeys::App<NotATransport> app({.app_id = "shop-abcde"});
  (void)app;
}
