// Must not compile: a type with only a blocking send() is not an AsyncTransport, and the
// error names the missing async_send.
#include <appkeys/appkeys.hpp>

struct OnlyBlocking {
  appkeys::Result<appkeys::HttpResponse> send(const appkeys::HttpRequest&) { return {}; }
};

template <appkeys::AsyncTransport T>
void start_without_blocking(T&) {}

int main() {
  OnlyBlocking transport;
  start_without_blocking(transport);
}
