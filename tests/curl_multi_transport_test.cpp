// CurlMultiTransport's own cases: the event loop (many calls in flight from one thread,
// connections bounded per host, the queue's timeouts, completions that start calls or
// throw, timers) and its shutdown (every call completed exactly once, no completion
// after the destructor, a destructor running on the loop thread itself).
// curl_transport_test.cpp runs every safety case through this transport too.
#include "support/curl_test_servers.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/transport/curl_multi.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace curl_multi_transport_test {

using appkeys::Completion;
using appkeys::CurlMultiTransport;
using appkeys::errc;
using appkeys::HttpMethod;
using appkeys::HttpRequest;
using appkeys::HttpResponse;
using appkeys::Result;
using namespace appkeys_test::curl_test;
using namespace std::chrono_literals;

namespace {

/// The bound for anything that could hang; never a measure of speed.
constexpr auto hang_bound = 60s;

/// Records the outcome of many async calls, each under an id, and counts how often
/// each id completed (exactly once is the contract). Its completions share the record
/// with it, so one still running on the loop thread never outlives what it writes to.
class Outcomes {
 public:
  Completion completion(int id) {
    return
        [state = state_, id](Result<HttpResponse> result) { state->record(id, std::move(result)); };
  }
  void record(int id, Result<HttpResponse> result) { state_->record(id, std::move(result)); }
  /// Waits until `count` completions arrived; false when the hang bound passed first.
  bool wait_for(std::size_t count) {
    std::unique_lock<std::mutex> lock(state_->mutex);
    return state_->changed.wait_for(lock, hang_bound, [&] { return state_->total >= count; });
  }
  std::size_t total() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->total;
  }
  /// How many ids completed other than exactly once, out of ids 0..count-1.
  std::size_t not_exactly_once(int count) const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    std::size_t wrong = 0;
    for (int id = 0; id < count; ++id) {
      auto it = state_->times.find(id);
      if (it == state_->times.end() || it->second != 1) ++wrong;
    }
    return wrong;
  }
  Result<HttpResponse> result(int id) const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->results.at(id);
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    std::map<int, int> times;
    std::map<int, Result<HttpResponse>> results;
    std::size_t total = 0;

    void record(int id, Result<HttpResponse> result) {
      std::lock_guard<std::mutex> lock(mutex);
      ++times[id];
      results.insert_or_assign(id, std::move(result));
      ++total;
      changed.notify_all();  // under the lock: a waiter cannot return and leave first
    }
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

/// A RawServer handler that answers each request on a kept-alive connection with its
/// own target as the body, and tracks how many connections are open at once.
struct ConnectionCounter {
  std::atomic<int> open{0};
  std::atomic<int> most{0};

  RawServer::Handler echo_target() {
    return [this](int fd, RawServer& server) {
      const int now = ++open;
      for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      RawServer::http([](const RawRequest& r) { return RawServer::ok(r.target); })(fd, server);
      --open;
    };
  }
};

/// A server whose answers wait for a gate: reads a request, records it, then holds
/// the connection until the gate opens (or 30 s pass).
RawServer::Handler held_until(std::shared_ptr<Gate> gate, std::atomic<int>& arrived) {
  return [gate = std::move(gate), &arrived](int fd, RawServer& server) {
    std::string buffer;
    while (auto request = server.read_request(fd, buffer)) {
      ++arrived;
      if (request->target != "/fast") gate->wait();
      if (!RawServer::write_all(fd, RawServer::ok(request->target))) return;
    }
  };
}

