#include "filter.h"

#include <fftw3.h>

#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

namespace marmousi {

namespace {

// Smallest n ≥ minimum whose only prime factors are 2, 3 and 5 (fast FFTW sizes).
int FastFftSize(int minimum) {
  for (int n = std::max(minimum, 2);; ++n) {
    int m = n;
    for (int p : {2, 3, 5}) {
      while (m % p == 0) m /= p;
    }
    if (m == 1) return n;
  }
}

}  // namespace

BandPass::~BandPass() {
  if (forward_ != nullptr) fftwf_destroy_plan(static_cast<fftwf_plan>(forward_));
  if (inverse_ != nullptr) fftwf_destroy_plan(static_cast<fftwf_plan>(inverse_));
  fftwf_free(time_);
  fftwf_free(spectrum_);
}

double BandPass::Response(double f, const std::array<double, 4>& c) {
  const double half_pi = std::numbers::pi / 2;
  f = std::abs(f);
  if (f <= c[0] || f >= c[3]) return 0;
  if (f < c[1]) {
    double s = std::sin(half_pi * (f - c[0]) / (c[1] - c[0]));
    return s * s;
  }
  if (f <= c[2]) return 1;
  double s = std::cos(half_pi * (f - c[2]) / (c[3] - c[2]));
  return s * s;
}

Status BandPass::Init(int ns, double dt, const std::array<double, 4>& corners) {
  if (!(corners[0] >= 0 && corners[0] < corners[1] && corners[1] <= corners[2] &&
        corners[2] < corners[3])) {
    return Status::Error("filter corners must satisfy 0 <= f1 < f2 <= f3 < f4");
  }
  if (ns <= 0 || !(dt > 0)) return Status::Error("filter needs ns > 0 and dt > 0");
  ns_ = ns;
  nfft_ = FastFftSize(2 * ns);
  const int bins = nfft_ / 2 + 1;
  time_ = fftwf_alloc_real(nfft_);
  spectrum_ = fftwf_alloc_complex(bins);
  auto* spectrum = static_cast<fftwf_complex*>(spectrum_);
  // FFTW_ESTIMATE: no timing runs, so the plan (and the result) does not depend on load.
  forward_ = fftwf_plan_dft_r2c_1d(nfft_, time_, spectrum, FFTW_ESTIMATE);
  inverse_ = fftwf_plan_dft_c2r_1d(nfft_, spectrum, time_, FFTW_ESTIMATE);
  if (forward_ == nullptr || inverse_ == nullptr) {
    return Status::Error("FFTW could not plan a transform of size " + std::to_string(nfft_));
  }
  gain_.resize(bins);
  for (int k = 0; k < bins; ++k) {
    gain_[k] = float(Response(k / (nfft_ * dt), corners) / nfft_);
  }
  return Status::Ok();
}

void BandPass::Apply(float* trace) {
  std::memcpy(time_, trace, sizeof(float) * ns_);
  std::memset(time_ + ns_, 0, sizeof(float) * (nfft_ - ns_));
  fftwf_execute(static_cast<fftwf_plan>(forward_));
  auto* spectrum = static_cast<fftwf_complex*>(spectrum_);
  for (size_t k = 0; k < gain_.size(); ++k) {
    spectrum[k][0] *= gain_[k];
    spectrum[k][1] *= gain_[k];
  }
  fftwf_execute(static_cast<fftwf_plan>(inverse_));
  std::memcpy(trace, time_, sizeof(float) * ns_);
}

}  // namespace marmousi
