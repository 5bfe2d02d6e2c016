// bench-marmousi-kernel: cell updates per second of the Marmousi acoustic kernel on the full
// 4 m grid (2301 × 751 plus the absorbing pad) with 1 and 2 threads, beside a STREAM-style
// measurement (copy, triad) of the same machine with arrays well beyond the last-level cache.
//
// Bandwidth bound: one time step streams p (read), p⁻ (read, overwritten by p⁺: write) and
// (v·dt/h)² (read); the eight x-neighbours of the stencil come from the columns just used,
// which stay in L1/L2. So 16 bytes per cell: cells/s bound = STREAM triad bytes/s / 16.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "acoustic.h"
#include "cli.h"
#include "formats.h"

namespace {

constexpr double kBytesPerCell = 16;

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct StreamFigures {
  double copy = 0, triad = 0;  // bytes/s, best of the repetitions
};

// STREAM copy c = a and triad a = b + s·c on doubles, STREAM's byte counting (2 and 3
// arrays per element, no write-allocate traffic), best of `repetitions`.
StreamFigures Stream(size_t n, int threads, int repetitions) {
  auto alloc = [n] {
    return std::unique_ptr<double[], decltype(&std::free)>(
        static_cast<double*>(std::aligned_alloc(64, (n * sizeof(double) + 63) / 64 * 64)),
        &std::free);
  };
  auto a = alloc(), b = alloc(), c = alloc();
  double* __restrict pa = a.get();
  double* __restrict pb = b.get();
  double* __restrict pc = c.get();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t i = 0; i < n; ++i) {
    pa[i] = 1.0;
    pb[i] = 2.0;
    pc[i] = 0.0;
  }
  StreamFigures best;
  const double scalar = 3.0;
  for (int r = 0; r < repetitions; ++r) {
    auto start = std::chrono::steady_clock::now();
#pragma omp parallel for simd num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; ++i) pc[i] = pa[i];
    best.copy = std::max(best.copy, 2.0 * sizeof(double) * n / Seconds(start));
    start = std::chrono::steady_clock::now();
#pragma omp parallel for simd num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; ++i) pa[i] = pb[i] + scalar * pc[i];
    best.triad = std::max(best.triad, 3.0 * sizeof(double) * n / Seconds(start));
  }
  // Keep the result observable so the loops are not removed.
  volatile double sink = pa[n / 2];
  (void)sink;
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Marmousi kernel throughput (cell updates/s) vs STREAM bandwidth bound.",
               "bench-marmousi-kernel");
  std::string grid_path;
  int steps = 300, pad = 83, repetitions = 3;
  double stream_mib = 0;
  std::vector<int> thread_counts = {1, 2};
  app.add_option("--grid", grid_path,
                 "grid file (default: the full 4 m Marmousi size with a "
                 "layered velocity; the kernel has no data-dependent work)");
  app.add_option("--steps", steps, "timed steps per run")->capture_default_str();
  app.add_option("--pad", pad, "absorbing pad (cells) of the synthetic grid")
      ->capture_default_str();
  app.add_option("--threads", thread_counts, "thread counts to measure")->capture_default_str();
  app.add_option("--repetitions", repetitions, "best of this many runs")->capture_default_str();
  app.add_option("--stream-mib", stream_mib,
                 "STREAM array size in MiB (default: max(last-level cache, 256 MiB) each)");
  if (int code = marmousi::ParseArguments(app, argc, argv); code >= 0) return code;

  marmousi::Medium medium;
  if (!grid_path.empty()) {
    marmousi::VelocityGrid grid;
    if (marmousi::Status s = marmousi::ReadGrid(grid_path, &grid); !s.ok()) {
      return marmousi::Fail(app, s);
    }
    medium.nx = grid.nx;
    medium.nz = grid.nz;
    medium.h = grid.h;
    medium.velocity = grid.velocity;
    pad = grid.pad;
  } else {
    medium.nx = 2301 + 2 * pad;
    medium.nz = 751 + pad;
    medium.h = 4;
    medium.velocity.resize(size_t(medium.nx) * medium.nz);
    for (int ix = 0; ix < medium.nx; ++ix) {
      for (int iz = 0; iz < medium.nz; ++iz) {
        medium.velocity[size_t(ix) * medium.nz + iz] = float(1500 + 4000.0 * iz / medium.nz);
      }
    }
  }
  medium.absorb_left = medium.absorb_right = medium.absorb_bottom = pad;
  medium.free_surface = true;
  const float vmax = *std::max_element(medium.velocity.begin(), medium.velocity.end());
  const double dt = marmousi::ChooseTimeStep(medium.h, vmax, 0.004, 0.5);
  const double cells = double(medium.nx) * medium.nz;

  long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (llc <= 0) llc = 64L << 20;
  if (stream_mib <= 0) stream_mib = std::max(double(llc) / (1 << 20), 256.0);
  const size_t stream_n = size_t(stream_mib * (1 << 20) / sizeof(double));
  // A second STREAM run at the kernel's own footprint (three float arrays of the grid).
  const size_t footprint_n = size_t(3 * cells * sizeof(float) / sizeof(double) / 3);

  std::printf(
      "Marmousi kernel: grid %d x %d (2301 x 751 + pad %d), h %.0f m, dt %.4f ms, "
      "%d steps, best of %d\n",
      medium.nx, medium.nz, pad, medium.h, dt * 1e3, steps, repetitions);
  std::printf(
      "bytes per cell update: %.0f (read p, p_prev, (v dt/h)^2; write p_next over "
      "p_prev)\n",
      kBytesPerCell);
  std::printf("last-level cache %.0f MiB; STREAM arrays %.0f MiB each (3 arrays)\n",
              llc / 1048576.0, stream_mib);
  if (std::FILE* load = std::fopen("/proc/loadavg", "r")) {
    char text[64] = {};
    if (std::fgets(text, sizeof text, load) != nullptr) {
      std::printf("load average before the run (other work shares these cores): %s", text);
    }
    std::fclose(load);
  }
  std::printf("\n");
  std::printf("%7s %14s %12s %12s %12s %12s %10s\n", "threads", "cells/s", "kernel GB/s",
              "copy GB/s", "triad GB/s", "bound cell/s", "% of bound");
  for (int threads : thread_counts) {
    StreamFigures stream = Stream(stream_n, threads, repetitions + 2);
    double best = 0;
    for (int r = 0; r < repetitions; ++r) {
      marmousi::AcousticSolver solver(medium, dt, threads);
      solver.SetSource(medium.nx / 2.0, 2);
      for (int n = 0; n < 20; ++n) solver.Step(float(marmousi::Ricker((n - 30) * dt, 25)));
      auto start = std::chrono::steady_clock::now();
      for (int n = 0; n < steps; ++n) solver.Step(float(marmousi::Ricker((n - 10) * dt, 25)));
      best = std::max(best, cells * steps / Seconds(start));
    }
    double bound = stream.triad / kBytesPerCell;
    std::printf("%7d %14.3e %12.1f %12.1f %12.1f %12.3e %9.0f%%\n", threads, best,
                best * kBytesPerCell / 1e9, stream.copy / 1e9, stream.triad / 1e9, bound,
                100 * best / bound);
  }
  std::printf("\nSTREAM at the kernel's own footprint (%.1f MiB per array, cache-resident):\n",
              footprint_n * sizeof(double) / 1048576.0);
  for (int threads : thread_counts) {
    StreamFigures s = Stream(footprint_n, threads, 20);
    std::printf("  %d threads: copy %.1f GB/s, triad %.1f GB/s -> bound %.3e cells/s\n", threads,
                s.copy / 1e9, s.triad / 1e9, s.triad / kBytesPerCell);
  }
  return 0;
}
