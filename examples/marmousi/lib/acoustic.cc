#include "acoustic.h"

#include <omp.h>
#include <xmmintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numbers>

namespace marmousi {

namespace {

// Target reflection coefficient of the damping layer at normal incidence (the usual
// 3·v·ln(1/R)/(2L) profile); measured reflections are reported in docs/marmousi.md.
constexpr double kDampingReflection = 1e-2;

float* AllocateFloats(size_t count) {
  size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
  auto* data = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (data == nullptr) std::abort();
  std::memset(data, 0, bytes);
  return data;
}

// The 8th-order Laplacian (times h²) at row z of column `c`, with `xm[k]`/`xp[k]` the columns
// k+1 to the left/right.
#define MARMOUSI_LAPLACIAN(c, xm1, xm2, xm3, xm4, xp1, xp2, xp3, xp4, z)                   \
  (2.0f * kStencil[0] * c[z] + kStencil[1] * ((c[z - 1] + c[z + 1]) + (xm1[z] + xp1[z])) + \
   kStencil[2] * ((c[z - 2] + c[z + 2]) + (xm2[z] + xp2[z])) +                             \
   kStencil[3] * ((c[z - 3] + c[z + 3]) + (xm3[z] + xp3[z])) +                             \
   kStencil[4] * ((c[z - 4] + c[z + 4]) + (xm4[z] + xp4[z])))

}  // namespace

double CourantLimit() {
  double sum = std::abs(kStencil[0]);
  for (int k = 1; k <= 4; ++k) sum += 2 * std::abs(kStencil[k]);
  return 2.0 / std::sqrt(2.0 * sum);
}

double ChooseTimeStep(double h, double vmax, double dt_out, double courant) {
  double dt_max = courant * h / vmax;
  double substeps = std::ceil(dt_out / dt_max * (1 - 1e-12));
  return dt_out / std::max(1.0, substeps);
}

double Ricker(double t, double fpeak) {
  double a = std::numbers::pi * fpeak * t;
  a *= a;
  return (1 - 2 * a) * std::exp(-a);
}

AcousticSolver::AcousticSolver(const Medium& medium, double dt, int threads)
    : nx_(medium.nx),
      nz_(medium.nz),
      ld_((kRowBase + medium.nz + kHalo + 15) / 16 * 16),
      threads_(std::max(1, threads)),
      free_surface_(medium.free_surface),
      damp_left_(medium.absorb_left),
      damp_right_(medium.absorb_right),
      damp_top_(medium.free_surface ? 0 : medium.absorb_top),
      damp_bottom_(medium.absorb_bottom),
      field_size_(size_t(medium.nx + 2 * kHalo) * ld_) {
  p_ = AllocateFloats(field_size_);
  q_ = AllocateFloats(field_size_);
  vv_ = AllocateFloats(field_size_);
  damp_ = AllocateFloats(field_size_);
  const double ln_inverse_r = std::log(1 / kDampingReflection);
  auto profile = [&](int depth_in_layer, int width) {
    // σ(d) = σmax (d/L)², σmax = 3 v ln(1/R) / (2 L h); returned without the v factor.
    if (depth_in_layer <= 0 || width <= 0) return 0.0;
    double d = double(depth_in_layer) / width;
    return 3.0 * ln_inverse_r / (2.0 * width * medium.h) * d * d;
  };
  for (int ix = 0; ix < nx_; ++ix) {
    int dx = std::max(damp_left_ - ix, ix - (nx_ - 1 - damp_right_));
    double sx = profile(dx, dx == damp_left_ - ix ? damp_left_ : damp_right_);
    for (int iz = 0; iz < nz_; ++iz) {
      double v = medium.velocity[size_t(ix) * nz_ + iz];
      vv_[Index(ix, iz)] = float(v * dt / medium.h * v * dt / medium.h);
      int dz = std::max(damp_top_ - iz, iz - (nz_ - 1 - damp_bottom_));
      double sz = profile(dz, dz == damp_top_ - iz ? damp_top_ : damp_bottom_);
      damp_[Index(ix, iz)] = float((sx + sz) * v * dt);
    }
  }
}

AcousticSolver::~AcousticSolver() {
  std::free(p_);
  std::free(q_);
  std::free(vv_);
  std::free(damp_);
}

void AcousticSolver::SetSource(double x, double z) {
  source_.clear();
  int ix = int(std::floor(x)), iz = int(std::floor(z));
  double fx = x - ix, fz = z - iz;
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 2; ++k) {
      double w = (i ? fx : 1 - fx) * (k ? fz : 1 - fz);
      int cx = ix + i, cz = iz + k;
      if (w > 0 && cx >= 0 && cx < nx_ && cz >= 0 && cz < nz_) {
        source_.push_back({cx, cz, float(w)});
      }
    }
  }
}

