#include "image.h"

#include <png.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>

#include "files.h"

namespace marmousi {

namespace {

using Rgb = std::array<uint8_t, 3>;
constexpr Rgb kBlack = {0, 0, 0};
constexpr Rgb kWhite = {255, 255, 255};

// 5×7 glyphs, one string per row, '#' = ink.
const std::map<char, std::array<const char*, 7>>& Font() {
  static const std::map<char, std::array<const char*, 7>> font = {
      {'0', {" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "}},
      {'1', {"  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}},
      {'2', {" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"}},
      {'3', {"#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "}},
      {'4', {"   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "}},
      {'5', {"#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "}},
      {'6', {"  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "}},
      {'7', {"#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "}},
      {'8', {" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "}},
      {'9', {" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "}},
      {'.', {"     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "}},
      {',', {"     ", "     ", "     ", "     ", " ##  ", "  #  ", " #   "}},
      {'-', {"     ", "     ", "     ", "#####", "     ", "     ", "     "}},
      {'+', {"     ", "  #  ", "  #  ", "#####", "  #  ", "  #  ", "     "}},
      {'(', {"   # ", "  #  ", " #   ", " #   ", " #   ", "  #  ", "   # "}},
      {')', {" #   ", "  #  ", "   # ", "   # ", "   # ", "  #  ", " #   "}},
      {'/', {"     ", "    #", "   # ", "  #  ", " #   ", "#    ", "     "}},
      {':', {"     ", " ##  ", " ##  ", "     ", " ##  ", " ##  ", "     "}},
      {'%', {"##   ", "##  #", "   # ", "  #  ", " #   ", "#  ##", "   ##"}},
      {'=', {"     ", "     ", "#####", "     ", "#####", "     ", "     "}},
      {' ', {"     ", "     ", "     ", "     ", "     ", "     ", "     "}},
      {'A', {" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"}},
      {'B', {"#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "}},
      {'C', {" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "}},
      {'D', {"#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "}},
      {'E', {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"}},
      {'F', {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "}},
      {'G', {" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"}},
      {'H', {"#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"}},
      {'I', {" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}},
      {'J', {"  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "}},
      {'K', {"#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"}},
      {'L', {"#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"}},
      {'M', {"#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"}},
      {'N', {"#   #", "#   #", "##  #", "# # #", "#  ##", "#   #", "#   #"}},
      {'O', {" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "}},
      {'P', {"#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "}},
      {'Q', {" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"}},
      {'R', {"#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"}},
      {'S', {" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "}},
      {'T', {"#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "}},
      {'U', {"#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "}},
      {'V', {"#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "}},
      {'W', {"#   #", "#   #", "#   #", "# # #", "# # #", "# # #", " # # "}},
      {'X', {"#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"}},
      {'Y', {"#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "}},
      {'Z', {"#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####"}},
      {'m', {"     ", "     ", "## # ", "# # #", "# # #", "#   #", "#   #"}},
      {'s', {"     ", "     ", " ####", "#    ", " ### ", "    #", "#### "}},
      {'k', {"#    ", "#    ", "#  # ", "# #  ", "##   ", "# #  ", "#  # "}},
      {'z', {"     ", "     ", "#####", "   # ", "  #  ", " #   ", "#####"}},
      {'x', {"     ", "     ", "#   #", " # # ", "  #  ", " # # ", "#   #"}},
      {'t', {" #   ", " #   ", "#### ", " #   ", " #   ", " #  #", "  ## "}},
  };
  return font;
}

class Canvas {
 public:
  Canvas(int width, int height)
      : width_(width), height_(height), rgb_(size_t(width) * height * 3, 255) {}

  void Set(int x, int y, Rgb color) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    uint8_t* p = &rgb_[(size_t(y) * width_ + x) * 3];
    p[0] = color[0];
    p[1] = color[1];
    p[2] = color[2];
  }
  void Fill(int x0, int y0, int x1, int y1, Rgb color) {
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) Set(x, y, color);
    }
  }
  void Frame(int x0, int y0, int x1, int y1) {
    Fill(x0 - 1, y0 - 1, x1 + 1, y0, kBlack);
    Fill(x0 - 1, y1, x1 + 1, y1 + 1, kBlack);
    Fill(x0 - 1, y0, x0, y1, kBlack);
    Fill(x1, y0, x1 + 1, y1, kBlack);
  }
  // Text with its top-left corner at (x, y), `scale` pixels per font dot. Unknown
  // characters draw as a box so a missing glyph is visible, not silent.
  void Text(int x, int y, const std::string& text, int scale = 2) {
    for (char ch : text) {
      auto it = Font().find(ch);
      if (it == Font().end()) {
        Frame(x + scale, y + scale, x + 5 * scale, y + 7 * scale);
      } else {
        for (int row = 0; row < 7; ++row) {
          for (int col = 0; col < 5; ++col) {
            if (it->second[row][col] == '#') {
              Fill(x + col * scale, y + row * scale, x + (col + 1) * scale, y + (row + 1) * scale,
                   kBlack);
            }
          }
        }
      }
      x += 6 * scale;
    }
  }
  static int TextWidth(const std::string& text, int scale = 2) {
    return int(text.size()) * 6 * scale - scale;
  }
  Status WritePng(const std::string& path) const;

 private:
  int width_, height_;
  std::vector<uint8_t> rgb_;
};

Status Canvas::WritePng(const std::string& path) const {
  const std::string temp = TempPathFor(path);
  std::FILE* file = std::fopen(temp.c_str(), "wb");
  if (file == nullptr) return Status::Error(path + ": cannot create " + temp);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (png == nullptr || info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
    std::remove(temp.c_str());
    return Status::Error(path + ": libpng failed to write the image");
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, width_, height_, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height_; ++y) {
    png_write_row(png, const_cast<png_bytep>(&rgb_[size_t(y) * width_ * 3]));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fclose(file) != 0) {
    std::remove(temp.c_str());
    return Status::Error(path + ": cannot close " + temp);
  }
  return CommitTempFile(temp, path);
}

Rgb Interpolate(const std::vector<std::pair<double, Rgb>>& stops, double t) {
  t = std::clamp(t, 0.0, 1.0);
  for (size_t i = 1; i < stops.size(); ++i) {
    if (t <= stops[i].first) {
      double w = (t - stops[i - 1].first) / (stops[i].first - stops[i - 1].first);
      Rgb c;
      for (int k = 0; k < 3; ++k) {
        c[k] = uint8_t(std::lround((1 - w) * stops[i - 1].second[k] + w * stops[i].second[k]));
      }
      return c;
    }
  }
  return stops.back().second;
}

Rgb MapColor(ColorMap map, double t) {
  static const std::vector<std::pair<double, Rgb>> grey = {{0, kWhite}, {1, kBlack}};
  static const std::vector<std::pair<double, Rgb>> seismic = {{0, {0, 0, 120}},
                                                              {0.25, {40, 80, 255}},
                                                              {0.5, kWhite},
                                                              {0.75, {255, 60, 30}},
                                                              {1, {120, 0, 0}}};
  // Approximation of matplotlib's viridis (perceptually uniform).
  static const std::vector<std::pair<double, Rgb>> velocity = {
      {0, {68, 1, 84}},        {0.125, {71, 44, 122}},  {0.25, {59, 81, 139}},
      {0.375, {44, 113, 142}}, {0.5, {33, 144, 141}},   {0.625, {39, 173, 129}},
      {0.75, {92, 200, 99}},   {0.875, {170, 220, 50}}, {1, {253, 231, 37}}};
  switch (map) {
    case ColorMap::kGrey:
      return Interpolate(grey, t);
    case ColorMap::kSeismic:
      return Interpolate(seismic, t);
    case ColorMap::kVelocity:
      return Interpolate(velocity, t);
  }
  return kBlack;
}

// Tick step of 1, 2 or 5 × 10^k giving at most `max_ticks` intervals over `span`.
double NiceStep(double span, int max_ticks) {
  double raw = span / max_ticks;
  double power = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

std::string TickLabel(double value, double step) {
  int decimals = step >= 1 ? 0 : int(std::ceil(-std::log10(step) - 1e-9));
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, std::abs(value) < 1e-12 ? 0.0 : value);
  return text;
}

// Layout shared by both plot kinds: margins, axes, ticks, title, colour bar.
struct Layout {
  static constexpr int kLeft = 90, kTop = 50, kRight = 130, kBottom = 70;
  int left = kLeft, top = kTop, width, height;
  Canvas canvas;
  explicit Layout(const PlotSpec& spec)
      : width(spec.width),
        height(spec.height),
        canvas(spec.width + kLeft + kRight, spec.height + kTop + kBottom) {}

  void Decorate(const PlotSpec& spec, bool color_bar) {
    canvas.Frame(left, top, left + width, top + height);
    canvas.Text(left + (width - Canvas::TextWidth(spec.title)) / 2, 15, spec.title);
    double x_step = NiceStep(std::abs(spec.x1 - spec.x0), std::max(2, width / 110));
    for (double v = std::ceil(std::min(spec.x0, spec.x1) / x_step) * x_step;
         v <= std::max(spec.x0, spec.x1) + 1e-9 * x_step; v += x_step) {
      int px = left + int(std::lround((v - spec.x0) / (spec.x1 - spec.x0) * width));
      canvas.Fill(px, top + height, px + 1, top + height + 6, kBlack);
      std::string label = TickLabel(v, x_step);
      canvas.Text(px - Canvas::TextWidth(label) / 2, top + height + 10, label);
    }
    canvas.Text(left + (width - Canvas::TextWidth(spec.x_label)) / 2, top + height + 38,
                spec.x_label);
    double y_step = NiceStep(std::abs(spec.y1 - spec.y0), std::max(2, height / 60));
    for (double v = std::ceil(spec.y0 / y_step) * y_step; v <= spec.y1 + 1e-9 * y_step;
         v += y_step) {
      int py = top + int(std::lround((v - spec.y0) / (spec.y1 - spec.y0) * height));
      canvas.Fill(left - 6, py, left, py + 1, kBlack);
      std::string label = TickLabel(v, y_step);
      canvas.Text(left - 10 - Canvas::TextWidth(label), py - 7, label);
    }
    // Vertical axis label, written one character per line.
    int y = top + height / 2 - int(spec.y_label.size()) * 8;
    for (char ch : spec.y_label) {
      canvas.Text(8, y, std::string(1, ch));
      y += 16;
    }
    if (!color_bar) return;
    const int bx = left + width + 20, bw = 20;
    for (int py = 0; py < height; ++py) {
      canvas.Fill(bx, top + py, bx + bw, top + py + 1,
                  MapColor(spec.colors, 1.0 - (py + 0.5) / height));
    }
    canvas.Frame(bx, top, bx + bw, top + height);
    double step = NiceStep(spec.value_max - spec.value_min, 6);
    for (double v = std::ceil(spec.value_min / step) * step; v <= spec.value_max + 1e-9 * step;
         v += step) {
      int py =
          top + int(std::lround((spec.value_max - v) / (spec.value_max - spec.value_min) * height));
      canvas.Fill(bx + bw, py, bx + bw + 5, py + 1, kBlack);
      canvas.Text(bx + bw + 8, py - 7, TickLabel(v, step));
    }
    canvas.Text(bx - 10, top + height + 38, spec.bar_label);
  }
};

}  // namespace

Status PlotRaster(const std::string& path, const PlotSpec& spec, int columns, int rows,
                  const std::vector<float>& values) {
  if (columns <= 0 || rows <= 0 || values.size() != size_t(columns) * rows) {
    return Status::Error(path + ": nothing to plot");
  }
  Layout layout(spec);
  const double range = spec.value_max - spec.value_min;
  for (int py = 0; py < layout.height; ++py) {
    int row = std::min(rows - 1, int((py + 0.5) / layout.height * rows));
    for (int px = 0; px < layout.width; ++px) {
      int column = std::min(columns - 1, int((px + 0.5) / layout.width * columns));
      double t = (values[size_t(column) * rows + row] - spec.value_min) / range;
      layout.canvas.Set(layout.left + px, layout.top + py, MapColor(spec.colors, t));
    }
  }
  layout.Decorate(spec, true);
  return layout.canvas.WritePng(path);
}

Status PlotWiggles(const std::string& path, const PlotSpec& spec,
                   const std::vector<double>& trace_x, int rows, const std::vector<float>& values) {
  const int ntr = int(trace_x.size());
  if (ntr <= 0 || rows <= 0 || values.size() != size_t(ntr) * rows) {
    return Status::Error(path + ": nothing to plot");
  }
  Layout layout(spec);
  const double px_per_x = layout.width / (spec.x1 - spec.x0);
  const double spacing =
      ntr > 1 ? std::abs(trace_x.back() - trace_x.front()) / (ntr - 1) : (spec.x1 - spec.x0) / 4;
  const double deflection = 0.6 * spacing * std::abs(px_per_x);  // pixels at the clip level
  const Rgb fill = {20, 20, 20};
  for (int i = 0; i < ntr; ++i) {
    const double x_zero = layout.left + (trace_x[i] - spec.x0) * px_per_x;
    double previous = x_zero;
    for (int py = 0; py < layout.height; ++py) {
      int row = std::min(rows - 1, int((py + 0.5) / layout.height * rows));
      double a = std::clamp(double(values[size_t(i) * rows + row]) / spec.value_max, -1.0, 1.0);
      double x = x_zero + a * deflection;
      int y = layout.top + py;
      const int x_min = layout.left, x_max = layout.left + layout.width;
      if (a > 0) {
        layout.canvas.Fill(std::max(x_min, int(std::lround(x_zero))), y,
                           std::min(x_max, int(std::lround(x)) + 1), y + 1, fill);
      }
      int lo = int(std::lround(std::min(previous, x)));
      int hi = int(std::lround(std::max(previous, x)));
      layout.canvas.Fill(std::max(lo, x_min), y, std::min(hi + 1, x_max), y + 1, kBlack);
      previous = x;
    }
  }
  layout.Decorate(spec, false);
  return layout.canvas.WritePng(path);
}

}  // namespace marmousi
