// Raster plots with axes and a colour bar, written as PNG (libpng). No font files: text is
// drawn with a built-in 5×7 bitmap font (digits, capitals, a few lower-case unit letters).
//
// PlotRaster draws `values` (columns × rows, row fastest) over the data rectangle
// [x0, x1] × [y0, y1] with y growing downwards (depth or time), ticks labelled in data units
// on the left and bottom axes, a title above and a colour bar on the right.
// PlotWiggles draws sparse traces as wiggles with the positive lobes filled (variable area).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace marmousi {

enum class ColorMap { kGrey, kSeismic, kVelocity };

struct PlotSpec {
  std::string title;
  std::string x_label, y_label, bar_label;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;  // data extent of the raster / traces
  int width = 900, height = 500;          // plot area in pixels
  ColorMap colors = ColorMap::kGrey;
  double value_min = -1, value_max = 1;  // colour range (values are clipped to it)
};

// `columns` × `rows` samples; column c sits at x0 + (c + 0.5)·(x1 − x0)/columns.
Status PlotRaster(const std::string& path, const PlotSpec& spec, int columns, int rows,
                  const std::vector<float>& values);

// Traces at positions `trace_x` (data units), each of `rows` samples over [y0, y1];
// amplitudes are clipped to ±value_max, which is drawn as a deflection of 0.6 mean trace
// spacings.
Status PlotWiggles(const std::string& path, const PlotSpec& spec,
                   const std::vector<double>& trace_x, int rows, const std::vector<float>& values);

}  // namespace marmousi