void AcousticSolver::UpdateColumn(int ix, const float* p, float* q_field, float s) const {
  const float* __restrict c = p + Index(ix, 0);
  const float* __restrict xm1 = c - ld_;
  const float* __restrict xm2 = c - 2 * ld_;
  const float* __restrict xm3 = c - 3 * ld_;
  const float* __restrict xm4 = c - 4 * ld_;
  const float* __restrict xp1 = c + ld_;
  const float* __restrict xp2 = c + 2 * ld_;
  const float* __restrict xp3 = c + 3 * ld_;
  const float* __restrict xp4 = c + 4 * ld_;
  const float* __restrict vv = vv_ + Index(ix, 0);
  const float* __restrict damp = damp_ + Index(ix, 0);
  float* __restrict q = q_field + Index(ix, 0);

  auto damped = [&](int z0, int z1) {
#pragma omp simd
    for (int z = z0; z < z1; ++z) {
      float lap = MARMOUSI_LAPLACIAN(c, xm1, xm2, xm3, xm4, xp1, xp2, xp3, xp4, z);
      float a = damp[z];
      q[z] = (2.0f * c[z] - (1.0f - a) * q[z] + vv[z] * lap) / (1.0f + a);
    }
  };
  bool side = ix < damp_left_ || ix >= nx_ - damp_right_;
  if (side) {
    damped(0, nz_);
  } else {
    damped(0, damp_top_);
    const int z1 = nz_ - damp_bottom_;
#pragma omp simd aligned(c, vv, q : 64)
    for (int z = damp_top_; z < z1; ++z) {
      float lap = MARMOUSI_LAPLACIAN(c, xm1, xm2, xm3, xm4, xp1, xp2, xp3, xp4, z);
      q[z] = 2.0f * c[z] - q[z] + vv[z] * lap;
    }
    damped(z1, nz_);
  }
  for (const Injection& in : source_) {
    if (in.ix == ix) q[in.iz] += in.weight * vv[in.iz] * s;
  }
  if (free_surface_) {
    q[0] = 0;
    for (int k = 1; k <= kHalo; ++k) q[-k] = -q[k];
  }
}

void AcousticSolver::Step(float s) {
  Run(1, &s, nullptr);
}

void AcousticSolver::Run(int64_t n, const float* sources, const std::function<void()>& observe) {
  if (n <= 0) return;
  float* const p0 = p_;
  float* const q0 = q_;
  const int64_t step0 = step_;
#pragma omp parallel num_threads(threads_)
  {
    // Flush-to-zero and denormals-are-zero: decaying waves in the absorbing layer would
    // otherwise reach denormals, which cost ~100 cycles each.
    _mm_setcsr(_mm_getcsr() | 0x8040);
    // Each thread swaps its own copy of the two field pointers, so no thread waits for
    // another to publish them.
    float* p = p0;
    float* q = q0;
    for (int64_t i = 0; i < n; ++i) {
      // The barrier at the end of the loop completes step i everywhere.
#pragma omp for schedule(static)
      for (int ix = 0; ix < nx_; ++ix) UpdateColumn(ix, p, q, sources[i]);
      std::swap(p, q);
      // No barrier: step i+1 writes the other field, and step i+2, which overwrites this
      // one, starts only after the barrier that this thread reaches once `observe` is done.
#pragma omp master
      {
        p_ = p;
        q_ = q;
        step_ = step0 + i + 1;
        if (observe) observe();
      }
    }
  }
}

float AcousticSolver::Sample(double x, double z) const {
  int ix = int(std::floor(x)), iz = int(std::floor(z));
  double fx = x - ix, fz = z - iz;
  double sum = 0;
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 2; ++k) {
      double w = (i ? fx : 1 - fx) * (k ? fz : 1 - fz);
      int cx = ix + i, cz = iz + k;
      if (w > 0 && cx >= 0 && cx < nx_ && cz >= 0 && cz < nz_) sum += w * p_[Index(cx, cz)];
    }
  }
  return float(sum);
}

void AcousticSolver::Restore(int64_t step, const float* current, const float* previous) {
  std::memcpy(p_, current, field_size_ * sizeof(float));
  std::memcpy(q_, previous, field_size_ * sizeof(float));
  step_ = step;
}

}  // namespace marmousi
