// A third-party Transport in a few lines: LoggingTransport<Inner>, a decorator that logs
// one line per request
//
//     METHOD url -> status (N bytes, T ms)
//
// and hands the request on to any other Transport. Requests carry passwords, tokens and
// key values (concepts.hpp, Transport requirement 6), so it prints the headers with the
// Authorization value redacted, and of each body only its size.
//
// The program then proves it: a second decorator, SecretWitness<Inner>, sits under the
// logger and collects every secret that crossed the wire (the password, the tokens, the
// key values); if any of them appears in the log, the program exits 1.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace ak = appkeys;

// --------------------------------------------------------------------------------------
// The custom transport.

/// Header names compare without regard to case.
inline bool is_authorization(std::string_view name) {
  constexpr std::string_view wanted = "authorization";
  if (name.size() != wanted.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c =
        (name[i] >= 'A' && name[i] <= 'Z') ? static_cast<char>(name[i] - 'A' + 'a') : name[i];
    if (c != wanted[i]) return false;
  }
  return true;
}

/// Logs each exchange, then returns exactly what `Inner` returned.
///
/// Thread safety: send may be called concurrently if Inner allows it; the log lines
/// are written under a mutex, so they never interleave.
template <ak::Transport Inner>
class LoggingTransport {
 public:
  LoggingTransport(Inner inner, std::ostream& out)
      : inner_(std::move(inner)), sink_(std::make_shared<Sink>(out)) {}

  ak::Result<ak::HttpResponse> send(const ak::HttpRequest& request) {
    const auto start = std::chrono::steady_clock::now();
    ak::Result<ak::HttpResponse> response = inner_.send(request);
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;

    std::ostringstream line;
    line << request.method << ' ' << request.url << " -> ";
    if (response) {
      line << response->status << " (" << response->body.size() << " bytes, ";
    } else {
      line << "transport error " << response.error().code().message() << " (";
    }
    char millis[32];
    std::snprintf(millis, sizeof millis, "%.3f", took.count());
    line << millis << " ms)\n    sent:";
    if (request.headers.empty()) line << " no headers;";
    for (const auto& [name, value] : request.headers) {
      line << ' ' << name << ": " << (is_authorization(name) ? "[redacted]" : value) << ';';
    }
    if (request.body.empty()) {
      line << " no body\n";
    } else {
      line << " body [" << request.body.size() << " bytes, redacted]\n";
    }

    std::lock_guard lock(sink_->mutex);
    sink_->out << line.str();
    return response;
  }

 private:
  struct Sink {
    explicit Sink(std::ostream& o) : out(o) {}
    std::mutex mutex;
    std::ostream& out;
  };
  Inner inner_;
  std::shared_ptr<Sink> sink_;  // shared: a Transport must stay movable, a mutex is not
};

// Any type with `Result<HttpResponse> send(const HttpRequest&)` that can be moved is a
// Transport; the compiler checks it here, and App<LoggingTransport<...>> would too.
static_assert(ak::Transport<LoggingTransport<ak::testing::FakeTransport>>);

// --------------------------------------------------------------------------------------
// The witness: not something a real program needs, only how this one checks the log.

/// Passes requests through unchanged and remembers every secret it saw: bearer tokens,
/// passwords and keys in request bodies, tokens and keys in response bodies.
template <ak::Transport Inner>
class SecretWitness {
 public:
  using Secrets = std::set<std::string>;

  SecretWitness(Inner inner, std::shared_ptr<Secrets> seen)
      : inner_(std::move(inner)), seen_(std::move(seen)) {}

  ak::Result<ak::HttpResponse> send(const ak::HttpRequest& request) {
    if (auto authorization = ak::header_value(request.headers, "Authorization")) {
      constexpr std::string_view bearer = "Bearer ";
      if (authorization->substr(0, bearer.size()) == bearer) {
        seen_->emplace(authorization->substr(bearer.size()));
      }
    }
    collect(request.body, {"password", "key"});
    ak::Result<ak::HttpResponse> response = inner_.send(request);
    if (response) collect(response->body, {"access_token", "refresh_token", "key"});
    return response;
  }

 private:
  void collect(const std::string& body, std::initializer_list<const char*> fields) {
    const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return;
    for (const char* field : fields) {
      if (auto it = json.find(field); it != json.end() && it->is_string()) {
        seen_->insert(it->get<std::string>());
      }
    }
  }

  Inner inner_;
  std::shared_ptr<Secrets> seen_;
};

static_assert(ak::Transport<SecretWitness<ak::testing::FakeTransport>>);

// --------------------------------------------------------------------------------------

int main() {
  ak::testing::FakeBackend backend;
  backend.add_email_user("ann@example.com", "correct horse battery");

  using Logged = LoggingTransport<SecretWitness<ak::testing::FakeTransport>>;
  std::ostringstream log;
  auto secrets = std::make_shared<SecretWitness<ak::testing::FakeTransport>::Secrets>();
  ak::App<Logged> app({.app_id = "shop-abcde", .base_url = "https://keys.example.com"},
                      Logged{{ak::testing::FakeTransport{backend}, secrets}, log});

  bool lifecycle_ok = true;
  bool saw_key_value = false;
  try {
    ak::User user =
        app.log_in(ak::Credentials::email_password("ann@example.com", "correct horse battery"));
    auto keys = app.api_keys(user);
    ak::ApiKey key = keys.create("reporting");
    saw_key_value = secrets->count(std::string(key.key->reveal())) == 1;
    try {
      keys.create("reporting");  // a duplicate: the 409 shows up in the log too
      lifecycle_ok = false;
    } catch (const ak::AppError& duplicate) {
      lifecycle_ok = duplicate.code() == ak::errc::api_key_already_exists;
    }
    keys.fetch_all();
    keys.disable(key.id);
    keys.enable(key.id);
    ak::User service = app.log_in(ak::Credentials::api_key(*key.key));
    keys.remove(key.id);
    app.log_out(service);
    app.log_out(user);
  } catch (const ak::AppError& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }

  const std::string text = log.str();
  std::cout << text;

  // Every kind of secret must have been seen, or the check below would prove nothing.
  std::size_t leaked = 0;
  for (const std::string& secret : *secrets) {
    if (!secret.empty() && text.find(secret) != std::string::npos) ++leaked;
  }
  const bool saw_password = secrets->count("correct horse battery") == 1;
  std::cout << "\nsecrets that crossed the wire: " << secrets->size()
            << " (password, access and refresh tokens, key value); found in the log: " << leaked
            << '\n';
  if (!lifecycle_ok || !saw_password || !saw_key_value || secrets->size() < 4) {
    std::cerr << "error: the lifecycle did not run as expected\n";
    return 1;
  }
  if (leaked != 0) {
    std::cerr << "error: the log contains " << leaked << " secret(s)\n";
    return 1;
  }
  std::cout << "the log is clean\n";
  return 0;
}
