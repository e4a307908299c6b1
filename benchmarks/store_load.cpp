// store_load: requests/s of one operation against one or more running `appkeys serve`
// processes, from N threads, each with its own kept-alive connection (raw cpp-httplib,
// TCP_NODELAY) and its own user. benchmarks/store_bench.py starts the servers (on SQLite,
// on PostgreSQL, one or two of them) and runs this once per configuration.
//
//   store_load --op fetch|create --threads N --seconds S URL [URL...]
//
// Thread i talks to URL[i % count]. Setup (untimed): each thread registers a user and logs
// in (scrypt on the server: slow on purpose), and for fetch creates one key. Then for S
// seconds:
// - fetch: GET /auth/api_keys/<id> (a refresh-token check and a key read: four queries);
// - create: POST /auth/api_keys, then DELETE it (the 20-key limit would end the run
//   otherwise); only the creates are counted, the deletes are reported as such.
// Prints "ready" after setup and waits for a line on stdin before the timed run; then one
// JSON object: op, threads, servers, seconds, counted requests, their rate, all requests,
// errors (any answer but the expected status).
#include <appkeys/detail/random.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* api = "/api/client/v2.0";

struct Worker {
  std::string url;
  std::string refresh;
  std::string key_id;
  std::uint64_t counted = 0;
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
};

httplib::Headers headers(const std::string& bearer) {
  httplib::Headers out{{"Accept", "application/json"}};
  if (!bearer.empty()) out.emplace("Authorization", "Bearer " + bearer);
  return out;
}

std::unique_ptr<httplib::Client> connect(const std::string& url) {
  auto client = std::make_unique<httplib::Client>(url);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_read_timeout(60, 0);
  return client;
}

void set_up(Worker& w, bool fetch) {
  auto client = connect(w.url);
  const std::string email = "load-" + appkeys::detail::random_object_id().to_hex() + "@x.test";
  const std::string password = "load-password-1";
  const nlohmann::json credentials{{"email", email}, {"password", password}};
  auto reg = client->Post(std::string(api) + "/app/x/auth/providers/local-userpass/register",
                          headers(""), credentials.dump(), "application/json");
  if (!reg || reg->status != 201) throw std::runtime_error("register failed");
  const nlohmann::json login{{"username", email}, {"password", password}};
  auto in = client->Post(std::string(api) + "/app/x/auth/providers/local-userpass/login",
                         headers(""), login.dump(), "application/json");
  if (!in || in->status != 200) throw std::runtime_error("login failed");
  w.refresh = nlohmann::json::parse(in->body).at("refresh_token");
  if (fetch) {
    auto made = client->Post(std::string(api) + "/auth/api_keys", headers(w.refresh),
                             R"({"name":"fetched"})", "application/json");
    if (!made || made->status != 201) throw std::runtime_error("create failed");
    w.key_id = nlohmann::json::parse(made->body).at("_id");
  }
}

void run(Worker& w, bool fetch, const std::atomic<bool>& stop) {
  auto client = connect(w.url);
  std::uint64_t serial = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    if (fetch) {
      auto r = client->Get(std::string(api) + "/auth/api_keys/" + w.key_id, headers(w.refresh));
      ++w.requests;
      if (r && r->status == 200) {
        ++w.counted;
      } else {
        ++w.errors;
      }
      continue;
    }
    const std::string body = R"({"name":"k)" + std::to_string(++serial) + R"("})";
    auto made = client->Post(std::string(api) + "/auth/api_keys", headers(w.refresh), body,
                             "application/json");
    ++w.requests;
    if (!made || made->status != 201) {
      ++w.errors;
      continue;
    }
    ++w.counted;
    const std::string id = nlohmann::json::parse(made->body).at("_id");
    auto gone = client->Delete(std::string(api) + "/auth/api_keys/" + id, headers(w.refresh));
    ++w.requests;
    if (!gone || gone->status != 204) ++w.errors;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string op = "fetch";
  int threads = 8;
  double seconds = 3;
  std::vector<std::string> urls;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--op" && i + 1 < argc) {
      op = argv[++i];
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      urls.push_back(arg);
    }
  }
  if ((op != "fetch" && op != "create") || threads < 1 || seconds <= 0 || urls.empty()) {
    std::cerr << "usage: store_load --op fetch|create --threads N --seconds S URL [URL...]\n";
    return 2;
  }
  const bool fetch = op == "fetch";
  try {
    std::vector<Worker> workers(static_cast<std::size_t>(threads));
    for (std::size_t i = 0; i < workers.size(); ++i) workers[i].url = urls[i % urls.size()];
    {
      std::vector<std::thread> setup;
      std::vector<std::string> errors(workers.size());
      for (std::size_t i = 0; i < workers.size(); ++i) {
        setup.emplace_back([&, i] {
          try {
            set_up(workers[i], fetch);
          } catch (const std::exception& e) {
            errors[i] = e.what();
          }
        });
      }
      for (auto& t : setup) t.join();
      for (const auto& e : errors) {
        if (!e.empty()) throw std::runtime_error("setup: " + e);
      }
    }
    // Setup done: say so, and wait for the driver's go (it reads the CPU counters of the
    // servers and the database in between, so the scrypt of setup stays out of them).
    std::cout << "ready" << std::endl;
    std::string go;
    std::getline(std::cin, go);
    std::atomic<bool> stop{false};
    std::vector<std::thread> load;
    const auto start = std::chrono::steady_clock::now();
    for (auto& w : workers) load.emplace_back([&] { run(w, fetch, stop); });
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : load) t.join();
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::uint64_t counted = 0, requests = 0, errors = 0;
    for (const auto& w : workers) {
      counted += w.counted;
      requests += w.requests;
      errors += w.errors;
    }
    const nlohmann::json out{{"op", op},
                             {"threads", threads},
                             {"servers", urls.size()},
                             {"seconds", elapsed},
                             {"counted", counted},
                             {"per_second", static_cast<double>(counted) / elapsed},
                             {"requests", requests},
                             {"errors", errors}};
    std::cout << out.dump() << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "store_load: " << e.what() << '\n';
    return 1;
  }
}