bool wait_until(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + hang_bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

TEST_CASE("CurlMultiTransport: calls from many threads each complete once, with their answer",
          "[curl_multi][concurrency]") {
  RawServer server(RawServer::http([](const RawRequest& r) { return RawServer::ok(r.target); }));
  Outcomes outcomes;
  CurlMultiTransport transport;
  constexpr int threads = 8;
  constexpr int per_thread = 50;
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const int id = t * per_thread + i;
        transport.async_send(make_request(HttpMethod::get, server.url("/n/" + std::to_string(id))),
                             outcomes.completion(id));
      }
    });
  }
  for (auto& c : callers) c.join();
  REQUIRE(outcomes.wait_for(threads * per_thread));
  CHECK(outcomes.not_exactly_once(threads * per_thread) == 0);
  int answered = 0;
  for (int id = 0; id < threads * per_thread; ++id) {
    auto result = outcomes.result(id);
    if (result && result->status == 200 && result->body == "/n/" + std::to_string(id)) ++answered;
  }
  CHECK(answered == threads * per_thread);
}

TEST_CASE("CurlMultiTransport: 1,000 calls in flight from one thread use at most 4 connections",
          "[curl_multi][concurrency]") {
  ConnectionCounter counter;
  RawServer server(counter.echo_target());
  Outcomes outcomes;
  CurlMultiTransport transport(CurlMultiTransport::Options{.max_connections = 4});
  CHECK(transport.options().max_connections == 4);
  constexpr int calls = 1'000;
  for (int id = 0; id < calls; ++id) {
    transport.async_send(make_request(HttpMethod::get, server.url("/k/" + std::to_string(id))),
                         outcomes.completion(id));
  }
  REQUIRE(outcomes.wait_for(calls));
  CHECK(outcomes.not_exactly_once(calls) == 0);
  int answered = 0;
  for (int id = 0; id < calls; ++id) {
    auto result = outcomes.result(id);
    if (result && result->body == "/k/" + std::to_string(id)) ++answered;
  }
  CHECK(answered == calls);
  CHECK(counter.most.load() <= 4);
  CHECK(server.accepted() <= 4);
  CHECK(server.requests().size() == static_cast<std::size_t>(calls));
}

TEST_CASE("CurlMultiTransport: 10,000 calls in flight from one thread all complete once",
          "[curl_multi][concurrency]") {
  ConnectionCounter counter;
  RawServer server(counter.echo_target());
  Outcomes outcomes;
  CurlMultiTransport transport;  // 64 connections per host
  constexpr int calls = 10'000;
  for (int id = 0; id < calls; ++id) {
    transport.async_send(make_request(HttpMethod::get, server.url("/m/" + std::to_string(id))),
                         outcomes.completion(id));
  }
  REQUIRE(outcomes.wait_for(calls));
  CHECK(outcomes.not_exactly_once(calls) == 0);
  int answered = 0;
  for (int id = 0; id < calls; ++id) {
    auto result = outcomes.result(id);
    if (result && result->body == "/m/" + std::to_string(id)) ++answered;
  }
  CHECK(answered == calls);
  CHECK(counter.most.load() <= 64);
}

TEST_CASE("CurlMultiTransport: a call queued past its timeout ends with timeout, unsent",
          "[curl_multi]") {
  auto gate = std::make_shared<Gate>();
  std::atomic<int> arrived{0};
  RawServer server(held_until(gate, arrived));
  Opener opener{gate};
  Outcomes outcomes;
  CurlMultiTransport transport(CurlMultiTransport::Options{.max_connections = 1});
  transport.async_send(make_request(HttpMethod::get, server.url("/slow")), outcomes.completion(0));
  REQUIRE(wait_until([&] { return arrived.load() == 1; }));  // it holds the one connection

  auto queued = make_request(HttpMethod::get, server.url("/fast"));
  queued.timeout = 200ms;
  transport.async_send(queued, outcomes.completion(1));
  REQUIRE(outcomes.wait_for(1));
  const auto second = outcomes.result(1);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code() == errc::timeout);
  CHECK(std::string(second.error().what()).find("not sent") != std::string::npos);
  CHECK(arrived.load() == 1);

  gate->open();
  REQUIRE(outcomes.wait_for(2));
  const auto first = outcomes.result(0);
  REQUIRE(first.has_value());
  CHECK(first->body == "/slow");
  CHECK(arrived.load() == 1);  // the timed-out call never reached the server
}

