#include "shot_modeling.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "files.h"

namespace marmousi {

namespace {

constexpr char kCheckpointMagic[8] = {'F', 'V', 'C', 'E', 'C', 'K', 'P', 'T'};
constexpr uint32_t kCheckpointVersion = 1;

}  // namespace

void SurveyGeometry(int index, double first_x, double spacing, int ntr, double dgx,
                    double near_offset, ShotSetup* setup) {
  setup->shot_index = index;
  setup->sx = first_x + spacing * index;
  setup->ntr = ntr;
  setup->dgx = dgx;
  setup->gx0 = setup->sx - near_offset - dgx * (ntr - 1);
}

Status ShotModeler::Init(const VelocityGrid& grid, const ShotSetup& setup, int threads) {
  grid_ = &grid;
  setup_ = setup;
  const double h = grid.h;
  const double model_x1 = grid.x0 + (grid.nx - 1 - grid.pad) * h;
  const double model_x0 = grid.x0 + grid.pad * h;
  const double model_z1 = grid.z0 + (grid.nz - 1 - grid.pad) * h;
  auto inside = [&](double x, double z) {
    return x >= model_x0 - 1e-6 && x <= model_x1 + 1e-6 && z >= 0 && z <= model_z1;
  };
  std::ostringstream where;
  if (!inside(setup.sx, setup.sz)) {
    where << "source at x " << setup.sx << " m, depth " << setup.sz << " m";
  } else if (!inside(setup.gx0, setup.gz) ||
             !inside(setup.gx0 + setup.dgx * (setup.ntr - 1), setup.gz)) {
    where << "receivers from x " << setup.gx0 << " to " << setup.gx0 + setup.dgx * (setup.ntr - 1)
          << " m at depth " << setup.gz << " m";
  }
  if (!where.str().empty()) {
    std::ostringstream message;
    message << where.str() << " lie outside the model (x " << model_x0 << " to " << model_x1
            << " m, depth 0 to " << model_z1 << " m)";
    return Status::Error(message.str());
  }
  if (!(setup.fpeak > 0) || !(setup.dt_out > 0) || setup.ns <= 0 || setup.ntr <= 0) {
    return Status::Error("fpeak, dt-out, ns and the receiver count must be positive");
  }
  if (!(setup.courant > 0) || setup.courant >= CourantLimit()) {
    return Status::Error("Courant number " + std::to_string(setup.courant) +
                         " is not below the stability limit " + std::to_string(CourantLimit()));
  }
  float vmax = *std::max_element(grid.velocity.begin(), grid.velocity.end());
  dt_ = ChooseTimeStep(h, vmax, setup.dt_out, setup.courant);
  substeps_ = std::llround(setup.dt_out / dt_);
  lag_ = std::ceil(1.5 / setup.fpeak / setup.dt_out - 1e-9) * setup.dt_out;
  lag_steps_ = std::llround(lag_ / setup.dt_out) * substeps_;
  total_steps_ = lag_steps_ + int64_t(setup.ns - 1) * substeps_;

  Medium medium;
  medium.nx = grid.nx;
  medium.nz = grid.nz;
  medium.h = h;
  medium.velocity = grid.velocity;
  medium.absorb_left = medium.absorb_right = medium.absorb_bottom = grid.pad;
  medium.free_surface = true;
  solver_ = std::make_unique<AcousticSolver>(medium, dt_, threads);
  source_x_ = (setup.sx - grid.x0) / h;
  source_z_ = (setup.sz - grid.z0) / h;
  solver_->SetSource(source_x_, source_z_);
  receiver_x_.resize(setup.ntr);
  for (int i = 0; i < setup.ntr; ++i) receiver_x_[i] = (setup.gx0 + setup.dgx * i - grid.x0) / h;
  receiver_z_ = (setup.gz - grid.z0) / h;

  record_ = ShotRecord();
  record_.ntr = setup.ntr;
  record_.ns = setup.ns;
  record_.shot_index = setup.shot_index;
  record_.dt = setup.dt_out;
  record_.sx = setup.sx;
  record_.sz = setup.sz;
  record_.gx0 = setup.gx0;
  record_.dgx = setup.dgx;
  record_.gz = setup.gz;
  record_.fpeak = setup.fpeak;
  record_.t_first = 0;
  record_.samples.assign(size_t(setup.ntr) * setup.ns, 0.0f);
  return Status::Ok();
}

int64_t ShotModeler::Advance(int64_t max_steps) {
  const int64_t first = solver_->step();
  const int64_t n = std::max<int64_t>(0, std::min(max_steps, total_steps_ - first));
  sources_.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    sources_[size_t(i)] = float(Ricker(-lag_ + double(first + i) * dt_, setup_.fpeak));
  }
  solver_->Run(n, sources_.data(), [this] { RecordIfDue(); });
  return n;
}

