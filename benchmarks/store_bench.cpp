// store_bench: requests/s and p50/p99 latency of fetch and of create+delete against
// `appkeys serve --store URI`, for each store URI in a list and each number of servers
// on one store (one, and two sharing it), real HTTP over loopback from several client
// threads, so every configuration's figures come out of the same run and can be
// compared side by side.
//
//   store_bench [--server PATH] [--stores memory:,sqlite:{dir}/store.db[,postgresql://...]]
//               [--servers 1,2] [--dir DIR] [--threads 4] [--seconds 2]
//               [--repetitions 3] [--json FILE]
//
// `{dir}` in a store URI becomes a fresh directory under --dir (a real disk, not tmpfs:
// fsync is what a durable store pays) for each configuration, removed afterwards. Any
// other store is measured by adding its URI (benchmarks/run adds a PostgreSQL database of
// a throwaway cluster): the program knows nothing of any store. Configurations on one
// URI without `{dir}` (a PostgreSQL database) share it, with users of their own.
//
// A configuration is a store and N servers on it; its client threads are spread over its
// servers (thread t talks to server t mod N), each thread its own user (given to the
// servers with --user), logged in before the clock starts, on its own App and kept-alive
// connection:
// - fetch: GET one key of its own, over and over;
// - create+delete: POST a key then DELETE it, so the 20-key limit never binds.
// All the configurations' servers run at once and are measured in turn, in slices of
// 250 ms (configuration A, B, C, A, ...), so a burst of load from other jobs on this
// shared machine lands on every one alike; the median over repetitions is reported.
// Beside the rates: the cores the servers, the database (a cluster reached through
// `?host=DIR` with DIR/data/postmaster.pid, as scripts/pg-cluster makes) and the client
// kept busy (CPU time over wall time, from /proc), and the p50 of a bare 4 KiB overwrite
// + fdatasync in --dir, about what a durable commit waits for.
#include <appkeys/appkeys.hpp>
#include <appkeys/transport/curl.hpp>

#include "store_bench_process.hpp"
#include "store_bench_results.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef APPKEYS_SERVE_BINARY
#define APPKEYS_SERVE_BINARY "appkeys"
#endif

namespace ak = appkeys;
namespace fs = std::filesystem;
using store_bench::Clock;
using store_bench::cluster_cpu_seconds;
using store_bench::cluster_postmaster;
using store_bench::cpu_seconds_of;
using store_bench::fsync_p50_us;
using store_bench::kind_of;
using store_bench::median_of;
using store_bench::micros;
using store_bench::own_cpu_seconds;
using store_bench::percentile;
using store_bench::Sample;
using store_bench::ServerProcess;
using store_bench::to_json;
using Seconds = std::chrono::duration<double>;

namespace {

struct Settings {
  std::string server = APPKEYS_SERVE_BINARY;
  std::vector<std::string> stores{"memory:", "sqlite:{dir}/store.db"};
  std::vector<std::size_t> servers{1, 2};  // servers per store, one configuration each
  std::string dir = fs::temp_directory_path().string();
  std::size_t threads = 4;
  double seconds = 2.0;
  std::size_t repetitions = 3;
  std::string json;
};

// Users of their own per configuration: configurations sharing a database never meet.
std::string email_of(std::size_t config, std::size_t thread) {
  return "bench" + std::to_string(config) + "-" + std::to_string(thread) + "@example.com";
}
constexpr const char* password = "bench-password";

using App = ak::App<ak::CurlTransport>;

/// One client thread's session with one server: its own App (and connection), logged in.
struct Client {
  App app;
  ak::User user;
  ak::ObjectId fetched;
  std::size_t serial = 0;

  Client(const std::string& base_url, const std::string& email)
      : app({.app_id = "bench", .base_url = base_url}),
        user(app.log_in(ak::Credentials::email_password(email, password))) {
    auto keys = app.api_keys(user);
    auto all = keys.fetch_all();
    fetched = all.empty() ? keys.create("fetched").id : all.front().id;
  }
};

/// One configuration: a store, the servers on it, and a logged-in client per thread.
struct Setup {
  std::string store;  // as configured (`{dir}` unexpanded), for the report
  std::vector<std::unique_ptr<ServerProcess>> servers;
  pid_t database = -1;                           // the PostgreSQL cluster's postmaster, when known
  std::vector<std::unique_ptr<Client>> clients;  // [thread]