TEST_CASE("CurlMultiTransport: failures reach the completion on the loop thread", "[curl_multi]") {
  Outcomes outcomes;
  std::atomic<int> on_loop{0};
  CurlMultiTransport transport;
  const auto recorded_on_loop = [&](int id) -> Completion {
    return [&, id](Result<HttpResponse> result) {
      if (transport.in_loop_thread()) ++on_loop;
      outcomes.record(id, std::move(result));
    };
  };
  CHECK_FALSE(transport.in_loop_thread());

  SECTION("a refused connection") {
    RefusingPort refusing;
    transport.async_send(make_request(HttpMethod::get, url_for(refusing.port(), "/")),
                         recorded_on_loop(0));
    REQUIRE(outcomes.wait_for(1));
    CHECK(error_of(outcomes.result(0)) == errc::connection_failed);
    CHECK(on_loop == 1);
  }
  SECTION("a server that closes in the middle of the body") {
    RawServer server([](int fd, RawServer& self) {
      std::string buffer;
      if (!self.read_request(fd, buffer)) return;
      RawServer::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    });
    transport.async_send(make_request(HttpMethod::get, server.url()), recorded_on_loop(0));
    REQUIRE(outcomes.wait_for(1));
    CHECK(error_of(outcomes.result(0)) == errc::transport);
    CHECK(on_loop == 1);
  }
  SECTION("a response over max_response_bytes") {
    CurlMultiTransport small(CurlMultiTransport::Options{.max_response_bytes = 1024});
    RawServer server(
        RawServer::http([](const RawRequest&) { return RawServer::ok(std::string(4096, 'x')); }));
    small.async_send(make_request(HttpMethod::get, server.url()), outcomes.completion(0));
    REQUIRE(outcomes.wait_for(1));
    CHECK(error_of(outcomes.result(0)) == errc::response_too_large);
  }
  SECTION("a request refused before any I/O completes inline") {
    transport.async_send(make_request(HttpMethod::get, "http://example.com/"), recorded_on_loop(0));
    CHECK(outcomes.total() == 1);  // before async_send returned
    CHECK(error_of(outcomes.result(0)) == errc::insecure_transport);
    CHECK(on_loop == 0);
  }
}

TEST_CASE("CurlMultiTransport: a completion may start the next call", "[curl_multi]") {
  RawServer server(RawServer::http([](const RawRequest& r) { return RawServer::ok(r.target); }));
  Outcomes outcomes;
  constexpr int chain = 20;
  std::function<void(int)> step;
  CurlMultiTransport transport;
  step = [&](int id) {
    transport.async_send(make_request(HttpMethod::get, server.url("/c/" + std::to_string(id))),
                         [&, id](Result<HttpResponse> result) {
                           outcomes.record(id, std::move(result));
                           if (id + 1 < chain) step(id + 1);
                         });
  };
  step(0);
  REQUIRE(outcomes.wait_for(chain));
  CHECK(outcomes.not_exactly_once(chain) == 0);
  for (int id = 0; id < chain; ++id) {
    auto result = outcomes.result(id);
    REQUIRE(result.has_value());
    CHECK(result->body == "/c/" + std::to_string(id));
  }
  CHECK(server.accepted() == 1);  // one kept-alive connection carried the whole chain
}

TEST_CASE("CurlMultiTransport: a blocking send on the loop thread fails instead of deadlocking",
          "[curl_multi]") {
  RawServer server(RawServer::http([](const RawRequest&) { return RawServer::ok(); }));
  Outcomes outcomes;
  CurlMultiTransport transport;
  transport.async_send(
      make_request(HttpMethod::get, server.url()), [&](Result<HttpResponse> first) {
        REQUIRE(first.has_value());
        outcomes.record(0, transport.send(make_request(HttpMethod::get, server.url())));
      });
  REQUIRE(outcomes.wait_for(1));
  const auto nested = outcomes.result(0);
  CHECK(error_of(nested) == errc::invalid_argument);
  if (!nested) {
    CHECK(std::string(nested.error().what()).find("would deadlock") != std::string::npos);
  }
  // Off the loop thread, the same call works.
  CHECK(transport.send(make_request(HttpMethod::get, server.url())).has_value());
}

