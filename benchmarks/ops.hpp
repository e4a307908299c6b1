// The per-operation benchmarks, written once for every environment (the in-memory
// fake, loopback HTTP with each transport).
//
// Each benchmark measures both sides of its ratio in one loop: every iteration runs the
// operation once through the library ("lib") and once through the hand-written client
// ("floor"), alternating which goes first, and times each call on its own. The
// counters lib_us and floor_us are the medians of those per-call times. On a shared
// machine, load changes over seconds; calls microseconds apart see the same load, and
// the median drops calls that a preemption hit. (Google Benchmark's own time for the
// iteration also includes untimed clean-up and is not used.)
//
// An environment `Env` provides:
//   static Env& get();
//   auto& keys();                  ApiKeyAuth of the owner (SyncExec)
//   auto& list_keys(std::size_t);  ApiKeyAuth of a user holding exactly n keys
//   auto& app();                   the App the owner logged in through
//   auto& raw();                   RawClient acting as the owner's session
//   auto& raw_list(std::size_t);   RawClient acting as the n-key user's session
//   const appkeys::ObjectId& fixed_id();  a key of the owner that always exists
//   const std::string& fixed_secret();    its value, for log in with a key
#pragma once

#include "common.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace bench {

/// Per-call times of one side, in microseconds.
class Samples {
 public:
  template <class F>
  void time(F&& call) {
    const auto start = std::chrono::steady_clock::now();
    call();
    const auto end = std::chrono::steady_clock::now();
    us_.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  double median() {
    if (us_.empty()) return 0;
    auto mid = us_.begin() + static_cast<std::ptrdiff_t>(us_.size() / 2);
    std::nth_element(us_.begin(), mid, us_.end());
    return *mid;
  }

 private:
  std::vector<double> us_;
};

/// Runs `lib` and `floor` once per iteration, alternating their order; `after` runs
/// untimed after both (clean-up). Reports lib_us, floor_us and their ratio.
template <class Lib, class Floor, class After>
void paired(benchmark::State& state, Lib lib, Floor floor, After after) {
  // One untimed pair first: the first call of a run pays for growing the heap (at
  // 100,000 keys, tens of megabytes of fresh pages) and must not count against
  // whichever side happens to go first.
  lib();
  floor();
  after();
  Samples lib_samples;
  Samples floor_samples;
  bool lib_first = true;
  for (auto _ : state) {
    if (lib_first) {
      lib_samples.time(lib);
      floor_samples.time(floor);
    } else {
      floor_samples.time(floor);
      lib_samples.time(lib);
    }
    lib_first = !lib_first;
    after();
  }
  const double lib_us = lib_samples.median();
  const double floor_us = floor_samples.median();
  state.counters["lib_us"] = lib_us;
  state.counters["floor_us"] = floor_us;
  state.counters["ratio"] = floor_us > 0 ? lib_us / floor_us : 0;
}

inline void nothing() {}

/// Keys made by create are deleted (untimed) in batches of this size, and remove takes
/// keys created (untimed) in batches of this size, so the owner never holds more than
/// this many extra keys: every create checks the name against the user's keys.
inline constexpr std::size_t churn_batch = 16;

template <class Env>
struct Ops {
  static void create(benchmark::State& state) {
    auto& env = Env::get();
    auto& keys = env.keys();
    auto& raw = env.raw();
    std::vector<appkeys::ObjectId> lib_made;
    std::vector<std::string> raw_made;
    auto clean = [&] {
      for (const auto& id : lib_made) keys.remove(id);
      for (const auto& id : raw_made) raw.remove(id);
      lib_made.clear();
      raw_made.clear();
    };
    paired(
        state,
        [&] {
          appkeys::ApiKey key = keys.create(next_key_name());
          lib_made.push_back(key.id);
        },
        [&] {
          RawKey key = raw.create(next_key_name());
          raw_made.push_back(std::move(key.id));
        },
        [&] {
          if (lib_made.size() >= churn_batch) clean();
        });
    clean();
  }

