// The two binary file formats passed between the Marmousi programs (docs/marmousi.md).
//
// Both are little-endian, start with an 8-byte magic and a version, and are followed by
// float32 samples. Readers check the magic, the version, the sizes and that the file length
// is exactly header + payload, so a truncated or foreign file is refused with its name.
//
//   grid file (marmousi-resample → marmousi-model, marmousi-sections), 64-byte header:
//     0  char[8] "FVCEGRID"      8  u32 version (1)     12 u32 header bytes (64)
//     16 u32 nx                  20 u32 nz              24 u32 pad (cells, left/right/bottom)
//     28 u32 reserved (0)        32 f64 h (m)           40 f64 x0 (m, x of column 0)
//     48 f64 z0 (m, z of row 0)  56 f32 vmin (m/s)      60 f32 vmax (m/s)
//     then nx × nz float32 velocities (m/s), depth fastest.
//
//   shot file (marmousi-model → marmousi-filter → marmousi-record), 128-byte header:
//     0  char[8] "FVCESHOT"      8  u32 version (1)     12 u32 header bytes (128)
//     16 u32 ntr                 20 u32 ns              24 i32 shot index
//     28 u32 flags (bit 0: band-pass filtered)          32 f64 dt (s)
//     40 f64 sx (m)              48 f64 sz (m, depth)   56 f64 gx of trace 0 (m)
//     64 f64 gx step (m)         72 f64 gz (m, depth)   80 f64 fpeak (Hz)
//     88 f64 time of sample 0 relative to the wavelet's peak (s)
//     96 f64[4] filter corners f1..f4 (Hz; 0 when not filtered)
//     then ntr × ns float32 samples, trace by trace.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace marmousi {

struct VelocityGrid {
  int nx = 0;
  int nz = 0;
  int pad = 0;                  // absorbing cells already added left, right and below the model
  double h = 0;                 // grid spacing (m), equal in x and z
  double x0 = 0;                // x of column 0 (m); the model starts at x = 0
  double z0 = 0;                // z of row 0 (m); row 0 is the free surface
  std::vector<float> velocity;  // nx * nz, index ix * nz + iz

  float at(int ix, int iz) const { return velocity[size_t(ix) * nz + iz]; }
};

Status WriteGrid(const std::string& path, const VelocityGrid& grid);
Status ReadGrid(const std::string& path, VelocityGrid* grid);

struct ShotRecord {
  int ntr = 0;
  int ns = 0;
  int shot_index = 0;
  bool filtered = false;
  double dt = 0.004;
  double sx = 0, sz = 0;
  double gx0 = 0, dgx = 0, gz = 0;
  double fpeak = 0;
  double t_first = 0;
  std::array<double, 4> corners{};
  std::vector<float> samples;  // ntr * ns, index itr * ns + is

  double gx(int trace) const { return gx0 + dgx * trace; }
  float* trace(int itr) { return samples.data() + size_t(itr) * ns; }
  const float* trace(int itr) const { return samples.data() + size_t(itr) * ns; }
};

Status WriteShot(const std::string& path, const ShotRecord& shot);
Status ReadShot(const std::string& path, ShotRecord* shot);

}  // namespace marmousi