TEST_CASE("CurlMultiTransport: an exception escaping a completion does not stop the loop",
          "[curl_multi]") {
  RawServer server(RawServer::http([](const RawRequest&) { return RawServer::ok(); }));
  std::atomic<int> thrown{0};
  CurlMultiTransport transport;
  for (int i = 0; i < 3; ++i) {
    transport.async_send(make_request(HttpMethod::get, server.url()), [&](Result<HttpResponse>) {
      ++thrown;
      throw std::runtime_error("a careless completion");
    });
  }
  // Refused inline: the exception must not reach the caller of async_send either.
  transport.async_send(make_request(HttpMethod::get, "ftp://127.0.0.1/"),
                       [&](Result<HttpResponse>) {
                         ++thrown;
                         throw std::runtime_error("a careless completion");
                       });
  REQUIRE(wait_until([&] { return thrown.load() == 4; }));
  auto after = transport.send(make_request(HttpMethod::get, server.url()));
  REQUIRE(after.has_value());
  CHECK(after->status == 200);
}

TEST_CASE("CurlMultiTransport: async_after runs on the loop thread after its delay",
          "[curl_multi][timer]") {
  SECTION("it runs once, not before the delay") {
    std::promise<std::pair<bool, std::chrono::steady_clock::time_point>> ran;
    auto future = ran.get_future();
    CurlMultiTransport transport;
    const auto asked = std::chrono::steady_clock::now();
    transport.async_after(50ms, [&] {
      ran.set_value({transport.in_loop_thread(), std::chrono::steady_clock::now()});
    });
    REQUIRE(future.wait_for(hang_bound) == std::future_status::ready);
    const auto [on_loop, when] = future.get();
    CHECK(on_loop);
    CHECK(when - asked >= 50ms);
  }
  SECTION("a timer pending at destruction is dropped without running") {
    auto sentinel = std::make_shared<int>(0);
    std::atomic<bool> ran{false};
    {
      CurlMultiTransport doomed;
      doomed.async_after(std::chrono::hours(1), [&ran, sentinel] { ran = true; });
      CHECK(sentinel.use_count() == 2);
    }
    CHECK_FALSE(ran);
    CHECK(sentinel.use_count() == 1);  // the function was destroyed with the transport
  }
  SECTION("a throwing timer does not stop the loop") {
    std::promise<void> second;
    CurlMultiTransport transport;
    transport.async_after(0ms, [] { throw std::runtime_error("a careless timer"); });
    transport.async_after(1ms, [&] { second.set_value(); });
    CHECK(second.get_future().wait_for(hang_bound) == std::future_status::ready);
  }
}

