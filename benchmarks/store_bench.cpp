// store_bench: requests/s and p50/p99 latency of fetch and of create+delete against
// `appkeys serve --store URI`, one server per store in the list, real HTTP over loopback
// from several client threads, so the stores' figures come out of the same run and can
// be compared side by side.
//
//   store_bench [--server PATH] [--stores memory:,sqlite:{dir}/store.db] [--dir DIR]
//               [--threads 4] [--seconds 2] [--repetitions 3] [--json FILE]
//
// `{dir}` in a store URI becomes a fresh directory under --dir (a real disk, not tmpfs:
// fsync is what a durable store pays), removed afterwards. Other stores are added by
// adding their URI to --stores (e.g. a PostgreSQL URI): the program knows nothing of
// any store.
//
// Each client thread is its own user (given to the server with --user), logged in
// before the clock starts, on its own App and kept-alive connection:
// - fetch: GET one key of its own, over and over;
// - create+delete: POST a key then DELETE it, so the 20-key limit never binds.
// All the stores' servers run at once and are measured in turn, in slices of 250 ms
// (store A, store B, store A, ...), so a burst of load from other jobs on this shared
// machine lands on every store alike; the median over repetitions is reported. Beside
// the rates: the cores the server and the client kept busy (CPU time over wall time,
// from /proc), and the p50 of a bare 4 KiB overwrite + fdatasync in --dir, about what a
// durable commit waits for.
#include <appkeys/appkeys.hpp>
#include <appkeys/transport/curl.hpp>

#include "store_bench_process.hpp"

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
using store_bench::cpu_seconds_of;
using store_bench::fsync_p50_us;
using store_bench::micros;
using store_bench::own_cpu_seconds;
using store_bench::percentile;
using store_bench::ServerProcess;
using Seconds = std::chrono::duration<double>;

namespace {

struct Settings {
  std::string server = APPKEYS_SERVE_BINARY;
  std::vector<std::string> stores{"memory:", "sqlite:{dir}/store.db"};
  std::string dir = fs::temp_directory_path().string();
  std::size_t threads = 4;
  double seconds = 2.0;
  std::size_t repetitions = 3;
  std::string json;
};

std::string email_of(std::size_t thread) {
  return "bench" + std::to_string(thread) + "@example.com";
}
constexpr const char* password = "bench-password";

// ---- the measurement: stores interleaved in short slices ----------------------------

/// What one store's slices of one operation add up to.
struct Tally {
  std::vector<double> first_us;   // fetch, or create
  std::vector<double> second_us;  // delete (create+delete only)
  std::size_t failed = 0;
  double seconds = 0;     // wall time of this store's slices
  double server_cpu = 0;  // CPU seconds of its server during them
  double client_cpu = 0;  // CPU seconds of this process during them
};

struct Sample {
  std::string store;
  std::string op;         // "fetch", "create", "delete"
  double per_second = 0;  // fetches, or create+delete pairs, per second
  double p50_us = 0;
  double p99_us = 0;
  std::size_t count = 0;
  std::size_t failed = 0;
  double server_cores = 0;  // CPU seconds of the server / wall seconds
  double client_cores = 0;
};

using App = ak::App<ak::CurlTransport>;

/// One client thread's session with one store: its own App (and connection), logged in.
struct Client {
  App app;
  ak::User user;
  ak::ObjectId fetched;
  std::size_t serial = 0;

