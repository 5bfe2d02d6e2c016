#include "formats.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "files.h"

namespace marmousi {

static_assert(std::endian::native == std::endian::little,
              "the file formats are little-endian and written with memcpy");

namespace {

constexpr char kGridMagic[8] = {'F', 'V', 'C', 'E', 'G', 'R', 'I', 'D'};
constexpr char kShotMagic[8] = {'F', 'V', 'C', 'E', 'S', 'H', 'O', 'T'};
constexpr uint32_t kVersion = 1;
constexpr size_t kGridHeaderBytes = 64;
constexpr size_t kShotHeaderBytes = 128;
constexpr size_t kMaxCells = size_t(1) << 31;

template <typename T>
void Put(std::vector<uint8_t>& out, size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof value);
}

template <typename T>
T Get(const std::vector<uint8_t>& in, size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof value);
  return value;
}

Status CheckHeader(const std::string& path, const std::vector<uint8_t>& bytes,
                   const char (&magic)[8], size_t header_bytes, const char* kind) {
  if (bytes.size() < header_bytes) {
    return Status::Error(path + ": too short for a " + kind + " file (" +
                         std::to_string(bytes.size()) + " bytes)");
  }
  if (std::memcmp(bytes.data(), magic, 8) != 0) {
    return Status::Error(path + ": not a " + kind + " file (bad magic)");
  }
  if (Get<uint32_t>(bytes, 8) != kVersion || Get<uint32_t>(bytes, 12) != header_bytes) {
    return Status::Error(path + ": unsupported " + kind + " file version " +
                         std::to_string(Get<uint32_t>(bytes, 8)));
  }
  return Status::Ok();
}

}  // namespace

Status WriteGrid(const std::string& path, const VelocityGrid& grid) {
  if (grid.velocity.size() != size_t(grid.nx) * grid.nz) {
    return Status::Error(path + ": grid size does not match its velocity array");
  }
  std::vector<uint8_t> header(kGridHeaderBytes, 0);
  std::memcpy(header.data(), kGridMagic, 8);
  float vmin = grid.velocity.empty() ? 0 : grid.velocity[0], vmax = vmin;
  for (float v : grid.velocity) {
    vmin = std::min(vmin, v);
    vmax = std::max(vmax, v);
  }
  Put<uint32_t>(header, 8, kVersion);
  Put<uint32_t>(header, 12, kGridHeaderBytes);
  Put<uint32_t>(header, 16, grid.nx);
  Put<uint32_t>(header, 20, grid.nz);
  Put<uint32_t>(header, 24, grid.pad);
  Put<double>(header, 32, grid.h);
  Put<double>(header, 40, grid.x0);
  Put<double>(header, 48, grid.z0);
  Put<float>(header, 56, vmin);
  Put<float>(header, 60, vmax);
  AtomicFile file;
  Status s = file.Open(path);
  if (s.ok()) s = file.Write(header.data(), header.size());
  if (s.ok()) s = file.Write(grid.velocity.data(), grid.velocity.size() * sizeof(float));
  if (s.ok()) s = file.Commit();
  return s;
}

Status ReadGrid(const std::string& path, VelocityGrid* grid) {
  std::vector<uint8_t> bytes;
  Status s = ReadFile(path, &bytes);
  if (!s.ok()) return s;
  s = CheckHeader(path, bytes, kGridMagic, kGridHeaderBytes, "velocity grid");
  if (!s.ok()) return s;
  grid->nx = int(Get<uint32_t>(bytes, 16));
  grid->nz = int(Get<uint32_t>(bytes, 20));
  grid->pad = int(Get<uint32_t>(bytes, 24));
  grid->h = Get<double>(bytes, 32);
  grid->x0 = Get<double>(bytes, 40);
  grid->z0 = Get<double>(bytes, 48);
  size_t cells = size_t(grid->nx) * size_t(grid->nz);
  if (grid->nx <= 0 || grid->nz <= 0 || cells > kMaxCells || !(grid->h > 0) ||
      !std::isfinite(grid->h) || 2 * grid->pad >= grid->nx || grid->pad >= grid->nz) {
    return Status::Error(path + ": implausible grid header (nx " + std::to_string(grid->nx) +
                         ", nz " + std::to_string(grid->nz) + ", pad " + std::to_string(grid->pad) +
                         ", h " + std::to_string(grid->h) + ")");
  }
  if (bytes.size() != kGridHeaderBytes + cells * sizeof(float)) {
    return Status::Error(
        path + ": file is " + std::to_string(bytes.size()) + " bytes but its header announces " +
        std::to_string(kGridHeaderBytes + cells * sizeof(float)) + " (truncated?)");
  }
  grid->velocity.resize(cells);
  std::memcpy(grid->velocity.data(), bytes.data() + kGridHeaderBytes, cells * sizeof(float));
  for (float v : grid->velocity) {
    if (!(v > 0) || !std::isfinite(v)) {
      return Status::Error(path + ": contains a non-positive or non-finite velocity");
    }
  }
  return Status::Ok();
}

