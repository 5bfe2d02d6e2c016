#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: the normal build, then the unit
# and integration tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== build (RelWithDebInfo)"
BUILD_DIR=build bash scripts/build.sh
echo "== tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"

echo "== build (ASan + UBSan)"
BUILD_DIR=build-asan bash scripts/build.sh -DFVCE_SANITIZE=ON -DFVCE_BUILD_BENCH=OFF -DFVCE_NATIVE=OFF
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -L 'unit|integration'
