// marmousi-model: one shot of the Marmousi survey, 8th-order acoustic finite differences.
//
// Checkpoints: with --checkpoint FILE, the state is written atomically every
// --checkpoint-every steps and at the next step boundary after SIGUSR1; --restart FILE
// resumes from such a file and produces the same record bit for bit. The checkpoint file
// is removed when the shot completes.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli.h"
#include "formats.h"
#include "shot_modeling.h"

namespace {

volatile std::sig_atomic_t checkpoint_requested = 0;

extern "C" void OnCheckpointSignal(int) {
  checkpoint_requested = 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Model one shot of the Marmousi survey (2D acoustic, 8th order in space).",
               "marmousi-model");
  std::string grid_path = "grid.bin", out = "raw.bin", checkpoint, restart;
  int shot = 0, threads = 1, checkpoint_every = 0;
  double first_x = 3000, shot_spacing = 25, near_offset = 200;
  marmousi::ShotSetup setup;
  app.add_option("--grid", grid_path, "grid file from marmousi-resample")->capture_default_str();
  app.add_option("--shot", shot, "shot index i: sx = first-shot-x + i * shot-spacing")
      ->required()
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--out", out, "output shot file")->capture_default_str();
  app.add_option("--fpeak", setup.fpeak, "Ricker peak frequency (Hz)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--first-shot-x", first_x, "x of shot 0 (m)")->capture_default_str();
  app.add_option("--shot-spacing", shot_spacing, "shot interval (m)")->capture_default_str();
  app.add_option("--receivers", setup.ntr, "receivers per shot, on the source's left")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--receiver-spacing", setup.dgx, "receiver interval (m)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--near-offset", near_offset, "offset of the nearest receiver (m)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--source-depth", setup.sz, "source depth (m)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--receiver-depth", setup.gz, "receiver depth (m)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--dt-out", setup.dt_out, "record sample interval (s)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--ns", setup.ns, "record samples")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--courant", setup.courant, "v_max dt / h (stability limit 0.555)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "OpenMP threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--checkpoint", checkpoint, "checkpoint file to write");
  app.add_option("--checkpoint-every", checkpoint_every,
                 "steps between checkpoints (0: only "
                 "on SIGUSR1)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000000));
  app.add_option("--restart", restart, "resume from this checkpoint file");
  if (int code = marmousi::ParseArguments(app, argc, argv); code >= 0) return code;

  marmousi::SurveyGeometry(shot, first_x, shot_spacing, setup.ntr, setup.dgx, near_offset, &setup);
  marmousi::VelocityGrid grid;
  if (marmousi::Status s = marmousi::ReadGrid(grid_path, &grid); !s.ok()) {
    return marmousi::Fail(app, s);
  }
  marmousi::ShotModeler modeler;
  if (marmousi::Status s = modeler.Init(grid, setup, threads); !s.ok()) {
    return marmousi::Fail(app, "shot " + std::to_string(shot) + ": " + s.message());
  }
  if (!restart.empty()) {
    if (marmousi::Status s = modeler.RestoreCheckpoint(restart); !s.ok()) {
      return marmousi::Fail(app, s);
    }
    std::cout << "marmousi-model: resumed from " << restart << " at step " << modeler.step()
              << "\n";
  }
  if (!checkpoint.empty()) std::signal(SIGUSR1, OnCheckpointSignal);

  auto start = std::chrono::steady_clock::now();
  const int64_t first_step = modeler.step();
  while (!modeler.done()) {
    // Steps run in chunks, one parallel region each: up to the next periodic checkpoint,
    // and never more than kChunk, so that a checkpoint asked for by SIGUSR1 waits at most
    // kChunk steps.
    constexpr int64_t kChunk = 64;
    int64_t chunk = kChunk;
    if (!checkpoint.empty() && checkpoint_every > 0) {
      chunk = std::min(chunk, int64_t{checkpoint_every} - modeler.step() % checkpoint_every);
    }
    modeler.Advance(chunk);
    bool due = checkpoint_every > 0 && modeler.step() % checkpoint_every == 0;
    if (!checkpoint.empty() && (due || checkpoint_requested) && !modeler.done()) {
      checkpoint_requested = 0;
      if (marmousi::Status s = modeler.SaveCheckpoint(checkpoint); !s.ok()) {
        return marmousi::Fail(app, s);
      }
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (marmousi::Status s = marmousi::WriteShot(out, modeler.record()); !s.ok()) {
    return marmousi::Fail(app, s);
  }
  if (!checkpoint.empty()) std::remove(checkpoint.c_str());
  double cells = double(grid.nx) * grid.nz * double(modeler.step() - first_step);
  std::cout << "marmousi-model: " << out << ": shot " << shot << " sx " << setup.sx << " m, "
            << grid.nx << " x " << grid.nz << " cells, dt " << modeler.dt() * 1e3 << " ms, "
            << modeler.step() - first_step << " steps in " << seconds << " s ("
            << cells / seconds / 1e9 << " Gcell/s)\n";
  return 0;
}
