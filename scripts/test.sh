#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: the normal build, then the unit
# and integration tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== build (Release)"
BUILD_DIR=build bash scripts/build.sh
echo "== tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"

echo "== build (ASan + UBSan)"
# The node and its tests, unoptimised: the instrumented code generation of the coroutines is
# most of the build, and -O0 halves it (dag.cpp: 40 s against 85 s at -O1); the sanitizers
# see everything either way. (The Marmousi kernels are numerical code tested in the normal
# build above.)
BUILD_DIR=build-asan bash scripts/build.sh -DFVCE_SANITIZE=ON -DFVCE_BUILD_BENCH=OFF \
  -DFVCE_BUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g"
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -L 'unit|integration'