  static void fetch(benchmark::State& state) {
    auto& env = Env::get();
    auto& keys = env.keys();
    auto& raw = env.raw();
    const appkeys::ObjectId id = env.fixed_id();
    const std::string id_hex = id.to_hex();
    paired(
        state,
        [&] {
          appkeys::ApiKey key = keys.fetch(id);
          benchmark::DoNotOptimize(key);
        },
        [&] {
          RawKey key = raw.fetch(id_hex);
          benchmark::DoNotOptimize(key);
        },
        nothing);
  }

  static void fetch_all(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    auto& env = Env::get();
    auto& keys = env.list_keys(n);
    auto& raw = env.raw_list(n);
    bool wrong = false;
    paired(
        state,
        [&] {
          std::vector<appkeys::ApiKey> all = keys.fetch_all();
          wrong = wrong || all.size() != n;
        },
        [&] {
          std::vector<RawKey> all = raw.fetch_all();
          wrong = wrong || all.size() != n;
        },
        nothing);
    if (wrong) state.SkipWithError("fetch_all returned the wrong number of keys");
    state.counters["keys"] = static_cast<double>(n);
  }

  static void enable(benchmark::State& state) {
    auto& env = Env::get();
    auto& keys = env.keys();
    auto& raw = env.raw();
    const appkeys::ObjectId id = env.fixed_id();
    const std::string id_hex = id.to_hex();
    paired(
        state, [&] { keys.enable(id); }, [&] { raw.enable(id_hex); }, nothing);
  }

  static void remove(benchmark::State& state) {
    auto& env = Env::get();
    auto& keys = env.keys();
    auto& raw = env.raw();
    std::vector<appkeys::ObjectId> lib_pending;
    std::vector<std::string> raw_pending;
    auto refill = [&] {
      if (!lib_pending.empty()) return;
      for (std::size_t i = 0; i < churn_batch; ++i) {
        lib_pending.push_back(keys.create(next_key_name()).id);
        raw_pending.push_back(raw.create(next_key_name()).id);
      }
    };
    refill();
    paired(
        state,
        [&] {
          keys.remove(lib_pending.back());
          lib_pending.pop_back();
        },
        [&] {
          raw.remove(raw_pending.back());
          raw_pending.pop_back();
        },
        refill);
    for (const auto& id : lib_pending) keys.remove(id);
    for (const auto& id : raw_pending) raw.remove(id);
  }

  /// Log in with a key: the login request and the profile read. Each session is logged
  /// out again, untimed, so the server's session table stays the same size.
  static void login_key(benchmark::State& state) {
    auto& env = Env::get();
    auto& app = env.app();
    auto& raw = env.raw();
    const std::string& secret = env.fixed_secret();
    appkeys::User user;
    RawSession session;
    paired(
        state, [&] { user = app.log_in(appkeys::Credentials::api_key(secret)); },
        [&] { session = raw.log_in_with_key(secret); },
        [&] {
          app.log_out(user);
          raw.log_out(session);
        });
  }

  /// Registers "<prefix>/<op>" for every operation.
  /// `setup` and `teardown` (if given) run before and after each run of each benchmark.
  static void register_all(const std::string& prefix,
                           void (*setup)(const benchmark::State&) = nullptr,
                           void (*teardown)(const benchmark::State&) = nullptr) {
    auto add = [&](const std::string& op, void (*fn)(benchmark::State&)) {
      auto* b = benchmark::RegisterBenchmark((prefix + "/" + op).c_str(), fn)
                    ->Unit(benchmark::kMicrosecond);
      if (setup != nullptr) b->Setup(setup);
      if (teardown != nullptr) b->Teardown(teardown);
      return b;
    };
    add("create", &create);
    add("fetch", &fetch);
    add("fetch_all", &fetch_all)->Arg(1)->Arg(20)->Arg(10'000);
    add("enable", &enable);
    add("remove", &remove);
    add("login_key", &login_key);
  }
};

}  // namespace bench
