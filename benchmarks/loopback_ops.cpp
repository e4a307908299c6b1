// Per-operation cost over loopback HTTP against testing::LocalServer: the library with
// HttplibTransport and with CurlTransport, each against a minimal hand-written client
// (raw cpp-httplib, raw libcurl) sending the same requests over one kept-alive
// connection. Also FutureExec's throughput with 1, 4, 16 and 64 calls in flight.
//
// The paired benchmarks run the client and every server thread on one CPU. Spread over
// two, the library and the hand-written client, each on its own connection and so
// served by its own server thread, were woken across CPUs differently: the hand-written
// client against a copy of itself (the aa_fetch rows) measured anywhere from 0.84 to
// 1.10 from one run to the next (median of five 0.93). On one CPU the same comparison
// gives 1.00 ± 0.003, and a ratio measures the difference in work per call.
#include "ops.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/httplib.hpp>

#include <benchmark/benchmark.h>
#include <curl/curl.h>
#include <httplib.h>

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace bench {
namespace {

/// Keeps the calling thread on one CPU (the last it may use) while it lives; threads it
/// starts meanwhile inherit that. A no-op where the affinity cannot be read or set.
class OneCpu {
 public:
  OneCpu() {
    if (sched_getaffinity(0, sizeof saved_, &saved_) != 0) return;
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; --cpu) {
      if (!CPU_ISSET(cpu, &saved_)) continue;
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      pinned_ = sched_setaffinity(0, sizeof one, &one) == 0;
      return;
    }
  }
  OneCpu(const OneCpu&) = delete;
  OneCpu& operator=(const OneCpu&) = delete;
  ~OneCpu() {
    if (pinned_) sched_setaffinity(0, sizeof saved_, &saved_);
  }

  /// Google Benchmark's Setup and Teardown of each paired benchmark's run.
  static void pin(const benchmark::State&) { current().emplace(); }
  static void unpin(const benchmark::State&) { current().reset(); }

 private:
  static std::optional<OneCpu>& current() {
    static std::optional<OneCpu> scope;
    return scope;
  }

  cpu_set_t saved_{};
  bool pinned_ = false;
};

/// A server for the loopback benchmarks. Never destroyed: LocalServer's destructor
/// waits for kept-alive connections to go idle, which would only slow the end of the
/// run.
struct Loopback {
  World world;
  appkeys::testing::LocalServer server{world.backend()};

  /// The paired benchmarks' server, started on their CPU so that its threads stay there.
  static Loopback& get() {
    static Loopback* loopback = [] {
      OneCpu pin;
      return new Loopback;
    }();
    return *loopback;
  }
};

/// Raw cpp-httplib: one kept-alive client, TCP_NODELAY on (as the library sets it).
class HttplibSender {
 public:
  explicit HttplibSender(int port) : client_(std::make_shared<httplib::Client>("127.0.0.1", port)) {
    client_->set_keep_alive(true);
    client_->set_tcp_nodelay(true);
  }

  RawResponse send(appkeys::HttpMethod method, const std::string& path, const std::string& body,
                   const std::string& bearer) {
    httplib::Headers headers{{"Accept", "application/json"}, {"User-Agent", user_agent}};
    if (!bearer.empty()) headers.emplace("Authorization", "Bearer " + bearer);
    httplib::Result result = [&] {
      switch (method) {
        case appkeys::HttpMethod::post:
          return client_->Post(path, headers, body, "application/json");
        case appkeys::HttpMethod::put:
          return client_->Put(path, headers, body, body.empty() ? "" : "application/json");
        case appkeys::HttpMethod::del:
          return client_->Delete(path, headers);
        case appkeys::HttpMethod::get:
          break;
      }
      return client_->Get(path, headers);
    }();
    if (!result) throw std::runtime_error("raw httplib: " + httplib::to_string(result.error()));
    return RawResponse{result->status, std::move(result->body)};
  }

 private:
  std::shared_ptr<httplib::Client> client_;
};

/// Raw libcurl: one easy handle, reused (so its connection is kept alive); the options
/// that never change are set once.
class CurlSender {
 public:
  explicit CurlSender(std::string base_url) : base_url_(std::move(base_url)) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    easy_ = std::shared_ptr<CURL>(curl_easy_init(), &curl_easy_cleanup);
    curl_easy_setopt(easy_.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_.get(), CURLOPT_WRITEFUNCTION, &CurlSender::on_body);
  }

  RawResponse send(appkeys::HttpMethod method, const std::string& path, const std::string& body,
                   const std::string& bearer) {
    CURL* easy = easy_.get();
    const std::string url = base_url_ + path;
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
    if (!bearer.empty())
      headers = curl_slist_append(headers, ("Authorization: Bearer " + bearer).c_str());
    const bool sends_body =
        method == appkeys::HttpMethod::post || method == appkeys::HttpMethod::put;
    if (sends_body) {
      headers = curl_slist_append(
          headers, body.empty() ? "Content-Type:" : "Content-Type: application/json");
    }
    headers = curl_slist_append(headers, (std::string("User-Agent: ") + user_agent).c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    if (sends_body) {
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
    } else {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    }
    const char* custom = method == appkeys::HttpMethod::put   ? "PUT"
                         : method == appkeys::HttpMethod::del ? "DELETE"
                                                              : nullptr;
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, custom);
    RawResponse response;
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &response.body);
    const CURLcode code = curl_easy_perform(easy);
    curl_slist_free_all(headers);
    if (code != CURLE_OK)
      throw std::runtime_error(std::string("raw curl: ") + curl_easy_strerror(code));
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
  }

  std::string base_url_;
  std::shared_ptr<CURL> easy_;
};