  double server_cpu() const {
    double total = 0;
    for (const auto& server : servers) total += cpu_seconds_of(server->pid());
    return total;
  }
  double database_cpu() const { return database > 0 ? cluster_cpu_seconds(database) : 0; }
};

// ---- the measurement: configurations interleaved in short slices ------------------

/// What one configuration's slices of one operation add up to, in one client thread.
struct Tally {
  std::vector<double> first_us;   // fetch, or create
  std::vector<double> second_us;  // delete (create+delete only)
  std::size_t failed = 0;
};

/// CPU seconds during one configuration's slices.
struct Cpu {
  double servers = 0, database = 0, client = 0;
};

/// Runs `op` ("fetch" or "create+delete") against every configuration in turn, in
/// slices of 250 ms each, round after round, until each has had settings.seconds: every
/// configuration sees the same background load, and the figures are comparable side by
/// side. Each call counts for the slice it started in.
std::vector<Sample> measure(const Settings& settings, std::vector<Setup>& setups,
                            const std::string& op) {
  const std::size_t configs = setups.size();
  const Clock::duration slice = std::chrono::milliseconds(250);
  const std::size_t rounds =
      std::max<std::size_t>(1, std::size_t(settings.seconds / Seconds(slice).count() + 0.5));
  const std::size_t slices = rounds * configs;
  // tallies[thread][config]: each thread writes its own, merged after the joins.
  std::vector<std::vector<Tally>> tallies(settings.threads, std::vector<Tally>(configs));
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(20);
  auto slice_end = [&](std::size_t k) { return start + slice * std::ptrdiff_t(k + 1); };

  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < settings.threads; ++t) {
    workers.emplace_back([&, t] {
      std::this_thread::sleep_until(start);
      for (std::size_t k = 0; k < slices; ++k) {
        const std::size_t c = k % configs;
        Client& client = *setups[c].clients[t];
        Tally& tally = tallies[t][c];
        auto keys = client.app.api_keys(client.user);
        while (Clock::now() < slice_end(k)) {
          try {
            const auto begin = Clock::now();
            if (op == "fetch") {
              keys.fetch(client.fetched);
              tally.first_us.push_back(micros(Clock::now() - begin));
            } else {
              const ak::ApiKey key = keys.create("k" + std::to_string(client.serial++));
              const auto created = Clock::now();
              keys.remove(key.id);
              tally.first_us.push_back(micros(created - begin));
              tally.second_us.push_back(micros(Clock::now() - created));
            }
          } catch (const ak::AppError&) {
            ++tally.failed;
          }
        }
      }
    });
  }
  // This thread samples CPU times at the slice boundaries: during slice k only
  // configuration k % configs is loaded (the database's idle backends cost nothing).
  std::vector<Cpu> cpu(configs);
  std::this_thread::sleep_until(start);
  Cpu before{setups[0].server_cpu(), setups[0].database_cpu(), own_cpu_seconds()};
  for (std::size_t k = 0; k < slices; ++k) {
    const std::size_t c = k % configs;
    std::this_thread::sleep_until(slice_end(k));
    const Cpu now{setups[c].server_cpu(), setups[c].database_cpu(), own_cpu_seconds()};
    cpu[c].servers += now.servers - before.servers;
    cpu[c].database += now.database - before.database;
    cpu[c].client += now.client - before.client;
    const Setup& next = setups[(k + 1) % configs];
    before = {next.server_cpu(), next.database_cpu(), now.client};
  }
  for (auto& worker : workers) worker.join();

  const double seconds = double(rounds) * Seconds(slice).count();
  std::vector<Sample> out;
  for (std::size_t c = 0; c < configs; ++c) {
    std::vector<double> first, second;
    std::size_t failed = 0;
    for (auto& per_thread : tallies) {
      Tally& tally = per_thread[c];
      first.insert(first.end(), tally.first_us.begin(), tally.first_us.end());
      second.insert(second.end(), tally.second_us.begin(), tally.second_us.end());
      failed += tally.failed;
    }
    auto sample = [&](const std::string& name, std::vector<double>& values) {
      Sample x;
      x.store = setups[c].store;
      x.servers = setups[c].servers.size();
      x.op = name;
      x.per_second = double(values.size()) / seconds;
      x.p50_us = percentile(values, 0.50);
      x.p99_us = percentile(values, 0.99);
      x.count = values.size();
      x.failed = failed;
      x.server_cores = cpu[c].servers / seconds;
      x.database_cores = setups[c].database > 0 ? cpu[c].database / seconds : -1;
      x.client_cores = cpu[c].client / seconds;
      return x;
    };
    if (op == "fetch") {
      out.push_back(sample("fetch", first));
    } else {
      out.push_back(sample("create", first));
      out.push_back(sample("delete", second));
    }
  }
  return out;
}

// ---- arguments and output ---------------------------------------------------------

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--server") {
      s.server = value();
    } else if (arg == "--stores") {
      s.stores = split(value());
    } else if (arg == "--servers") {
      s.servers.clear();
      for (const auto& n : split(value())) s.servers.push_back(std::stoul(n));
    } else if (arg == "--dir") {
      s.dir = value();
    } else if (arg == "--threads") {
      s.threads = std::stoul(value());
    } else if (arg == "--seconds") {
      s.seconds = std::stod(value());
    } else if (arg == "--repetitions") {
      s.repetitions = std::stoul(value());
    } else if (arg == "--json") {
      s.json = value();
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  const bool servers_ok = !s.servers.empty() && std::all_of(s.servers.begin(), s.servers.end(),
                                                            [](std::size_t n) { return n > 0; });
  if (s.threads == 0 || s.seconds <= 0 || s.repetitions == 0 || s.stores.empty() || !servers_ok) {
    throw std::invalid_argument(
        "--threads, --seconds, --repetitions, --stores and --servers must be positive");
  }
  return s;
}

