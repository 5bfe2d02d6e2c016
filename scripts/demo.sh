#!/usr/bin/env bash
# The main job: installs what is needed, builds, starts a small local federation of three
# nodes on loopback and runs the Marmousi example (small preset) on it, then says where the
# images and SEG-Y files are. Everything it starts it stops on exit.
# Environment: FVCE_DEMO_DIR (default /tmp/fvce-demo), FVCE_DEMO_PORT (default 7701).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=build bash scripts/build.sh

fvce=$PWD/build/fvce
dir=${FVCE_DEMO_DIR:-/tmp/fvce-demo}
port=${FVCE_DEMO_PORT:-7701}
rm -rf "$dir"
mkdir -p "$dir"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
# Stops the nodes gracefully (SIGTERM: each leaves the federation) on any exit.
trap cleanup EXIT

start() {  # name port [join]
  local name=$1 p=$2 join=${3:-}
  "$fvce" node --deploy deploy/deploy.xml --name "$name" --listen "127.0.0.1:$p" \
    --state-dir "$dir/$name" ${join:+--join "$join"} >"$dir/$name.out" 2>"$dir/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$dir/$name/address" ] && return; sleep 0.05; done
  echo "node $name did not start; see $dir/$name.log" >&2
  exit 1
}

n1=127.0.0.1:$port n2=127.0.0.1:$((port + 1)) n3=127.0.0.1:$((port + 2))
echo "== starting a federation of three nodes: n1 on $n1, n2 joins n1, n3 joins n2"
start n1 "$port"
start n2 $((port + 1)) "$n1"
start n3 $((port + 2)) "$n2"
for _ in $(seq 100); do
  [ "$("$fvce" hosts --node "$n1" --xml 2>/dev/null | grep -c '<host-info')" = 3 ] && break
  sleep 0.1
done

echo; echo "== fvce hosts --node $n3"
"$fvce" hosts --node "$n3"
echo; echo "== fvce info --node $n1 --host n2"
"$fvce" info --node "$n1" --host n2

echo; echo "== fvce submit examples/marmousi/workflow-small.xml --node $n1 --watch"
echo "   (Marmousi acoustic forward modelling, small preset: resample the velocity model, model"
echo "    4 shots in parallel across the federation, filter, write SEG-Y, build the sections)"
wf=$("$fvce" submit examples/marmousi/workflow-small.xml --node "$n1" --watch)
echo; echo "== fvce status $wf --node $n1"
"$fvce" status "$wf" --node "$n1"
echo; echo "== fvce fetch $wf $dir/marmousi --node $n1"
"$fvce" fetch "$wf" "$dir/marmousi" --node "$n1"

echo
echo "The Marmousi results are in $dir/marmousi:"
echo "  images:  zero-offset.png, near-offset.png (the sections) and velocity.png (the model)"
echo "  SEG-Y:   zero-offset.sgy, near-offset.sgy and one shot gather per shot (shot*.sgy)"
echo "Node logs and state are in $dir. The nodes stop now (each leaves the federation)."