struct HttplibEnv : Env<appkeys::HttplibTransport, HttplibSender> {
  using Env::Env;
  /// A raw client with a connection of its own to the paired benchmarks' server.
  static HttplibSender connect() { return HttplibSender(Loopback::get().server.port()); }
  static HttplibEnv& get() {
    static HttplibEnv* env = [] {
      auto& loopback = Loopback::get();
      return new HttplibEnv(loopback.world, loopback.server.base_url(), appkeys::HttplibTransport(),
                            connect());
    }();
    return *env;
  }
};

struct CurlEnv : Env<appkeys::CurlTransport, CurlSender> {
  using Env::Env;
  /// A raw client with a connection of its own to the paired benchmarks' server.
  static CurlSender connect() { return CurlSender(Loopback::get().server.base_url()); }
  static CurlEnv& get() {
    static CurlEnv* env = [] {
      auto& loopback = Loopback::get();
      return new CurlEnv(loopback.world, loopback.server.base_url(), appkeys::CurlTransport(),
                         connect());
    }();
    return *env;
  }
};

/// FutureExec over loopback: keeps `in_flight` fetches outstanding (waits for the
/// oldest, then issues the next), with the library's defaults otherwise (FutureExec's
/// 8 threads, HttplibTransport's 8 connections). items_per_second is the throughput.
void future_in_flight(benchmark::State& state) {
  using FutureApp = appkeys::App<appkeys::HttplibTransport, appkeys::FutureExec>;
  // A server of its own: the paired benchmarks' server runs on one CPU only.
  static Loopback* loopback = new Loopback;
  static FutureApp* app = [] {
    return new FutureApp(
        appkeys::AppConfig{.app_id = app_id, .base_url = loopback->server.base_url()});
  }();
  static appkeys::User* owner =
      new appkeys::User(app->log_in(appkeys::Credentials::email_password(email, password)).get());
  auto keys = app->api_keys(*owner);
  const auto id = appkeys::ObjectId::from_hex(loopback->world.fixed_id()).value();
  const auto in_flight = static_cast<std::size_t>(state.range(0));

  std::deque<std::future<appkeys::ApiKey>> pending;
  // Process CPU time (every thread: caller, pool, transport, server): how many of the
  // machine's cores the calls keep busy, and what one call costs in CPU.
  const std::clock_t cpu_start = std::clock();
  const auto wall_start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (pending.size() == in_flight) {
      benchmark::DoNotOptimize(pending.front().get());
      pending.pop_front();
    }
    pending.push_back(keys.fetch(id));
  }
  const double cpu_s = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  state.counters["cores_busy"] = wall_s > 0 ? cpu_s / wall_s : 0;
  state.counters["cpu_us_per_call"] =
      cpu_s * 1e6 / static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
  // Drained after the timed loop; the few calls still pending (at most 64 of the
  // thousands timed) were issued inside it.
  for (auto& f : pending) f.get();
  state.SetItemsProcessed(state.iterations());
}

/// A/A calibration: the hand-written client against a second copy of itself, with the
/// same session on a connection of its own. A ratio away from 1 here is the benchmark's
/// own bias, not the library's.
template <class Env>
void raw_against_raw(benchmark::State& state) {
  auto& env = Env::get();
  auto& raw = env.raw();
  static auto* copy = [&] {
    auto* other = new auto(raw);
    other->sender() = Env::connect();
    return other;
  }();
  const std::string id_hex = env.fixed_id().to_hex();
  paired(
      state, [&] { benchmark::DoNotOptimize(copy->fetch(id_hex)); },
      [&] { benchmark::DoNotOptimize(raw.fetch(id_hex)); }, nothing);
}

}  // namespace

void register_loopback() {
  Ops<HttplibEnv>::register_all("loopback_httplib", &OneCpu::pin, &OneCpu::unpin);
  Ops<CurlEnv>::register_all("loopback_curl", &OneCpu::pin, &OneCpu::unpin);
  for (auto* aa :
       {benchmark::RegisterBenchmark("loopback_httplib/aa_fetch", &raw_against_raw<HttplibEnv>),
        benchmark::RegisterBenchmark("loopback_curl/aa_fetch", &raw_against_raw<CurlEnv>)}) {
    aa->Unit(benchmark::kMicrosecond)->Setup(&OneCpu::pin)->Teardown(&OneCpu::unpin);
  }
  auto* b = benchmark::RegisterBenchmark("future/fetch", &future_in_flight);
  for (long n : {1L, 4L, 16L, 64L}) b->Arg(n);
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace bench