TEST_CASE("CurlMultiTransport: destruction completes 200 calls in flight once, with shutting_down",
          "[curl_multi][shutdown]") {
  auto gate = std::make_shared<Gate>();
  std::atomic<int> arrived{0};
  RawServer server(held_until(gate, arrived));
  Opener opener{gate};
  Outcomes outcomes;
  std::atomic<bool> destroyed{false};
  std::atomic<int> late{0};
  std::atomic<int> refused_during_shutdown{0};
  constexpr int calls = 200;
  auto transport = std::make_unique<CurlMultiTransport>();
  CurlMultiTransport* raw = transport.get();
  for (int id = 0; id < calls; ++id) {
    transport->async_send(make_request(HttpMethod::get, server.url("/slow/" + std::to_string(id))),
                          [&, raw, id](Result<HttpResponse> result) {
                            if (destroyed) ++late;
                            if (id == 0) {
                              // Destruction has begun: a new call completes at once, inline.
                              raw->async_send(
                                  make_request(HttpMethod::get, server.url("/fast")),
                                  [&](Result<HttpResponse> refused) {
                                    if (!refused && refused.error().code() == errc::shutting_down) {
                                      ++refused_during_shutdown;
                                    }
                                  });
                            }
                            outcomes.record(id, std::move(result));
                          });
  }
  // Some calls reached the server and are held there; the rest wait in the queue.
  REQUIRE(wait_until([&] { return arrived.load() >= 1; }));

  const auto started = std::chrono::steady_clock::now();
  transport.reset();
  destroyed = true;
  CHECK(std::chrono::steady_clock::now() - started < hang_bound);

  CHECK(outcomes.total() == static_cast<std::size_t>(calls));  // all before it returned
  CHECK(outcomes.not_exactly_once(calls) == 0);
  int shut = 0;
  for (int id = 0; id < calls; ++id) {
    const auto result = outcomes.result(id);
    if (!result && result.error().code() == errc::shutting_down) ++shut;
  }
  CHECK(shut == calls);
  CHECK(refused_during_shutdown == 1);
  CHECK(late == 0);
}

TEST_CASE("CurlMultiTransport: released for the last time on its own loop thread, it shuts down",
          "[curl_multi][shutdown]") {
  auto gate = std::make_shared<Gate>();
  std::atomic<int> arrived{0};
  RawServer server(held_until(gate, arrived));
  Opener opener{gate};
  Outcomes outcomes;
  constexpr int held = 10;
  std::atomic<bool> destroyed_on_loop{false};
  {
    auto transport = std::make_shared<CurlMultiTransport>();
    for (int id = 0; id < held; ++id) {
      transport->async_send(make_request(HttpMethod::get, server.url("/slow")),
                            outcomes.completion(id));
    }
    REQUIRE(wait_until([&] { return arrived.load() >= 1; }));
    // The completion owns the last reference, and drops it on the loop thread.
    transport->async_send(make_request(HttpMethod::get, server.url("/fast")),
                          [owner = transport, &destroyed_on_loop](Result<HttpResponse>) mutable {
                            const bool on_loop = owner->in_loop_thread();
                            owner.reset();  // ~CurlMultiTransport, here on the loop thread
                            destroyed_on_loop = on_loop;
                          });
  }
  // The loop completes what was left right after that completion returns.
  REQUIRE(outcomes.wait_for(held));
  CHECK(destroyed_on_loop);
  CHECK(outcomes.not_exactly_once(held) == 0);
  for (int id = 0; id < held; ++id) CHECK(error_of(outcomes.result(id)) == errc::shutting_down);
}

TEST_CASE("CurlMultiTransport: moved from, it completes calls inline with transport",
          "[curl_multi]") {
  RawServer server(RawServer::http([](const RawRequest&) { return RawServer::ok(); }));
  CurlMultiTransport original;
  CurlMultiTransport moved = std::move(original);
  CHECK(moved.send(make_request(HttpMethod::get, server.url())).has_value());
  Outcomes outcomes;
  original.async_send(make_request(HttpMethod::get, server.url()), outcomes.completion(0));
  CHECK(outcomes.total() == 1);
  CHECK(error_of(outcomes.result(0)) == errc::transport);
  CHECK(error_of(original.send(make_request(HttpMethod::get, server.url()))) == errc::transport);
  CHECK_FALSE(original.in_loop_thread());

  CurlMultiTransport assigned;
  assigned = std::move(moved);
  CHECK(assigned.send(make_request(HttpMethod::get, server.url())).has_value());
}

namespace {

/// A server that reads one request per connection and never answers it: it waits for
/// the client to close the connection, and counts the connections closed that way.
struct SilentServer {
  std::atomic<int> arrived{0};
  std::atomic<int> closed_by_client{0};
  RawServer server{[this](int fd, RawServer& raw) {
    std::string buffer;
    if (!raw.read_request(fd, buffer)) return;
    ++arrived;
    while (raw.read_more(fd, buffer)) {
    }
    if (!raw.stopping()) ++closed_by_client;
  }};
};

}  // namespace

