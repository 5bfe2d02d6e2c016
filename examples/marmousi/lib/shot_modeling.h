// ShotModeler: one shot of the Marmousi survey on a VelocityGrid, with checkpoints.
//
// Time convention: the Ricker source is centred on t = 0 (zero-phase record). The
// simulation starts at t = −lag, lag being the first multiple of the output interval that is
// ≥ 1.5/fpeak, so output sample k (t = k·dt_out) is the field after lag/dt + k·dt_out/dt
// steps exactly; no interpolation in time.
//
// A checkpoint holds both wavefields, the step and the samples recorded so far, plus a
// description of the run; Restore refuses a checkpoint of a different run. Resuming from a
// checkpoint gives a bit-identical record (same arithmetic, same order, per cell).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "acoustic.h"
#include "formats.h"
#include "status.h"

namespace marmousi {

struct ShotSetup {
  int shot_index = 0;
  double sx = 3000, sz = 8;    // source position (m); z is depth below the free surface
  double gx0 = 425, dgx = 25;  // receiver i at gx0 + i·dgx (m)
  int ntr = 96;
  double gz = 12;         // receiver depth (m)
  double fpeak = 10;      // Ricker peak frequency (Hz)
  double dt_out = 0.004;  // record sample interval (s)
  int ns = 726;           // record samples
  double courant = 0.5;   // v_max·dt/h; must stay below CourantLimit() ≈ 0.555
};

// Geometry of shot `index` of the original survey: sx = first_x + index·spacing, `ntr`
// receivers every `dgx` m on the source's left, the nearest `near_offset` m from it.
void SurveyGeometry(int index, double first_x, double spacing, int ntr, double dgx,
                    double near_offset, ShotSetup* setup);

class ShotModeler {
 public:
  // Checks the setup against the grid (positions inside the model, Courant number).
  Status Init(const VelocityGrid& grid, const ShotSetup& setup, int threads);

  // Advances up to `max_steps` steps (fewer at the end of the run) and records the
  // receivers whenever an output sample is due. Returns the steps taken.
  int64_t Advance(int64_t max_steps = 1);
  bool done() const { return solver_->step() >= total_steps_; }
  int64_t step() const { return solver_->step(); }
  int64_t total_steps() const { return total_steps_; }
  double dt() const { return dt_; }

  Status SaveCheckpoint(const std::string& path) const;
  Status RestoreCheckpoint(const std::string& path);

  const ShotRecord& record() const { return record_; }

 private:
  std::string RunDescription() const;
  void RecordIfDue();

  ShotSetup setup_;
  VelocityGrid const* grid_ = nullptr;
  std::unique_ptr<AcousticSolver> solver_;
  ShotRecord record_;
  double dt_ = 0;
  double lag_ = 0;
  int64_t lag_steps_ = 0;
  int64_t substeps_ = 0;  // solver steps per output sample
  int64_t total_steps_ = 0;
  double source_x_ = 0, source_z_ = 0;  // grid coordinates (cells)
  std::vector<double> receiver_x_;
  std::vector<float> sources_;  // source amplitudes of the steps of one Advance
  double receiver_z_ = 0;
};

}  // namespace marmousi
