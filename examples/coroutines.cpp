// Coroutines: the key lifecycle written with `co_await`, run three ways by changing only
// the executor. Over real HTTP (cpp-httplib) against a LocalServer on 127.0.0.1.
//
//   CoroExec{}            the blocking HTTP call runs inside co_await, on this thread
//   CoroExec{pool}        calls run on a pool; the coroutine continues on pool threads
//   CoroExec{pool, loop}  calls run on a pool; the coroutine resumes on the thread that
//                         runs `loop` (here main), so its own code never runs elsewhere
//
// The program prints which thread each step of the coroutine ran on and exits non-zero
// if any step went wrong. Nothing secret is printed.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/httplib.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace ak = appkeys;

namespace {

using CoroApp = ak::App<ak::HttplibTransport, ak::CoroExec>;

/// "main" or "other": which thread the coroutine is on right now.
std::string where(std::thread::id main_thread) {
  return std::this_thread::get_id() == main_thread ? "main" : "other";
}

/// The whole life of one key; returns how many keys are left (0 on success).
ak::Task<std::size_t> lifecycle(CoroApp& app, std::thread::id main_thread,
                                std::vector<std::string>& trace) {
  ak::User user = co_await app.log_in(ak::Credentials::email_password("ann@example.com", "pw"));
  trace.push_back("log in:" + where(main_thread));
  auto keys = app.api_keys(user);

  ak::ApiKey key = co_await keys.create("reporting");
  trace.push_back("create:" + where(main_thread));
  const ak::Secret secret = *key.key;  // shown only now: keep it

  co_await keys.disable(key.id);
  // A failure is thrown as AppError, or, with as_result(), returned as a Result.
  auto refused = co_await app.log_in(ak::Credentials::api_key(secret)).as_result();
  const bool auth_error = !refused && refused.error().code() == ak::errc::auth_error;
  trace.push_back(std::string("disabled key refused (auth_error): ") + (auth_error ? "yes" : "NO"));

  co_await keys.enable(key.id);
  ak::User service = co_await app.log_in(ak::Credentials::api_key(secret));
  trace.push_back("key logs in as " + std::string(service.provider()) +
                  " user:" + where(main_thread));

  co_await keys.remove(key.id);
  try {
    co_await keys.fetch(key.id);
    trace.push_back("deleted key still found: NO");
  } catch (const ak::AppError& error) {
    const bool not_found = error.code() == ak::errc::api_key_not_found;
    trace.push_back(std::string("deleted key not found: ") + (not_found ? "yes" : "NO"));
  }
  co_await app.log_out(service);
  std::size_t left = (co_await keys.fetch_all()).size();
  co_await app.log_out(user);
  co_return left;
}

bool report(const char* title, std::size_t left, const std::vector<std::string>& trace) {
  std::cout << title << "\n";
  for (const auto& line : trace) std::cout << "    " << line << '\n';
  std::cout << "    keys left: " << left << "\n";
  return left == 0 && trace.size() == 5 &&
         std::none_of(trace.begin(), trace.end(),
                      [](const std::string& line) { return line.find("NO") != std::string::npos; });
}

}  // namespace

int main() {
  ak::testing::FakeBackend backend;
  backend.add_email_user("ann@example.com", "pw");
  ak::testing::LocalServer server{backend};
  const ak::AppConfig config{.app_id = "shop-abcde", .base_url = server.base_url()};
  const auto main_thread = std::this_thread::get_id();
  bool ok = true;

  try {
    {
      CoroApp app(config, ak::HttplibTransport{}, ak::CoroExec{});
      std::vector<std::string> trace;
      auto left = ak::sync_wait(lifecycle(app, main_thread, trace));
      ok = report("CoroExec{} (inline, no threads):", left, trace) && ok;
    }
    ak::ThreadPool pool(4);
    {
      CoroApp app(config, ak::HttplibTransport{}, ak::CoroExec{pool});
      std::vector<std::string> trace;
      auto left = ak::sync_wait(lifecycle(app, main_thread, trace));
      ok = report("CoroExec{pool} (resumes on the pool):", left, trace) && ok;
    }
    {
      ak::RunLoop loop;
      CoroApp app(config, ak::HttplibTransport{}, ak::CoroExec{pool, loop});
      std::vector<std::string> trace;
      auto left = ak::sync_wait(lifecycle(app, main_thread, trace), loop);
      ok =
          report("CoroExec{pool, loop} (resumes on main, which runs the loop):", left, trace) && ok;
    }
  } catch (const ak::AppError& error) {
    std::cerr << "unexpected failure: " << error.what() << '\n';
    return EXIT_FAILURE;
  }
  std::cout << (ok ? "ok\n" : "FAILED\n");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
