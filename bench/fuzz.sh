#!/usr/bin/env bash
# Runs each libFuzzer target (tests/fuzz) for SECONDS (default 600) from its corpus under
# tests/fuzz/corpus/, with AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer,
# and prints per target: executions, executions per second, coverage (edges, libFuzzer's
# "cov"), features, and the corpus it grew to. New inputs go to a scratch copy, not into the
# repository. A crash, leak, timeout or sanitizer report stops that target and fails the run;
# its input is kept under build-fuzz/artifacts/.
#
#   bash bench/fuzz.sh 600          # the figures of docs/SECURITY.md
#   bash bench/fuzz.sh 30 xml http  # a quick look at two targets
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(xml workflow deploy http)

if [ ! -f build-fuzz/build.ninja ]; then
  cmake --preset fuzz >/dev/null
fi
cmake --build build-fuzz --target "${targets[@]/#/fuzz_}" >/dev/null

mkdir -p build-fuzz/artifacts
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
printf '%-9s %8s %12s %10s %8s %8s %8s  %s\n' target seconds executions "execs/s" edges features corpus result
failed=0
for t in "${targets[@]}"; do
  corpus="$scratch/$t"
  mkdir -p "$corpus"
  cp -r "tests/fuzz/corpus/$t/." "$corpus/"
  dict=()
  [ "$t" = http ] || dict=(-dict=tests/fuzz/xml.dict)
  log="build-fuzz/fuzz_$t.log"
  status=ok
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 -max_len=65536 "${dict[@]}" \
    -artifact_prefix="build-fuzz/artifacts/$t-" "$corpus" >"$log" 2>&1 || status=FAILED
  [ "$status" = ok ] || failed=1
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  files=$(find "$corpus" -type f | wc -l)
  printf '%-9s %8s %12s %10s %8s %8s %8s  %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "$files" "$status"
  [ "$status" = ok ] || tail -40 "$log"
done
exit $failed
