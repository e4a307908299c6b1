// The appkeys benchmark suite: one binary, every benchmark registered here. Run it
// through benchmarks/run, which computes the library / floor ratios.
#include <benchmark/benchmark.h>

namespace bench {
void register_fake();
void register_loopback();
}  // namespace bench

int main(int argc, char** argv) {
  bench::register_fake();
  bench::register_loopback();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
