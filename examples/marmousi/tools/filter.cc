// marmousi-filter: trapezoid band-pass of every trace of a shot file (FFTW3).
//
// The corners default to the shot's peak frequency times 0.3, 0.6, 2.0 and 2.5: the upper
// corners remove what the 4-points-per-wavelength grid propagates with dispersion.
#include "filter.h"

#include <iostream>
#include <sstream>

#include "cli.h"
#include "formats.h"

int main(int argc, char** argv) {
  CLI::App app("Band-pass every trace of a shot file with a trapezoid (FFTW3).", "marmousi-filter");
  std::string in = "raw.bin", out = "filtered.bin";
  std::vector<double> corners;
  app.add_option("--in", in, "input shot file")->capture_default_str();
  app.add_option("--out", out, "output shot file")->capture_default_str();
  app.add_option("--corners", corners,
                 "f1,f2,f3,f4 in Hz (default: 0.3,0.6,2.0,2.5 x the shot's fpeak)")
      ->delimiter(',')
      ->expected(4);
  if (int code = marmousi::ParseArguments(app, argc, argv); code >= 0) return code;

  marmousi::ShotRecord shot;
  if (marmousi::Status s = marmousi::ReadShot(in, &shot); !s.ok()) return marmousi::Fail(app, s);
  std::array<double, 4> f{};
  if (corners.empty()) {
    if (!(shot.fpeak > 0)) {
      return marmousi::Fail(app, in + ": has no peak frequency; give --corners");
    }
    f = {0.3 * shot.fpeak, 0.6 * shot.fpeak, 2.0 * shot.fpeak, 2.5 * shot.fpeak};
  } else {
    for (int i = 0; i < 4; ++i) f[i] = corners[i];
  }
  const double nyquist = 0.5 / shot.dt;
  if (f[3] > nyquist) {
    std::ostringstream message;
    message << "upper corner " << f[3] << " Hz is above the Nyquist frequency " << nyquist
            << " Hz of " << in;
    return marmousi::Fail(app, message.str());
  }
  marmousi::BandPass filter;
  if (marmousi::Status s = filter.Init(shot.ns, shot.dt, f); !s.ok()) {
    std::cerr << "marmousi-filter: usage error: " << s.message() << "\n";
    return marmousi::kExitUsage;
  }
  for (int i = 0; i < shot.ntr; ++i) filter.Apply(shot.trace(i));
  shot.filtered = true;
  shot.corners = f;
  if (marmousi::Status s = marmousi::WriteShot(out, shot); !s.ok()) return marmousi::Fail(app, s);
  std::cout << "marmousi-filter: " << out << ": " << shot.ntr << " traces, corners " << f[0] << "/"
            << f[1] << "/" << f[2] << "/" << f[3] << " Hz\n";
  return 0;
}
