// The speed figure a node advertises in its static info (HostStatic::speed).
#pragma once

#include <chrono>

namespace fvce::info {

// Measures how fast one core of this machine runs a fixed reference workload, in
// "million reference operations per second" (Mref/s).
//
// One reference operation is one step of each of two dependent chains run side by side:
//   - an integer hash step:   x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15
//   - a floating-point step:  y = y * 0.999999 + 1e-6   (a multiply, then an add, never
//     fused into an FMA, so the figure does not depend on -march)
// Both chains are latency-bound, so the figure follows single-thread speed (clock rate and
// instruction latency), which is what the scheduler's "cost / speed" estimate needs; it does
// not reward SIMD width or core count (HostStatic::cores carries that).
//
// The budget is split over five repetitions; each is timed with the thread's CPU clock, so
// time the thread spends descheduled on a busy machine does not count, and the median is
// returned. On an idle machine two runs agree within a few percent.
//
// Blocks the calling thread for about `budget` (at least 5 ms). Thread-safe. Always > 0.
double calibrate_speed(std::chrono::milliseconds budget = std::chrono::milliseconds(100));

}  // namespace fvce::info
