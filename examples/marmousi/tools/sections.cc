// marmousi-sections: shot SEG-Y files → zero-offset and near-offset sections (SEG-Y + PNG)
// and a PNG of the velocity model.
//
// Zero-offset section: from each shot the trace with the smallest |offset|, laid at the
// source position (cdpx = sx). Near-offset section: the trace whose offset is closest to
// --offset, laid at its midpoint. Both keep the true sx/gx/offset in their headers and get
// new tracl (1..n in x order), cdp = round(cdpx / cdp-spacing) and cdpt = 1.
// PNGs: t^gain amplitude scaling for display only, clipped at a percentile of |amplitude|;
// sparse sections (fewer than one trace per 8 pixels) are drawn as wiggles.
#include <glob.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>

#include "cli.h"
#include "formats.h"
#include "image.h"
#include "segy.h"

namespace {

struct PickedTrace {
  marmousi::SegyTraceHeader header;
  std::vector<float> samples;
};

marmousi::Status ExpandPatterns(const std::vector<std::string>& patterns,
                                std::vector<std::string>* paths) {
  for (const std::string& pattern : patterns) {
    glob_t found{};
    int rc = glob(pattern.c_str(), 0, nullptr, &found);
    if (rc == 0) {
      for (size_t i = 0; i < found.gl_pathc; ++i) paths->push_back(found.gl_pathv[i]);
    }
    globfree(&found);
    if (rc != 0) return marmousi::Status::Error(pattern + ": no such shot file");
  }
  std::sort(paths->begin(), paths->end());
  paths->erase(std::unique(paths->begin(), paths->end()), paths->end());
  return marmousi::Status::Ok();
}

double Percentile(std::vector<float> magnitudes, double percentile) {
  if (magnitudes.empty()) return 1;
  size_t k = std::min(magnitudes.size() - 1, size_t(percentile / 100 * magnitudes.size()));
  std::nth_element(magnitudes.begin(), magnitudes.begin() + k, magnitudes.end());
  return magnitudes[k] > 0 ? magnitudes[k] : 1;
}

marmousi::Status WriteSection(const std::string& segy_path, const std::string& png_path,
                              const std::string& title, std::vector<PickedTrace> traces, int ns,
                              int dt_us, double cdp_spacing, double gain, double clip_percentile,
                              int width) {
  std::sort(traces.begin(), traces.end(), [](const PickedTrace& a, const PickedTrace& b) {
    return a.header.cdpx < b.header.cdpx;
  });
  marmousi::SegyData segy;
  segy.ns = ns;
  segy.dt_us = dt_us;
  std::vector<std::string> lines = {
      "SYNTHETIC MARMOUSI " + title + " - FVCE MARMOUSI EXAMPLE (MARMOUSI-SECTIONS)",
      "MODEL: IFP MARMOUSI (1988); BOURGEOIS ET AL. 1991; VERSTEEG 1994",
      "ONE TRACE PER SHOT, SORTED BY CDPX; SX, GX, OFFSET ARE THE TRUE GEOMETRY",
      "CDP = ROUND(CDPX / " + std::to_string(cdp_spacing) + " M); SCALCO -100, SCALEL -100",
      "TIME 0 = PEAK OF THE ZERO-PHASE RICKER SOURCE; FORMAT 5 (IEEE FLOAT)",
      "SEG-Y REV 1.0, TEXTUAL HEADER IN EBCDIC"};
  lines.resize(39);
  lines.push_back("END EBCDIC");
  segy.text = marmousi::TextualHeader(lines);
  std::vector<double> positions;
  for (size_t i = 0; i < traces.size(); ++i) {
    marmousi::SegyTraceHeader h = traces[i].header;
    h.tracl = int(i) + 1;
    h.cdp = int(std::lround(h.cdpx / cdp_spacing));
    h.cdpt = 1;
    segy.headers.push_back(h);
    segy.samples.insert(segy.samples.end(), traces[i].samples.begin(), traces[i].samples.end());
    positions.push_back(h.cdpx);
  }
  if (marmousi::Status s = marmousi::WriteSegy(segy_path, segy); !s.ok()) return s;

  const double dt = dt_us * 1e-6;
  std::vector<float> display = segy.samples, magnitudes;
  for (size_t i = 0; i < display.size(); ++i) {
    display[i] *= float(std::pow((i % ns) * dt, gain));
    magnitudes.push_back(std::abs(display[i]));
  }
  const double clip = Percentile(magnitudes, clip_percentile);
  const int ntr = int(traces.size());
  const double spacing = ntr > 1 ? (positions.back() - positions.front()) / (ntr - 1) : 100;
  marmousi::PlotSpec spec;
  spec.title = title;
  spec.x_label = "X (m)";
  spec.y_label = "TIME (s)";
  spec.bar_label = "AMPLITUDE";
  spec.width = width;
  spec.height = 600;
  spec.x0 = positions.front() - spacing / 2;
  spec.x1 = positions.back() + spacing / 2;
  spec.y0 = 0;
  spec.y1 = (ns - 1) * dt;
  spec.colors = marmousi::ColorMap::kGrey;
  spec.value_min = -clip;
  spec.value_max = clip;
  if (width / ntr >= 8) return marmousi::PlotWiggles(png_path, spec, positions, ns, display);
  for (float& v : display) v = float(std::clamp(double(v), -clip, clip));
  return marmousi::PlotRaster(png_path, spec, ntr, ns, display);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Build zero- and near-offset sections (SEG-Y + PNG) from shot SEG-Y files.",
               "marmousi-sections");
  std::vector<std::string> patterns;
  std::string grid_path, zero_out = "zero-offset.sgy", near_out = "near-offset.sgy";
  std::string zero_png = "zero-offset.png", near_png = "near-offset.png",
              velocity_png = "velocity.png";
  double offset = 200, cdp_spacing = 12.5, gain = 1, clip_percentile = 98;
  int width = 900;
  app.add_option("--shots", patterns, "shot SEG-Y files or glob patterns (quote them)")->required();
  app.add_option("--grid", grid_path, "grid file; when given, also writes the velocity PNG");
  app.add_option("--offset", offset, "offset of the near-offset section (m)")
      ->capture_default_str();
  app.add_option("--cdp-spacing", cdp_spacing, "CDP interval for the cdp header (m)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--zero-offset-out", zero_out, "zero-offset SEG-Y")->capture_default_str();
  app.add_option("--near-offset-out", near_out, "near-offset SEG-Y")->capture_default_str();
  app.add_option("--zero-offset-png", zero_png, "zero-offset image")->capture_default_str();
  app.add_option("--near-offset-png", near_png, "near-offset image")->capture_default_str();
  app.add_option("--velocity-png", velocity_png, "velocity image")->capture_default_str();
  app.add_option("--gain", gain, "display gain exponent: amplitude x t^gain")
      ->capture_default_str();
  app.add_option("--clip-percentile", clip_percentile, "display clip, percentile of |amplitude|")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 100.0));
  app.add_option("--width", width, "plot width in pixels")
      ->capture_default_str()
      ->check(CLI::Range(200, 8000));
  if (int code = marmousi::ParseArguments(app, argc, argv); code >= 0) return code;

  std::vector<std::string> paths;
  if (marmousi::Status s = ExpandPatterns(patterns, &paths); !s.ok()) {
    return marmousi::Fail(app, s);
  }
  std::vector<PickedTrace> zero, near;
  int ns = 0, dt_us = 0;
  for (const std::string& path : paths) {
    marmousi::SegyData shot;
    if (marmousi::Status s = marmousi::ReadSegy(path, &shot); !s.ok()) {
      return marmousi::Fail(app, s);
    }
    if (shot.headers.empty()) return marmousi::Fail(app, path + ": has no traces");
    if (ns == 0) {
      ns = shot.ns;
      dt_us = shot.dt_us;
    } else if (shot.ns != ns || shot.dt_us != dt_us) {
      return marmousi::Fail(app, path + ": has " + std::to_string(shot.ns) + " samples at " +
                                     std::to_string(shot.dt_us) + " us, unlike " + paths[0]);
    }
    size_t nearest = 0, chosen = 0;
    for (size_t i = 0; i < shot.headers.size(); ++i) {
      if (std::abs(shot.headers[i].offset) < std::abs(shot.headers[nearest].offset)) nearest = i;
      if (std::abs(std::abs(shot.headers[i].offset) - offset) <
          std::abs(std::abs(shot.headers[chosen].offset) - offset)) {
        chosen = i;
      }
    }
    auto pick = [&](size_t i, double position) {
      PickedTrace t;
      t.header = shot.headers[i];
      t.header.cdpx = position;
      t.samples.assign(shot.samples.begin() + i * ns, shot.samples.begin() + (i + 1) * ns);
      return t;
    };
    zero.push_back(pick(nearest, shot.headers[nearest].sx));
    near.push_back(pick(chosen, 0.5 * (shot.headers[chosen].sx + shot.headers[chosen].gx)));
  }
  char near_title[64];
  std::snprintf(near_title, sizeof near_title, "NEAR-OFFSET SECTION, OFFSET %.0f m", offset);
  marmousi::Status s = WriteSection(zero_out, zero_png, "ZERO-OFFSET SECTION (NEAREST TRACE)", zero,
                                    ns, dt_us, cdp_spacing, gain, clip_percentile, width);
  if (s.ok()) {
    s = WriteSection(near_out, near_png, near_title, near, ns, dt_us, cdp_spacing, gain,
                     clip_percentile, width);
  }
  if (!s.ok()) return marmousi::Fail(app, s);

  if (!grid_path.empty()) {
    marmousi::VelocityGrid grid;
    if (marmousi::Status g = marmousi::ReadGrid(grid_path, &grid); !g.ok()) {
      return marmousi::Fail(app, g);
    }
    const int columns = grid.nx - 2 * grid.pad, rows = grid.nz - grid.pad;
    std::vector<float> model(size_t(columns) * rows);
    for (int ix = 0; ix < columns; ++ix) {
      for (int iz = 0; iz < rows; ++iz) model[size_t(ix) * rows + iz] = grid.at(ix + grid.pad, iz);
    }
    marmousi::PlotSpec spec;
    spec.title =
        "MARMOUSI P-WAVE VELOCITY (GRID " + std::to_string(int(std::lround(grid.h))) + " m)";
    spec.x_label = "X (m)";
    spec.y_label = "DEPTH (m)";
    spec.bar_label = "m/s";
    spec.x0 = -grid.h / 2;
    spec.x1 = (columns - 0.5) * grid.h;
    spec.y0 = -grid.h / 2;
    spec.y1 = (rows - 0.5) * grid.h;
    spec.width = width;
    spec.height = int(std::lround(width * (spec.y1 - spec.y0) / (spec.x1 - spec.x0)));
    spec.colors = marmousi::ColorMap::kVelocity;
    spec.value_min = *std::min_element(model.begin(), model.end());
    spec.value_max = *std::max_element(model.begin(), model.end());
    if (marmousi::Status g = marmousi::PlotRaster(velocity_png, spec, columns, rows, model);
        !g.ok()) {
      return marmousi::Fail(app, g);
    }
  }
  std::cout << "marmousi-sections: " << paths.size() << " shots -> " << zero_out << ", " << near_out
            << "\n";
  return 0;
}
