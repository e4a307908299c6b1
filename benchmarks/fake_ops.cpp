// Per-operation cost on the in-memory fake: the library (App<FakeTransport>) against
// the hand-written floor (the same requests straight into FakeBackend::handle, parsed
// with nlohmann/json); see common.hpp for why that is the honest floor. Also how
// fetch_all's cost grows with the number of keys, 1 to 100,000.
#include "ops.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>

#include <benchmark/benchmark.h>

namespace bench {
namespace {

constexpr const char* fake_base_url = "http://fake.invalid";

struct FakeEnv : Env<appkeys::testing::FakeTransport, FakeSender> {
  using Env::Env;
  static FakeEnv& get() {
    static World world;
    static FakeEnv env(world, fake_base_url, appkeys::testing::FakeTransport(world.backend()),
                       FakeSender(world.backend(), fake_base_url));
    return env;
  }
};

}  // namespace

void register_fake() {
  Ops<FakeEnv>::register_all("fake");
  // fetch_all against the number of keys: the time per key must stay flat.
  auto* b = benchmark::RegisterBenchmark("scaling/fetch_all", &Ops<FakeEnv>::fetch_all);
  for (long n : {1L, 10L, 100L, 1'000L, 10'000L, 100'000L}) b->Arg(n);
  // Untimed runs first, so the allocator has grown its heap for the large bodies
  // (else the first iterations of 100,000 keys pay for fresh pages).
  b->Unit(benchmark::kMicrosecond)->MinWarmUpTime(0.2);
}

}  // namespace bench