TEST_CASE("CurlMultiTransport: a stop request abandons a running transfer and closes it",
          "[curl_multi][cancel]") {
  SilentServer silent;
  RawServer answering(RawServer::http([](const RawRequest& r) { return RawServer::ok(r.target); }));
  CurlMultiTransport transport;
  Outcomes outcomes;
  std::stop_source stop;
  // Far longer than the hang bound: only the cancellation can end this call in time.
  transport.async_send(HttpRequest{HttpMethod::get, silent.server.url("/slow"), {}, {}, 600s},
                       outcomes.completion(0), stop.get_token());
  REQUIRE(wait_until([&] { return silent.arrived.load() == 1; }));
  CHECK(outcomes.total() == 0);

  stop.request_stop();
  REQUIRE(outcomes.wait_for(1));
  auto cancelled = outcomes.result(0);
  REQUIRE_FALSE(cancelled.has_value());
  CHECK(cancelled.error().value() == errc::cancelled);
  // The server sees the connection closed: the transfer stopped, it did not run on.
  REQUIRE(wait_until([&] { return silent.closed_by_client.load() == 1; }));

  // The loop goes on: the next call is answered, and the cancelled one never completes
  // again (not even at shutdown).
  transport.async_send(HttpRequest{HttpMethod::get, answering.url("/next"), {}, {}, 30s},
                       outcomes.completion(1));
  REQUIRE(outcomes.wait_for(2));
  REQUIRE(outcomes.result(1).has_value());
  CHECK(outcomes.result(1)->body == "/next");
  stop.request_stop();  // again: nothing happens
  { CurlMultiTransport gone = std::move(transport); }
  CHECK(outcomes.not_exactly_once(2) == 0);
}

TEST_CASE("CurlMultiTransport: a stop request takes a queued call out of the line, unsent",
          "[curl_multi][cancel]") {
  auto gate = std::make_shared<Gate>();
  std::atomic<int> arrived{0};
  RawServer server(held_until(gate, arrived));
  Opener opener{gate};  // opens the gate before the server waits for its handlers
  CurlMultiTransport::Options options;
  options.max_connections = 1;
  CurlMultiTransport transport(options);
  Outcomes outcomes;
  std::stop_source stop;
  transport.async_send(HttpRequest{HttpMethod::get, server.url("/held"), {}, {}, 60s},
                       outcomes.completion(0));
  REQUIRE(wait_until([&] { return arrived.load() == 1; }));
  transport.async_send(HttpRequest{HttpMethod::get, server.url("/queued"), {}, {}, 60s},
                       outcomes.completion(1), stop.get_token());
  stop.request_stop();
  REQUIRE(outcomes.wait_for(1));
  REQUIRE_FALSE(outcomes.result(1).has_value());
  CHECK(outcomes.result(1).error().value() == errc::cancelled);
  gate->open();
  REQUIRE(outcomes.wait_for(2));
  CHECK(outcomes.result(0).has_value());
  CHECK(arrived.load() == 1);  // the cancelled call was never sent

  SECTION("a token already stopped completes inline, unsent") {
    std::stop_source stopped;
    stopped.request_stop();
    transport.async_send(HttpRequest{HttpMethod::get, server.url("/never"), {}, {}, 60s},
                         outcomes.completion(2), stopped.get_token());
    CHECK(outcomes.total() == 3);  // inline: before async_send returned
    CHECK(outcomes.result(2).error().value() == errc::cancelled);
  }
  { CurlMultiTransport gone = std::move(transport); }
  CHECK(arrived.load() == 1);
}

