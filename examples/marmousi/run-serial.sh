#!/usr/bin/env bash
# Runs the Marmousi pipeline for a preset, one task after another, in OUTDIR:
#   resample → for each shot: model → filter → record → sections.
# Every step is a separate process reading and writing files in OUTDIR, with the same
# arguments the fvce workflow uses; this is the serial baseline of the benchmark.
# Programs are taken from $FVCE_BIN_DIR (default: build/, beside fvce, in this checkout).
set -euo pipefail

usage() { echo "usage: $0 small|medium|full OUTDIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
preset=$1
outdir=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
preset_file=$here/presets/$preset.env
[ -f "$preset_file" ] || { echo "$0: no preset '$preset' ($preset_file)" >&2; usage; }
bin=${FVCE_BIN_DIR:-$here/../../build}
for tool in resample model filter record sections; do
  [ -x "$bin/marmousi-$tool" ] || { echo "$0: $bin/marmousi-$tool not found; build the" \
    "'marmousi' target or set FVCE_BIN_DIR" >&2; exit 1; }
done
bin=$(cd "$bin" && pwd)
# shellcheck source=presets/small.env
source "$preset_file"

mkdir -p "$outdir"
cp "$here/data/marmousi_vp.f32.gz" "$outdir/"
cd "$outdir"
: > timings.txt

# run NAME CMD...: runs one task, appends its wall time to timings.txt.
run() {
  local name=$1
  shift
  local start end
  start=$(date +%s.%N)
  "$@" > "$name.log" 2>&1 || { echo "$0: task $name failed:" >&2; cat "$name.log" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v n="$name" -v a="$start" -v b="$end" 'BEGIN { printf "%s %.3f\n", n, b - a }' >> timings.txt
}

total_start=$(date +%s.%N)
h_args=()
[ -n "${H:-}" ] && h_args=(--h "$H")
run resample "$bin/marmousi-resample" --in marmousi_vp.f32.gz "${h_args[@]}" --fpeak "$FPEAK" \
  --out grid.bin
for i in $SHOTS; do
  run "model$i" "$bin/marmousi-model" --grid grid.bin --shot "$i" --fpeak "$FPEAK" --ns "$NS" \
    --threads "$THREADS" --checkpoint "checkpoint$i.bin" --checkpoint-every "$CHECKPOINT_EVERY" \
    --out "raw$i.bin"
  run "filter$i" "$bin/marmousi-filter" --in "raw$i.bin" --out "filtered$i.bin"
  run "record$i" "$bin/marmousi-record" --in "filtered$i.bin" --out "shot$i.sgy"
done
run sections "$bin/marmousi-sections" --shots 'shot*.sgy' --grid grid.bin --offset "$NEAR_OFFSET"
total_end=$(date +%s.%N)
awk -v a="$total_start" -v b="$total_end" 'BEGIN { printf "total %.3f\n", b - a }' >> timings.txt
echo "$0: preset $preset done in $outdir: zero-offset.sgy near-offset.sgy *.png" \
  "($(tail -1 timings.txt))"
