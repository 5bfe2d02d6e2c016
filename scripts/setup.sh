#!/usr/bin/env bash
# Installs what fvce needs to build, run and test on Debian 12 (bookworm).
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build git pkg-config ca-certificates
  # the node
  libboost1.81-all-dev libboost-json1.81-dev libboost-url1.81-dev
  libpugixml-dev libxerces-c-dev libstatgrab-dev libsqlite3-dev libssl-dev libcli11-dev libspdlog-dev libsodium-dev
  # the Marmousi example
  libfftw3-dev libsegyio-dev libpng-dev zlib1g-dev
  # tests and benchmarks
  doctest-dev python3 python3-segyio python3-numpy python3-websocket procps parallel findutils
  # fault.partition: network namespaces, veth pairs and bridges
  iproute2
  # the browser application's tests and the web port's benchmark
  chromium firefox-esr wrk
)
# Node.js and npm build the browser application (web/). A host may already have a
# Node.js from elsewhere (NodeSource's package bundles npm and conflicts with
# Debian's npm package), so ask for them only when the commands are missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
