// Must not compile: send() must return exactly Result<HttpResponse>.
#include <appkeys/appkeys.hpp>

struct ReturnsRawResponse {
  appkeys::HttpResponse send(const appkeys::HttpRequest&) { return {}; }
};

int main() {
  appkeys::App<ReturnsRawResponse> app({.app_id = "shop-abcde"});
  (void)app;
}
