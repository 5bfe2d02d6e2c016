#include "services/info/calibrate.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace fvce::info {
namespace {

// Hides a double from the optimizer between the multiply and the add, so the compiler
// cannot contract them into one FMA when the target has it: the figure must mean the same
// on every build. The empty asm costs nothing at run time.
inline void opaque(double& v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm volatile("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
  asm volatile("" : "+w"(v));
#elif defined(__GNUC__)
  asm volatile("" : "+m"(v));
#else
  (void)v;
#endif
}

struct Chains {
  std::uint64_t x = 0x243f6a8885a308d3ULL;
  double y = 1.0;
};

// Runs `steps` reference operations. noinline keeps the loop identical wherever it is used.
[[gnu::noinline]] void run_steps(Chains& c, std::uint64_t steps) {
  std::uint64_t x = c.x;
  double y = c.y;
  for (std::uint64_t i = 0; i < steps; ++i) {
    x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ULL;
    y = y * 0.999999;
    opaque(y);
    y = y + 1e-6;
  }
  c.x = x;
  c.y = y;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// A sink the optimizer must assume is read, so the chains' results are live.
volatile std::uint64_t g_sink;

}  // namespace

double calibrate_speed(std::chrono::milliseconds budget) {
  constexpr int kRepetitions = 5;
  // Small enough that checking the clock between chunks keeps each repetition close to its
  // share of the budget, large enough that the clock read is noise (~10 us per chunk).
  constexpr std::uint64_t kChunk = 4096;
  const double share =
      std::max(0.001, std::chrono::duration<double>(budget).count() / kRepetitions);

  Chains chains;
  std::array<double, kRepetitions> rates{};
  for (double& rate : rates) {
    const double start = thread_cpu_seconds();
    double elapsed = 0;
    std::uint64_t steps = 0;
    do {
      run_steps(chains, kChunk);
      steps += kChunk;
      elapsed = thread_cpu_seconds() - start;
    } while (elapsed < share);
    rate = static_cast<double>(steps) / elapsed / 1e6;
  }
  g_sink = chains.x ^ static_cast<std::uint64_t>(chains.y * 1e6);
  // The first repetition may run while the core is still ramping its clock up; the median
  // ignores it and any repetition disturbed by an interrupt storm.
  std::sort(rates.begin(), rates.end());
  return rates[kRepetitions / 2];
}

}  // namespace fvce::info