TEST_CASE("CurlMultiTransport: stop requests racing answers settle each call exactly once",
          "[curl_multi][cancel]") {
  RawServer server(RawServer::http([](const RawRequest& r) { return RawServer::ok(r.target); }));
  CurlMultiTransport::Options options;
  options.max_connections = 8;
  CurlMultiTransport transport(options);
  Outcomes outcomes;
  constexpr int calls = 300;
  std::vector<std::stop_source> stops(calls);
  for (int i = 0; i < calls; ++i) {
    transport.async_send(
        HttpRequest{HttpMethod::get, server.url("/" + std::to_string(i)), {}, {}, 60s},
        outcomes.completion(i), stops[static_cast<std::size_t>(i)].get_token());
  }
  // Another thread cancels every other call while they run, wait in line or finish.
  std::thread canceller([&] {
    for (int i = 0; i < calls; i += 2) stops[static_cast<std::size_t>(i)].request_stop();
  });
  canceller.join();
  REQUIRE(outcomes.wait_for(calls));
  int answered = 0;
  int cancelled = 0;
  for (int i = 0; i < calls; ++i) {
    auto result = outcomes.result(i);
    if (result) {
      CHECK(result->body == "/" + std::to_string(i));
      ++answered;
    } else {
      CHECK(result.error().value() == errc::cancelled);
      CHECK(i % 2 == 0);
      ++cancelled;
    }
  }
  CHECK(answered + cancelled == calls);
  CHECK(answered >= calls / 2);
  { CurlMultiTransport gone = std::move(transport); }
  CHECK(outcomes.not_exactly_once(calls) == 0);
}

TEST_CASE("CurlMultiTransport: a cancelled App call stops its transfer on the wire",
          "[curl_multi][cancel]") {
  // Answers the location lookup; holds every other request until the client closes.
  std::atomic<int> held{0};
  std::atomic<int> closed_by_client{0};
  std::atomic<int> port{0};
  RawServer server([&](int fd, RawServer& raw) {
    std::string buffer;
    while (auto request = raw.read_request(fd, buffer)) {
      if (request->target.find("/location") != std::string::npos) {
        const std::string body = R"({"deployment_model":"GLOBAL","location":"US-VA","hostname":")" +
                                 url_for(port.load(), "") + R"(","ws_hostname":"ws://unused"})";
        if (!RawServer::write_all(fd,
                                  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  "Content-Length: " +
                                      std::to_string(body.size()) + "\r\n\r\n" + body)) {
          return;
        }
        continue;
      }
      ++held;
      while (raw.read_more(fd, buffer)) {
      }
      if (!raw.stopping()) ++closed_by_client;
      return;
    }
  });
  port = server.port();
  appkeys::AppConfig config{.app_id = "shop-abcde", .base_url = url_for(server.port(), "")};
  config.request_timeout = 600s;  // only the cancellation can end the call in time
  // A session made against an in-memory backend, for the same app (a User is refused by
  // an App of another base URL): its tokens only need to be sent.
  appkeys::testing::FakeBackend backend;
  backend.add_email_user("cancel@example.com", "cancel password");
  appkeys::App<appkeys::testing::FakeTransport> login_app(config,
                                                          appkeys::testing::FakeTransport(backend));
  auto user = login_app.log_in(
      appkeys::Credentials::email_password("cancel@example.com", "cancel password"));
  appkeys::App<CurlMultiTransport, appkeys::CallbackExec> app(config, CurlMultiTransport{});
  std::stop_source stop;
  std::promise<appkeys::Result<std::vector<appkeys::ApiKey>>> outcome;
  auto future = outcome.get_future();
  app.api_keys(user).with_stop_token(stop.get_token()).fetch_all().then([&](auto all) {
    outcome.set_value(std::move(all));
  });
  REQUIRE(wait_until([&] { return held.load() == 1; }));
  stop.request_stop();
  REQUIRE(future.wait_for(hang_bound) == std::future_status::ready);
  auto all = future.get();
  REQUIRE_FALSE(all.has_value());
  CHECK(all.error().value() == errc::cancelled);
  // The transport abandoned the exchange: the server sees its connection closed.
  REQUIRE(wait_until([&] { return closed_by_client.load() == 1; }));
}

}  // namespace curl_multi_transport_test