Status WriteShot(const std::string& path, const ShotRecord& shot) {
  if (shot.samples.size() != size_t(shot.ntr) * shot.ns) {
    return Status::Error(path + ": shot size does not match its sample array");
  }
  std::vector<uint8_t> header(kShotHeaderBytes, 0);
  std::memcpy(header.data(), kShotMagic, 8);
  Put<uint32_t>(header, 8, kVersion);
  Put<uint32_t>(header, 12, kShotHeaderBytes);
  Put<uint32_t>(header, 16, shot.ntr);
  Put<uint32_t>(header, 20, shot.ns);
  Put<int32_t>(header, 24, shot.shot_index);
  Put<uint32_t>(header, 28, shot.filtered ? 1u : 0u);
  Put<double>(header, 32, shot.dt);
  Put<double>(header, 40, shot.sx);
  Put<double>(header, 48, shot.sz);
  Put<double>(header, 56, shot.gx0);
  Put<double>(header, 64, shot.dgx);
  Put<double>(header, 72, shot.gz);
  Put<double>(header, 80, shot.fpeak);
  Put<double>(header, 88, shot.t_first);
  for (int i = 0; i < 4; ++i) Put<double>(header, 96 + 8 * i, shot.corners[i]);
  AtomicFile file;
  Status s = file.Open(path);
  if (s.ok()) s = file.Write(header.data(), header.size());
  if (s.ok()) s = file.Write(shot.samples.data(), shot.samples.size() * sizeof(float));
  if (s.ok()) s = file.Commit();
  return s;
}

Status ReadShot(const std::string& path, ShotRecord* shot) {
  std::vector<uint8_t> bytes;
  Status s = ReadFile(path, &bytes);
  if (!s.ok()) return s;
  s = CheckHeader(path, bytes, kShotMagic, kShotHeaderBytes, "shot");
  if (!s.ok()) return s;
  shot->ntr = int(Get<uint32_t>(bytes, 16));
  shot->ns = int(Get<uint32_t>(bytes, 20));
  shot->shot_index = Get<int32_t>(bytes, 24);
  shot->filtered = (Get<uint32_t>(bytes, 28) & 1u) != 0;
  shot->dt = Get<double>(bytes, 32);
  shot->sx = Get<double>(bytes, 40);
  shot->sz = Get<double>(bytes, 48);
  shot->gx0 = Get<double>(bytes, 56);
  shot->dgx = Get<double>(bytes, 64);
  shot->gz = Get<double>(bytes, 72);
  shot->fpeak = Get<double>(bytes, 80);
  shot->t_first = Get<double>(bytes, 88);
  for (int i = 0; i < 4; ++i) shot->corners[i] = Get<double>(bytes, 96 + 8 * i);
  size_t count = size_t(shot->ntr) * size_t(shot->ns);
  if (shot->ntr <= 0 || shot->ns <= 0 || count > kMaxCells || !(shot->dt > 0)) {
    return Status::Error(path + ": implausible shot header (ntr " + std::to_string(shot->ntr) +
                         ", ns " + std::to_string(shot->ns) + ")");
  }
  if (bytes.size() != kShotHeaderBytes + count * sizeof(float)) {
    return Status::Error(
        path + ": file is " + std::to_string(bytes.size()) + " bytes but its header announces " +
        std::to_string(kShotHeaderBytes + count * sizeof(float)) + " (truncated?)");
  }
  shot->samples.resize(count);
  std::memcpy(shot->samples.data(), bytes.data() + kShotHeaderBytes, count * sizeof(float));
  return Status::Ok();
}

}  // namespace marmousi
