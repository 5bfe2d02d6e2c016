// marmousi-resample: the Marmousi velocity model → a modelling grid file.
//
// Reads the gzip model (2301 × 751 float32, 4 m), checks its SHA-256, resamples it to the
// spacing h and adds the absorbing pad on the left, right and bottom (edge values extended).
// h is either given or chosen from the dispersion rule h = vmin / (ppw · fmax),
// fmax = fmax_ratio · fpeak. Coarser grids average slowness over each cell (bilinear samples
// on a 4 m sub-grid), which keeps travel times; finer grids are plain bilinear.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>

#include "cli.h"
#include "files.h"
#include "formats.h"

namespace {

constexpr int kModelNx = 2301;
constexpr int kModelNz = 751;
constexpr double kModelSpacing = 4.0;
constexpr const char* kModelSha256 =
    "f4302792e84bb7ddbdc9d4d0f963b9df32d9f648960084884127e186119b99dd";

struct SourceModel {
  std::vector<float> v;  // kModelNx * kModelNz, depth fastest
  float at(int ix, int iz) const { return v[size_t(ix) * kModelNz + iz]; }
  double Bilinear(double x, double z) const {
    double fx = std::clamp(x / kModelSpacing, 0.0, double(kModelNx - 1));
    double fz = std::clamp(z / kModelSpacing, 0.0, double(kModelNz - 1));
    int ix = std::min(int(fx), kModelNx - 2), iz = std::min(int(fz), kModelNz - 2);
    double wx = fx - ix, wz = fz - iz;
    return (1 - wx) * ((1 - wz) * at(ix, iz) + wz * at(ix, iz + 1)) +
           wx * ((1 - wz) * at(ix + 1, iz) + wz * at(ix + 1, iz + 1));
  }
};

marmousi::Status LoadModel(const std::string& path, const std::string& expected_sha,
                           SourceModel* model) {
  const size_t expected_bytes = size_t(kModelNx) * kModelNz * sizeof(float);
  std::vector<uint8_t> bytes;
  marmousi::Status s = marmousi::ReadGzipFile(path, expected_bytes, &bytes);
  if (!s.ok()) return s;
  if (bytes.size() != expected_bytes) {
    return marmousi::Status::Error(path + ": decompresses to " + std::to_string(bytes.size()) +
                                   " bytes, expected " + std::to_string(expected_bytes) +
                                   " (2301 x 751 float32); truncated or not the Marmousi model");
  }
  std::string sha = marmousi::Sha256Hex(bytes);
  if (sha != expected_sha) {
    return marmousi::Status::Error(path + ": SHA-256 of the uncompressed data is " + sha +
                                   ", expected " + expected_sha +
                                   "; the file is corrupt or not the original model");
  }
  model->v.resize(size_t(kModelNx) * kModelNz);
  std::memcpy(model->v.data(), bytes.data(), expected_bytes);
  return marmousi::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Resample the Marmousi model to a modelling grid with an absorbing pad.",
               "marmousi-resample");
  std::string in = "marmousi_vp.f32.gz", out = "grid.bin", sha = kModelSha256;
  double h = 0, fpeak = 0, ppw = 4, fmax_ratio = 2.5, pad_wavelengths = 1.5;
  int pad = -1;
  app.add_option("--in", in, "gzip model, 2301 x 751 float32 little-endian, 4 m")
      ->capture_default_str();
  app.add_option("--out", out, "output grid file")->capture_default_str();
  auto* h_option = app.add_option("--h", h, "grid spacing (m)")->check(CLI::PositiveNumber);
  app.add_option("--fpeak", fpeak,
                 "Ricker peak frequency (Hz); sets h when --h is absent and "
                 "the pad width when --pad is absent")
      ->check(CLI::PositiveNumber);
  app.add_option("--ppw", ppw, "grid points per shortest wavelength (dispersion rule)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--fmax-ratio", fmax_ratio, "fmax / fpeak for the dispersion rule")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--pad", pad, "absorbing pad width in cells (default: from --fpeak)")
      ->check(CLI::Range(0, 100000));
  app.add_option("--pad-wavelengths", pad_wavelengths,
                 "default pad width in peak wavelengths at the edge velocity")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--expect-sha256", sha, "SHA-256 the uncompressed model must have")
      ->capture_default_str();
  if (int code = marmousi::ParseArguments(app, argc, argv); code >= 0) return code;
  if (h_option->count() == 0 && fpeak == 0) {
    std::cerr << "marmousi-resample: usage error: give --h or --fpeak\n";
    return marmousi::kExitUsage;
  }
  if (pad < 0 && fpeak == 0) {
    std::cerr << "marmousi-resample: usage error: give --pad or --fpeak\n";
    return marmousi::kExitUsage;
  }