void ShotModeler::RecordIfDue() {
  int64_t since_lag = solver_->step() - lag_steps_;
  if (since_lag >= 0 && since_lag % substeps_ == 0) {
    int64_t k = since_lag / substeps_;
    if (k < setup_.ns) {
      for (int i = 0; i < setup_.ntr; ++i) {
        record_.trace(i)[k] = solver_->Sample(receiver_x_[i], receiver_z_);
      }
    }
  }
}

std::string ShotModeler::RunDescription() const {
  std::ostringstream out;
  out.precision(17);
  out << "grid " << grid_->nx << "x" << grid_->nz << " h " << grid_->h << " pad " << grid_->pad
      << " shot " << setup_.shot_index << " sx " << setup_.sx << " sz " << setup_.sz << " gx0 "
      << setup_.gx0 << " dgx " << setup_.dgx << " ntr " << setup_.ntr << " gz " << setup_.gz
      << " fpeak " << setup_.fpeak << " dt " << dt_ << " dt_out " << setup_.dt_out << " ns "
      << setup_.ns;
  return out.str();
}

Status ShotModeler::SaveCheckpoint(const std::string& path) const {
  std::string description = RunDescription();
  uint64_t header[4] = {kCheckpointVersion, uint64_t(solver_->step()), solver_->state_size(),
                        description.size()};
  AtomicFile file;
  Status s = file.Open(path);
  if (s.ok()) s = file.Write(kCheckpointMagic, sizeof kCheckpointMagic);
  if (s.ok()) s = file.Write(header, sizeof header);
  if (s.ok()) s = file.Write(description.data(), description.size());
  if (s.ok()) s = file.Write(solver_->current(), solver_->state_size() * sizeof(float));
  if (s.ok()) s = file.Write(solver_->previous(), solver_->state_size() * sizeof(float));
  if (s.ok()) s = file.Write(record_.samples.data(), record_.samples.size() * sizeof(float));
  if (s.ok()) s = file.Commit();
  return s;
}

Status ShotModeler::RestoreCheckpoint(const std::string& path) {
  std::vector<uint8_t> bytes;
  Status s = ReadFile(path, &bytes);
  if (!s.ok()) return s;
  uint64_t header[4];
  if (bytes.size() < 8 + sizeof header || std::memcmp(bytes.data(), kCheckpointMagic, 8) != 0) {
    return Status::Error(path + ": not a marmousi-model checkpoint");
  }
  std::memcpy(header, bytes.data() + 8, sizeof header);
  std::string description = RunDescription();
  size_t fields = solver_->state_size() * sizeof(float);
  size_t expected =
      8 + sizeof header + description.size() + 2 * fields + record_.samples.size() * sizeof(float);
  if (header[0] != kCheckpointVersion || header[2] != solver_->state_size() ||
      header[3] != description.size() || bytes.size() != expected ||
      std::memcmp(bytes.data() + 8 + sizeof header, description.data(), description.size()) != 0) {
    return Status::Error(path +
                         ": checkpoint belongs to a different run or is truncated; "
                         "this run is: " +
                         description);
  }
  if (int64_t(header[1]) > total_steps_) {
    return Status::Error(path + ": checkpoint step is beyond the end of the run");
  }
  const uint8_t* data = bytes.data() + 8 + sizeof header + description.size();
  std::vector<float> current(solver_->state_size()), previous(solver_->state_size());
  std::memcpy(current.data(), data, fields);
  std::memcpy(previous.data(), data + fields, fields);
  std::memcpy(record_.samples.data(), data + 2 * fields, record_.samples.size() * sizeof(float));
  solver_->Restore(int64_t(header[1]), current.data(), previous.data());
  return Status::Ok();
}

}  // namespace marmousi