  Client(const std::string& base_url, std::size_t thread)
      : app({.app_id = "bench", .base_url = base_url}),
        user(app.log_in(ak::Credentials::email_password(email_of(thread), password))) {
    auto keys = app.api_keys(user);
    auto all = keys.fetch_all();
    fetched = all.empty() ? keys.create("fetched").id : all.front().id;
  }
};

/// Runs `op` ("fetch" or "create+delete") against every store in turn, in slices of
/// `slice` each, round after round, until each store has had settings.seconds: every
/// store sees the same background load, and the figures are comparable side by side.
/// Each call counts for the slice it started in.
std::vector<Sample> measure(const Settings& settings, const std::vector<ServerProcess*>& servers,
                            std::vector<std::vector<std::unique_ptr<Client>>>& clients,
                            const std::string& op) {
  const std::size_t stores = servers.size();
  const Clock::duration slice = std::chrono::milliseconds(250);
  const std::size_t rounds =
      std::max<std::size_t>(1, std::size_t(settings.seconds / Seconds(slice).count() + 0.5));
  const std::size_t slices = rounds * stores;
  // tallies[thread][store]: each thread writes its own, merged after the joins.
  std::vector<std::vector<Tally>> tallies(settings.threads, std::vector<Tally>(stores));
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(20);
  auto slice_end = [&](std::size_t k) { return start + slice * std::ptrdiff_t(k + 1); };

  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < settings.threads; ++t) {
    workers.emplace_back([&, t] {
      std::this_thread::sleep_until(start);
      for (std::size_t k = 0; k < slices; ++k) {
        const std::size_t s = k % stores;
        Client& client = *clients[s][t];
        Tally& tally = tallies[t][s];
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
  // This thread samples CPU times at the slice boundaries: during slice k only store
  // k % stores is loaded.
  std::vector<double> server_cpu(stores, 0), client_cpu(stores, 0);
  std::this_thread::sleep_until(start);
  double server_before = cpu_seconds_of(servers[0]->pid());
  double client_before = own_cpu_seconds();
  for (std::size_t k = 0; k < slices; ++k) {
    const std::size_t s = k % stores;
    std::this_thread::sleep_until(slice_end(k));
    const double server_now = cpu_seconds_of(servers[s]->pid());
    const double client_now = own_cpu_seconds();
    server_cpu[s] += server_now - server_before;
    client_cpu[s] += client_now - client_before;
    server_before = cpu_seconds_of(servers[(k + 1) % stores]->pid());
    client_before = client_now;
  }
  for (auto& worker : workers) worker.join();

  const double seconds = double(rounds) * Seconds(slice).count();
  std::vector<Sample> out;
  for (std::size_t s = 0; s < stores; ++s) {
    std::vector<double> first, second;
    std::size_t failed = 0;
    for (auto& per_thread : tallies) {
      Tally& tally = per_thread[s];
      first.insert(first.end(), tally.first_us.begin(), tally.first_us.end());
      second.insert(second.end(), tally.second_us.begin(), tally.second_us.end());
      failed += tally.failed;
    }
    auto sample = [&](const std::string& name, std::vector<double>& values) {
      Sample x{settings.stores[s],
               name,
               double(values.size()) / seconds,
               0,
               0,
               values.size(),
               failed,
               server_cpu[s] / seconds,
               client_cpu[s] / seconds};
      x.p50_us = percentile(values, 0.50);
      x.p99_us = percentile(values, 0.99);
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
    if (arg == "--server")
      s.server = value();
    else if (arg == "--stores")
      s.stores = split(value());
    else if (arg == "--dir")
      s.dir = value();
    else if (arg == "--threads")
      s.threads = std::stoul(value());
    else if (arg == "--seconds")
      s.seconds = std::stod(value());
    else if (arg == "--repetitions")
      s.repetitions = std::stoul(value());
    else if (arg == "--json")
      s.json = value();
    else
      throw std::invalid_argument("unknown argument " + arg);
  }
  if (s.threads == 0 || s.seconds <= 0 || s.repetitions == 0 || s.stores.empty()) {
    throw std::invalid_argument(
        "--threads, --seconds, --repetitions and --stores must be positive");
  }
  return s;
}

/// The median over repetitions, field by field, of one store's samples of one op.
Sample median_of(std::vector<Sample> samples) {
  auto median = [&](double Sample::*field) {
    std::vector<double> values;
    for (const auto& s : samples) values.push_back(s.*field);
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  Sample out = samples.front();
  out.per_second = median(&Sample::per_second);
  out.p50_us = median(&Sample::p50_us);
  out.p99_us = median(&Sample::p99_us);
  out.server_cores = median(&Sample::server_cores);
  out.client_cores = median(&Sample::client_cores);
  out.count = 0;
  out.failed = 0;
  for (const auto& s : samples) {
    out.count += s.count;
    out.failed += s.failed;
  }
  return out;
}

std::string to_json(const Sample& s) {
  std::ostringstream out;
  out << "{\"store\": \"" << s.store << "\", \"op\": \"" << s.op
      << "\", \"per_second\": " << s.per_second << ", \"p50_us\": " << s.p50_us
      << ", \"p99_us\": " << s.p99_us << ", \"count\": " << s.count << ", \"failed\": " << s.failed
      << ", \"server_cores\": " << s.server_cores << ", \"client_cores\": " << s.client_cores
      << "}";
  return out.str();
}

}  // namespace

int main(int argc, char** argv) try {
  const Settings settings = parse(argc, argv);
  const double fsync_us = fsync_p50_us(settings.dir);
  std::printf(
      "store_bench: %zu client threads, %.1f s per run, %zu repetitions; "
      "4 KiB overwrite+fdatasync in %s: p50 %.0f µs\n\n",
      settings.threads, settings.seconds, settings.repetitions, settings.dir.c_str(), fsync_us);

  // Every store's server runs for the whole program; `{dir}` stores get fresh files.
  std::vector<fs::path> scratch;
  std::vector<std::unique_ptr<ServerProcess>> owned;
  std::vector<ServerProcess*> servers;
  for (const auto& configured : settings.stores) {
    std::string uri = configured;
    if (auto at = uri.find("{dir}"); at != std::string::npos) {
      std::string pattern = (fs::path(settings.dir) / "store_bench.XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
      scratch.emplace_back(pattern);
      uri.replace(at, 5, pattern);
    }
    std::vector<std::string> args{settings.server, "serve", "--store", uri};
    for (std::size_t t = 0; t < settings.threads; ++t) {
      args.push_back("--user");
      args.push_back(email_of(t) + ':' + password);
    }
    owned.push_back(std::make_unique<ServerProcess>(std::move(args)));
    servers.push_back(owned.back().get());
  }
  // clients[store][thread], logged in before any clock starts.
  std::vector<std::vector<std::unique_ptr<Client>>> clients(servers.size());
  for (std::size_t s = 0; s < servers.size(); ++s) {
    for (std::size_t t = 0; t < settings.threads; ++t) {
      clients[s].push_back(std::make_unique<Client>(servers[s]->base_url(), t));
    }
  }

  std::vector<std::vector<Sample>> by_store_op(settings.stores.size() * 3);
  for (std::size_t rep = 0; rep < settings.repetitions; ++rep) {
    for (const char* op : {"fetch", "create+delete"}) {
      std::vector<Sample> samples = measure(settings, servers, clients, op);
      const std::size_t per_store = samples.size() / servers.size();
      for (std::size_t i = 0; i < samples.size(); ++i) {
        const std::size_t store = i / per_store;
        const std::size_t slot = store * 3 + (op == std::string("fetch") ? 0 : 1 + i % per_store);
        by_store_op[slot].push_back(std::move(samples[i]));
      }
    }
  }
  clients.clear();
  owned.clear();
  for (const auto& dir : scratch) fs::remove_all(dir);

  std::printf(
      "| store | operation | per second | p50 | p99 | server cores busy | "
      "client cores busy | calls (failed) |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
  std::vector<std::string> rows;
  for (const auto& samples : by_store_op) {
    if (samples.empty()) continue;
    const Sample m = median_of(samples);
    std::printf("| %s | %s | %.0f | %.0f µs | %.0f µs | %.2f | %.2f | %zu (%zu) |\n",
                m.store.c_str(), m.op.c_str(), m.per_second, m.p50_us, m.p99_us, m.server_cores,
                m.client_cores, m.count, m.failed);
    rows.push_back(to_json(m));
  }
  if (!settings.json.empty()) {
    std::ofstream out(settings.json);
    out << "{\"threads\": " << settings.threads << ", \"seconds\": " << settings.seconds
        << ", \"repetitions\": " << settings.repetitions << ", \"fsync_p50_us\": " << fsync_us
        << ", \"runs\": [";
    for (std::size_t i = 0; i < rows.size(); ++i) out << (i ? ",\n  " : "\n  ") << rows[i];
    out << "\n]}\n";
  }
  return 0;
} catch (const std::exception& error) {
  std::fprintf(stderr, "store_bench: %s\n", error.what());
  return 1;
}