/// Starts one configuration's servers (one after the other: the first creates a fresh
/// store's schema). `{dir}` becomes a fresh directory, added to `scratch`.
Setup start(const Settings& settings, const std::string& store, std::size_t servers,
            std::size_t config, std::vector<fs::path>& scratch) {
  Setup setup;
  setup.store = store;
  std::string uri = store;
  if (auto at = uri.find("{dir}"); at != std::string::npos) {
    std::string pattern = (fs::path(settings.dir) / "store_bench.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    scratch.emplace_back(pattern);
    uri.replace(at, 5, pattern);
  }
  setup.database = cluster_postmaster(uri);
  for (std::size_t n = 0; n < servers; ++n) {
    std::vector<std::string> args{settings.server, "serve", "--store", uri};
    for (std::size_t t = 0; t < settings.threads; ++t) {
      args.push_back("--user");
      args.push_back(email_of(config, t) + ':' + password);
    }
    setup.servers.push_back(std::make_unique<ServerProcess>(std::move(args)));
  }
  return setup;
}

/// Logs configuration `config`'s client threads in, spread over its servers.
void log_in(const Settings& settings, Setup& setup, std::size_t config) {
  for (std::size_t t = 0; t < settings.threads; ++t) {
    const ServerProcess& server = *setup.servers[t % setup.servers.size()];
    setup.clients.push_back(std::make_unique<Client>(server.base_url(), email_of(config, t)));
  }
}

}  // namespace

int main(int argc, char** argv) try {
  const Settings settings = parse(argc, argv);
  const double fsync_us = fsync_p50_us(settings.dir);
  std::printf(
      "store_bench: %zu client threads, %.1f s per run, %zu repetitions; "
      "4 KiB overwrite+fdatasync in %s: p50 %.0f µs\n\n",
      settings.threads, settings.seconds, settings.repetitions, settings.dir.c_str(), fsync_us);

  // Every configuration's servers run for the whole program, all started before any
  // client exists (fork() copies only the caller); clients log in before any clock starts.
  std::vector<fs::path> scratch;
  std::vector<Setup> setups;
  for (const auto& store : settings.stores) {
    for (std::size_t servers : settings.servers) {
      setups.push_back(start(settings, store, servers, setups.size(), scratch));
    }
  }
  for (std::size_t c = 0; c < setups.size(); ++c) log_in(settings, setups[c], c);

  std::vector<std::vector<Sample>> by_setup_op(setups.size() * 3);
  for (std::size_t rep = 0; rep < settings.repetitions; ++rep) {
    for (const char* op : {"fetch", "create+delete"}) {
      std::vector<Sample> samples = measure(settings, setups, op);
      const std::size_t per_setup = samples.size() / setups.size();
      for (std::size_t i = 0; i < samples.size(); ++i) {
        const std::size_t setup = i / per_setup;
        const std::size_t slot = setup * 3 + (op == std::string("fetch") ? 0 : 1 + i % per_setup);
        by_setup_op[slot].push_back(std::move(samples[i]));
      }
    }
  }
  setups.clear();
  for (const auto& dir : scratch) fs::remove_all(dir);

  std::printf(
      "| store | servers | operation | per second | p50 | p99 | server cores busy | "
      "database cores busy | client cores busy | calls (failed) |\n"
      "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
  std::vector<std::string> rows;
  for (const auto& samples : by_setup_op) {
    if (samples.empty()) continue;
    const Sample m = median_of(samples);
    const std::string database =
        m.database_cores < 0 ? "-" : std::to_string(m.database_cores).substr(0, 4);
    std::printf("| %s | %zu | %s | %.0f | %.0f µs | %.0f µs | %.2f | %s | %.2f | %zu (%zu) |\n",
                kind_of(m.store).c_str(), m.servers, m.op.c_str(), m.per_second, m.p50_us, m.p99_us,
                m.server_cores, database.c_str(), m.client_cores, m.count, m.failed);
    rows.push_back(to_json(m));
  }
  if (!settings.json.empty()) {
    std::ofstream out(settings.json);
    out << "{\"threads\": " << settings.threads << ", \"seconds\": " << settings.seconds
        << ", \"repetitions\": " << settings.repetitions << ", \"fsync_p50_us\": " << fsync_us
        << ", \"cores\": " << std::thread::hardware_concurrency() << ", \"runs\": [";
    for (std::size_t i = 0; i < rows.size(); ++i) out << (i ? ",\n  " : "\n  ") << rows[i];
    out << "\n]}\n";
  }
  return 0;
} catch (const std::exception& error) {
  std::fprintf(stderr, "store_bench: %s\n", error.what());
  return 1;
}
