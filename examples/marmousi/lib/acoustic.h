// AcousticSolver: 2D constant-density acoustic finite differences, the Marmousi kernel.
//
// Equation: (1/v²) ∂²p/∂t² − ∇²p = s(t) δ(x − xs), discretised 2nd order in time and 8th
// order in space on a square grid (spacing h). The update is
//   p⁺ = 2p − p⁻ + (v dt/h)² · (L₈ p + s(tₙ)/h² · h²)
// where L₈ is the 8th-order Laplacian times h². p⁺ overwrites p⁻ in place, so a step reads
// p, p⁻ and the precomputed (v dt/h)² and writes p⁺: 16 bytes of memory traffic per cell.
//
// Boundaries: a damping layer (∂²p/∂t² + 2σ ∂p/∂t = …, σ growing quadratically) on the
// sides and bottom (and the top when there is no free surface); the damped update runs only
// on the columns and rows inside the layer, the interior loop has no branches. The free
// surface p = 0 sits on row 0 and is imposed by antisymmetric ghost rows above it.
//
// Threading: OpenMP over x columns (static schedule). Every cell is computed by the same
// arithmetic whatever the thread count, so results are bit-identical for 1 or N threads and
// across checkpoint/restart. The solver flushes denormals to zero in its threads.
//
// Not thread-safe: one thread calls the methods; the solver uses OpenMP internally.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace marmousi {

// 8th-order central second-derivative coefficients c0..c4.
inline constexpr float kStencil[5] = {-205.0f / 72.0f, 8.0f / 5.0f, -1.0f / 5.0f, 8.0f / 315.0f,
                                      -1.0f / 560.0f};

// Stability limit of v·dt/h for this scheme in 2D: 2 / sqrt(2 · Σ|cₖ| over the stencil).
double CourantLimit();

// Largest dt ≤ courant·h/vmax that divides `dt_out` an integer number of times.
double ChooseTimeStep(double h, double vmax, double dt_out, double courant);

// Ricker wavelet with peak frequency `fpeak` (Hz), centred on t = 0.
double Ricker(double t, double fpeak);

struct Medium {
  int nx = 0;
  int nz = 0;
  double h = 0;
  std::vector<float> velocity;  // nx * nz, index ix * nz + iz (depth fastest)
  int absorb_left = 0, absorb_right = 0, absorb_bottom = 0, absorb_top = 0;  // cells
  bool free_surface = true;                                                  // p = 0 on row 0
};

class AcousticSolver {
 public:
  // `dt` must satisfy the Courant limit (checked by the caller; see ChooseTimeStep).
  AcousticSolver(const Medium& medium, double dt, int threads);
  ~AcousticSolver();
  AcousticSolver(const AcousticSolver&) = delete;
  AcousticSolver& operator=(const AcousticSolver&) = delete;

  // Point source at grid coordinates (x, z in cells, fractional allowed: bilinear weights).
  void SetSource(double x, double z);

  // Advances one time step, injecting source amplitude `s` = s(tₙ) at the source point.
  void Step(float s);

  // Advances `n` steps in one parallel region (one barrier per step instead of a fork and a
  // join), injecting `sources[i]` at step i. After each step `observe` (if set) runs on one
  // thread while the others already compute the next step: it may read the current field
  // (Sample, value, current(), step()) and nothing else of the solver. Same arithmetic as n
  // calls of Step, so the same fields bit for bit.
  void Run(int64_t n, const float* sources, const std::function<void()>& observe);

  // Bilinear interpolation of the current wavefield at grid coordinates (x, z).
  float Sample(double x, double z) const;

  int64_t step() const { return step_; }
  int nx() const { return nx_; }
  int nz() const { return nz_; }

  // Wavefield state for checkpoints: the current and previous fields in the solver's padded
  // layout (state_size() floats each) and the step counter.
  size_t state_size() const { return field_size_; }
  const float* current() const { return p_; }
  const float* previous() const { return q_; }
  void Restore(int64_t step, const float* current, const float* previous);

  float value(int ix, int iz) const { return p_[Index(ix, iz)]; }

 private:
  static constexpr int kHalo = 4;      // stencil half-width (columns left/right, rows below)
  static constexpr int kRowBase = 16;  // row offset of z = 0, keeps rows 64-byte aligned

  size_t Index(int ix, int iz) const { return size_t(ix + kHalo) * ld_ + kRowBase + iz; }
  void UpdateColumn(int ix, const float* p, float* q, float s) const;

  struct Injection {
    int ix, iz;
    float weight;
  };

  int nx_, nz_, ld_;
  int threads_;
  bool free_surface_;
  int damp_left_, damp_right_, damp_top_, damp_bottom_;
  size_t field_size_;
  float* p_;     // current field
  float* q_;     // previous field, overwritten by the next one
  float* vv_;    // (v dt / h)²
  float* damp_;  // σ dt inside the absorbing layer, 0 elsewhere (read only there)
  std::vector<Injection> source_;
  int64_t step_ = 0;
};

}  // namespace marmousi
