// Trapezoid band-pass filter applied in the frequency domain (FFTW3, single precision).
//
// Amplitude response (zero phase): 0 below f1, rising as sin²(π/2 · (f−f1)/(f2−f1)) up to
// f2, 1 from f2 to f3, falling as cos²(π/2 · (f−f3)/(f4−f3)) to 0 at f4, 0 above. Traces are
// zero-padded to at least twice their length (a size FFTW handles fast) so the filter does
// not wrap the end of a trace onto its start. The plans are created once per filter.
//
// Not thread-safe (FFTW plans and scratch buffers are owned by the object).
#pragma once

#include <array>
#include <vector>

#include "status.h"

namespace marmousi {

class BandPass {
 public:
  BandPass() = default;
  ~BandPass();
  BandPass(const BandPass&) = delete;
  BandPass& operator=(const BandPass&) = delete;

  // Prepares the plans for traces of `ns` samples at interval `dt` (s). The corners must
  // satisfy 0 ≤ f1 < f2 ≤ f3 < f4.
  Status Init(int ns, double dt, const std::array<double, 4>& corners);

  // Filters one trace of ns samples in place.
  void Apply(float* trace);

  // The amplitude response at frequency f (Hz).
  static double Response(double f, const std::array<double, 4>& corners);

 private:
  int ns_ = 0;
  int nfft_ = 0;
  float* time_ = nullptr;
  void* spectrum_ = nullptr;  // fftwf_complex[nfft/2 + 1]
  void* forward_ = nullptr;   // fftwf_plan
  void* inverse_ = nullptr;
  std::vector<float> gain_;  // response / nfft per frequency bin
};

}  // namespace marmousi