  SourceModel model;
  if (marmousi::Status s = LoadModel(in, sha, &model); !s.ok()) return marmousi::Fail(app, s);
  float vmin = *std::min_element(model.v.begin(), model.v.end());
  if (h == 0) h = vmin / (ppw * fmax_ratio * fpeak);

  const double width = (kModelNx - 1) * kModelSpacing, depth = (kModelNz - 1) * kModelSpacing;
  const int nx = int(std::floor(width / h + 1e-9)) + 1;
  const int nz = int(std::floor(depth / h + 1e-9)) + 1;
  if (nx < 16 || nz < 8) return marmousi::Fail(app, "--h " + std::to_string(h) + " is too coarse");
  if (size_t(nx) * nz > (size_t(1) << 28)) {
    return marmousi::Fail(app, "--h " + std::to_string(h) + " gives too large a grid");
  }
  // Average slowness over each cell on a sub-grid no coarser than the source model.
  const int sub = std::max(1, int(std::ceil(h / kModelSpacing - 1e-9)));
  std::vector<float> resampled(size_t(nx) * nz);
  for (int ix = 0; ix < nx; ++ix) {
    for (int iz = 0; iz < nz; ++iz) {
      double slowness = 0;
      for (int a = 0; a < sub; ++a) {
        for (int b = 0; b < sub; ++b) {
          double x = ix * h + (sub == 1 ? 0 : ((a + 0.5) / sub - 0.5) * h);
          double z = iz * h + (sub == 1 ? 0 : ((b + 0.5) / sub - 0.5) * h);
          slowness += 1.0 / model.Bilinear(x, z);
        }
      }
      resampled[size_t(ix) * nz + iz] = float(sub * sub / slowness);
    }
  }
  if (pad < 0) {
    float edge_vmax = 0;
    for (int iz = 0; iz < nz; ++iz) {
      edge_vmax = std::max({edge_vmax, resampled[iz], resampled[size_t(nx - 1) * nz + iz]});
    }
    for (int ix = 0; ix < nx; ++ix)
      edge_vmax = std::max(edge_vmax, resampled[size_t(ix) * nz + nz - 1]);
    pad = std::max(20, int(std::ceil(pad_wavelengths * edge_vmax / fpeak / h)));
  }

  marmousi::VelocityGrid grid;
  grid.nx = nx + 2 * pad;
  grid.nz = nz + pad;
  grid.pad = pad;
  grid.h = h;
  grid.x0 = -pad * h;
  grid.z0 = 0;
  grid.velocity.resize(size_t(grid.nx) * grid.nz);
  for (int ix = 0; ix < grid.nx; ++ix) {
    int sx = std::clamp(ix - pad, 0, nx - 1);
    for (int iz = 0; iz < grid.nz; ++iz) {
      grid.velocity[size_t(ix) * grid.nz + iz] = resampled[size_t(sx) * nz + std::min(iz, nz - 1)];
    }
  }
  if (marmousi::Status s = marmousi::WriteGrid(out, grid); !s.ok()) return marmousi::Fail(app, s);
  std::cout << "marmousi-resample: " << out << ": h " << h << " m, " << nx << " x " << nz
            << " model cells + pad " << pad << " = " << grid.nx << " x " << grid.nz << "\n";
  return 0;
}
