// The appkeys benchmark suite: one binary, every benchmark registered here. Run it
// through benchmarks/run, which computes the library / floor ratios.
#include <benchmark/benchmark.h>

#include <cstdio>

namespace bench {
bool same_requests();
void register_fake();
void register_loopback();
}  // namespace bench

int main(int argc, char** argv) {
  if (!bench::same_requests()) return 1;
  std::fprintf(stderr, "same_requests: the floors send the library's requests, byte for byte\n");
  bench::register_fake();
  bench::register_loopback();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
