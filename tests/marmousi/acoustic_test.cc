// Correctness of the Marmousi acoustic kernel against physics (doctest).
//
// - homogeneous medium vs the analytic 2D Green's function convolved with the Ricker;
// - source/receiver reciprocity in a heterogeneous medium with a free surface;
// - reflections from the absorbing layer vs a reference run on a larger grid.
// Each case prints the figure it measured, so docs/marmousi.md can quote the log.
#include "acoustic.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>
#include <vector>

namespace marmousi {
namespace {

// Courant number the water layer of the Marmousi runs sees: the step is set by
// v_max = 5500 m/s at Courant 0.5, so 1500 m/s waves run at 0.5 · 1500 / 5500.
constexpr double kWaterCourant = 0.5 * 1500.0 / 5500.0;

// p(t) for (1/c²)p_tt − ∇²p = s(t)δ(x), s a Ricker: the convolution of
// G(r,t) = H(t − r/c) / (2π sqrt(t² − r²/c²)) with s. Substituting τ = (r/c)·cosh u removes
// the singularity: p(t) = (1/2π) ∫₀^U s(t − (r/c)·cosh u) du (Simpson), where U ends the
// integral where s starts (the Ricker is negligible before −lag: s(t − τ) = 0 for τ > t + lag).
double AnalyticPressure(double t, double r, double c, double fpeak, double lag) {
  double travel = r / c;
  if (t + lag <= travel) return 0;
  double upper = std::acosh((t + lag) / travel);
  const int n = 20000;
  double du = upper / n, sum = 0;
  for (int i = 0; i <= n; ++i) {
    double weight = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
    sum += weight * Ricker(t - travel * std::cosh(i * du), fpeak);
  }
  return sum * du / 3 / (2 * std::numbers::pi);
}

struct Trace {
  std::vector<double> time, value;
};

// Runs a homogeneous medium with absorbing layers all round and records one receiver at
// (dx, dz) cells from the source.
Trace RunHomogeneous(double h, double c, double fpeak, double courant, int dx_cells, double t_end) {
  const double extent = 1600;  // m, interior; boundary echoes arrive after t_end
  const int pad = std::max(20, int(std::ceil(c / fpeak / h)));
  Medium medium;
  medium.nx = medium.nz = int(std::lround(extent / h)) + 2 * pad;
  medium.h = h;
  medium.velocity.assign(size_t(medium.nx) * medium.nz, float(c));
  medium.absorb_left = medium.absorb_right = medium.absorb_top = medium.absorb_bottom = pad;
  medium.free_surface = false;
  const double dt = courant * h / c;
  AcousticSolver solver(medium, dt, 2);
  const int sx = medium.nx / 2, sz = medium.nz / 2;
  solver.SetSource(sx, sz);
  const double lag = 1.5 / fpeak;
  Trace trace;
  while (-lag + solver.step() * dt < t_end) {
    double t = -lag + solver.step() * dt;
    solver.Step(float(Ricker(t, fpeak)));
    trace.time.push_back(t + dt);
    trace.value.push_back(solver.value(sx + dx_cells, sz));
  }
  return trace;
}

double RelativeL2(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / den);
}

TEST_CASE("homogeneous medium matches the analytic 2D Green's function") {
  const double c = 2000, fpeak = 10, fmax = 2.5 * fpeak, r = 400;
  const double t_end = r / c + 2.0 / fpeak;
  std::vector<double> errors;
  for (double ppw : {4.0, 5.0, 8.0}) {
    const double h = c / fmax / ppw;
    const int cells = int(std::lround(r / h));
    CHECK(std::abs(cells * h - r) < 1e-9);
    Trace numeric = RunHomogeneous(h, c, fpeak, kWaterCourant, cells, t_end);
    std::vector<double> exact;
    for (double t : numeric.time) exact.push_back(AnalyticPressure(t, r, c, fpeak, 1.5 / fpeak));
    double error = RelativeL2(numeric.value, exact);
    std::printf(
        "homogeneous: %.0f points per shortest wavelength (h = %.2f m): relative L2 "
        "error %.4f%%\n",
        ppw, h, 100 * error);
    errors.push_back(error);
  }
  CHECK(errors[0] < 0.02);
  CHECK(errors[1] < errors[0]);
  CHECK(errors[2] < errors[1]);
}

TEST_CASE("Courant limit and time step choice") {
  CHECK(CourantLimit() == doctest::Approx(0.5547).epsilon(1e-3));
  double dt = ChooseTimeStep(4, 5500, 0.004, 0.5);
  CHECK(dt <= 0.5 * 4 / 5500 + 1e-15);
  CHECK(std::abs(0.004 / dt - std::round(0.004 / dt)) < 1e-9);
}

// A layered medium with a dipping interface and a fast lens, free surface on top.
Medium LayeredMedium(double h, int nx, int nz, int pad) {
  Medium medium;
  medium.nx = nx;
  medium.nz = nz;
  medium.h = h;
  medium.velocity.resize(size_t(nx) * nz);
  for (int ix = 0; ix < nx; ++ix) {
    for (int iz = 0; iz < nz; ++iz) {
      double x = ix * h, z = iz * h;
      double v = z < 40 ? 1500 : (z < 200 + 0.15 * x ? 1800 + 2 * (z - 40) : 3200);
      double lens = std::hypot(x - 0.55 * nx * h, z - 150) < 60 ? 900 : 0;
      medium.velocity[size_t(ix) * nz + iz] = float(v + lens);
    }
  }
  medium.absorb_left = medium.absorb_right = medium.absorb_bottom = pad;
  medium.free_surface = true;
  return medium;
}

std::vector<float> RunPointToPoint(const Medium& medium, double dt, double fpeak, int steps,
                                   double sx, double sz, double rx, double rz) {
  AcousticSolver solver(medium, dt, 2);
  solver.SetSource(sx, sz);
  std::vector<float> trace;
  const double lag = 1.5 / fpeak;
  for (int n = 0; n < steps; ++n) {
    solver.Step(float(Ricker(-lag + n * dt, fpeak)));
    trace.push_back(solver.Sample(rx, rz));
  }
  return trace;
}

// Run() keeps the threads in one parallel region and lets the observer sample while the
// next step is under way; the record must be the one Step() gives, bit for bit, for any
// number of threads and chunk lengths that do not divide the run.
TEST_CASE("Run over many steps records what Step gives, bit for bit") {
  const double h = 5, fpeak = 15;
  const int pad = 40, nx = 200 + 2 * pad, nz = 100 + pad;
  Medium medium = LayeredMedium(h, nx, nz, pad);
  float vmax = *std::max_element(medium.velocity.begin(), medium.velocity.end());
  const double dt = ChooseTimeStep(h, vmax, 0.004, 0.5);
  const int steps = 700;
  const double lag = 1.5 / fpeak;
  const double sx = pad + 41.3, sz = 1.6, rx = pad + 150.2, rz = 2.4;
  std::vector<float> sources(steps);
  for (int n = 0; n < steps; ++n) sources[n] = float(Ricker(-lag + n * dt, fpeak));
  AcousticSolver stepped(medium, dt, 2);
  stepped.SetSource(sx, sz);
  std::vector<float> reference;
  for (int n = 0; n < steps; ++n) {
    stepped.Step(sources[n]);
    reference.push_back(stepped.Sample(rx, rz));
  }
  const size_t bytes = stepped.state_size() * sizeof(float);
  for (int threads : {1, 2, 3}) {
    for (int chunk : {1, 64, 1000}) {
      AcousticSolver solver(medium, dt, threads);
      solver.SetSource(sx, sz);
      std::vector<float> trace;
      while (solver.step() < steps) {
        int n = std::min<int>(chunk, steps - int(solver.step()));
        solver.Run(n, sources.data() + solver.step(),
                   [&] { trace.push_back(solver.Sample(rx, rz)); });
      }
      CAPTURE(threads);
      CAPTURE(chunk);
      REQUIRE(trace.size() == reference.size());
      CHECK(std::equal(trace.begin(), trace.end(), reference.begin()));
      // Both fields agree too: a checkpoint taken now would resume the same run.
      CHECK(std::memcmp(solver.current(), stepped.current(), bytes) == 0);
      CHECK(std::memcmp(solver.previous(), stepped.previous(), bytes) == 0);
    }
  }
}

TEST_CASE("reciprocity: swapping source and receiver gives the same trace") {
  const double h = 5, fpeak = 15;
  const int pad = 40, nx = 240 + 2 * pad, nz = 120 + pad;
  Medium medium = LayeredMedium(h, nx, nz, pad);
  float vmax = *std::max_element(medium.velocity.begin(), medium.velocity.end());
  const double dt = ChooseTimeStep(h, vmax, 0.004, 0.5);
  const int steps = int(0.8 / dt);
  struct Pair {
    double sx, sz, rx, rz;
  };
  // On grid nodes, then off the grid (bilinear injection and sampling), shallow and deep.
  for (Pair p : {Pair{pad + 30.0, 2.0, pad + 200.0, 3.0}, Pair{pad + 41.3, 1.6, pad + 187.7, 2.4},
                 Pair{pad + 60.0, 90.0, pad + 170.0, 5.0}}) {
    auto forward = RunPointToPoint(medium, dt, fpeak, steps, p.sx, p.sz, p.rx, p.rz);
    auto reverse = RunPointToPoint(medium, dt, fpeak, steps, p.rx, p.rz, p.sx, p.sz);
    std::vector<double> a(forward.begin(), forward.end()), b(reverse.begin(), reverse.end());
    double error = RelativeL2(a, b);
    std::printf(
        "reciprocity: source (%.1f, %.1f) receiver (%.1f, %.1f) cells: relative L2 "
        "difference %.2e\n",
        p.sx, p.sz, p.rx, p.rz, error);
    CHECK(error < 0.01);
  }
}

// Energy of the difference between a run with the absorbing layer close to the source and
// a reference on a grid large enough that nothing returns within the recording time,
// relative to the energy of the reference, over a line of surface receivers.
TEST_CASE("absorbing layer reflects less than 1% of the energy") {
  const double h = 10, fpeak = 10, t_end = 1.6;
  const double vmax = 2500;
  const int pad = std::max(20, int(std::ceil(1.5 * vmax / fpeak / h)));  // the resample rule
  const int nx = 160, nz = 80;                                           // interior: 1600 m x 800 m
  auto make = [&](int extra) {
    Medium medium;
    medium.nx = nx + 2 * pad + 2 * extra;
    medium.nz = nz + pad + extra;
    medium.h = h;
    medium.velocity.resize(size_t(medium.nx) * medium.nz);
    for (int ix = 0; ix < medium.nx; ++ix) {
      for (int iz = 0; iz < medium.nz; ++iz) {
        medium.velocity[size_t(ix) * medium.nz + iz] =
            float(iz * h < 30 ? 1500 : 2000 + iz * h * 0.5);
      }
    }
    for (float& v : medium.velocity) v = std::min(v, float(vmax));
    medium.absorb_left = medium.absorb_right = medium.absorb_bottom = pad;
    medium.free_surface = true;
    return medium;
  };
  const int extra = int(t_end * vmax / h / 2) + 10;
  Medium small = make(0), large = make(extra);
  const double dt = ChooseTimeStep(h, vmax, 0.004, 0.5);
  auto record = [&](const Medium& medium, int offset) {
    AcousticSolver solver(medium, dt, 2);
    // Source near the right edge of the interior, receivers along the surface to its left.
    const int sx = offset + pad + nx - 20;
    solver.SetSource(sx, 2);
    std::vector<double> samples;
    const double lag = 1.5 / fpeak;
    for (int n = 0; - lag + n * dt < t_end; ++n) {
      solver.Step(float(Ricker(-lag + n * dt, fpeak)));
      for (int r = 0; r < nx; r += 4) samples.push_back(solver.Sample(offset + pad + r, 2));
    }
    return samples;
  };
  std::vector<double> near = record(small, 0), reference = record(large, extra);
  REQUIRE(near.size() == reference.size());
  double error = RelativeL2(near, reference);
  std::printf(
      "absorbing layer (%d cells, %.0f m): reflected energy %.3f%% of the direct "
      "(%.1f dB in amplitude)\n",
      pad, pad * h, 100 * error * error, 20 * std::log10(error));
  CHECK(error * error < 0.01);
}

}  // namespace
}  // namespace marmousi
