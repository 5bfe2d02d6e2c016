// marmousi-record: a shot file → SEG-Y rev1 (IEEE float, EBCDIC textual header).
//
// One trace per receiver, in the order of the shot file (farthest offset first). CMP numbers
// count midpoints every half receiver interval from x = 0: cdp = round(2·xmid / dgx).
#include <cmath>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "formats.h"
#include "segy.h"

int main(int argc, char** argv) {
  CLI::App app("Write a shot file as SEG-Y rev1 (IEEE float, EBCDIC textual header).",
               "marmousi-record");
  std::string in = "filtered.bin", out = "shot.sgy";
  app.add_option("--in", in, "input shot file")->capture_default_str();
  app.add_option("--out", out, "output SEG-Y file")->capture_default_str();
  if (int code = marmousi::ParseArguments(app, argc, argv); code >= 0) return code;

  marmousi::ShotRecord shot;
  if (marmousi::Status s = marmousi::ReadShot(in, &shot); !s.ok()) return marmousi::Fail(app, s);
  const double dt_us = shot.dt * 1e6;
  if (std::abs(dt_us - std::round(dt_us)) > 1e-6 || !(shot.dgx > 0)) {
    return marmousi::Fail(app, in + ": sample interval is not a whole number of microseconds "
                                    "or receiver interval is not positive");
  }
  auto format = [](const char* pattern, auto... values) {
    char line[128];
    std::snprintf(line, sizeof line, pattern, values...);
    return std::string(line);
  };
  marmousi::SegyData segy;
  segy.ns = shot.ns;
  segy.dt_us = int(std::lround(dt_us));
  std::vector<std::string> lines = {
      "SYNTHETIC MARMOUSI SHOT GATHER - FVCE MARMOUSI EXAMPLE (MARMOUSI-RECORD)",
      "MODEL: IFP MARMOUSI (1988), 9.2 KM X 3.0 KM; BOURGEOIS ET AL. 1991",
      "MODELLING: 2D ACOUSTIC CONSTANT DENSITY, FD O(2,8), FREE SURFACE ON TOP",
      format("SHOT %d  SX %.2f M  SOURCE DEPTH %.2f M", shot.shot_index + 1, shot.sx, shot.sz),
      format("RECEIVERS %d EVERY %.2f M, GX %.2f TO %.2f M, DEPTH %.2f M", shot.ntr, shot.dgx,
             shot.gx0, shot.gx(shot.ntr - 1), shot.gz),
      format("SOURCE RICKER, PEAK %.2f HZ, ZERO PHASE: TIME 0 = WAVELET PEAK", shot.fpeak),
      shot.filtered ? format("BAND-PASS %.1f/%.1f/%.1f/%.1f HZ (COSINE-SQUARED TAPERS)",
                             shot.corners[0], shot.corners[1], shot.corners[2], shot.corners[3])
                    : std::string("NO FILTER APPLIED"),
      format("SAMPLES %d AT %d US, FORMAT 5 (IEEE FLOAT), BIG-ENDIAN", shot.ns, segy.dt_us),
      "COORDINATES: SCALCO -100 (CM), SCALEL -100; OFFSET IN M, POSITIVE",
      "TRACE ORDER: FARTHEST OFFSET FIRST; CDP = ROUND(2 XMID / DGX)",
      "SEG-Y REV 1.0, TEXTUAL HEADER IN EBCDIC",
  };
  lines.resize(39);
  lines.push_back("END EBCDIC");
  segy.text = marmousi::TextualHeader(lines);
  for (int i = 0; i < shot.ntr; ++i) {
    marmousi::SegyTraceHeader h;
    h.tracl = i + 1;
    h.fldr = shot.shot_index + 1;
    h.tracf = i + 1;
    h.sx = shot.sx;
    h.gx = shot.gx(i);
    h.offset = int(std::lround(std::abs(h.sx - h.gx)));
    h.cdpx = 0.5 * (h.sx + h.gx);
    h.cdp = int(std::lround(2 * h.cdpx / shot.dgx));
    h.cdpt = 1;
    h.source_depth = shot.sz;
    h.receiver_depth = shot.gz;
    segy.headers.push_back(h);
  }
  segy.samples = shot.samples;
  if (marmousi::Status s = marmousi::WriteSegy(out, segy); !s.ok()) {
    return marmousi::Fail(app, s);
  }
  std::cout << "marmousi-record: " << out << ": " << shot.ntr << " traces, " << shot.ns
            << " samples at " << segy.dt_us << " us\n";
  return 0;
}
