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
deploy=deploy/deploy.xml
if [ "$(id -u)" = 0 ]; then
  # Run as root, a node runs tasks only as mapped local accounts, never as root
  # (docs/SECURITY.md): here every user's tasks run as "nobody", from programs installed where
  # that account can read them, in work directories it can reach.
  echo "== run as root: installing fvce into $dir/install; tasks run as the account 'nobody'"
  chmod 0755 "$dir"
  cmake --install build --prefix "$dir/install" >/dev/null
  fvce=$dir/install/bin/fvce
  deploy=$dir/deploy.xml
  sed 's|^</deploy>|  <service name="execute" impl="process">\n    <param name="accounts" value="*=nobody"/>\n  </service>\n</deploy>|' \
    deploy/deploy.xml >"$deploy"
fi
# Nothing runs without authentication: the federation's CA, a certificate for each node, and
# a user to sign in as (docs/SECURITY.md).
export FVCE_CREDENTIALS="$dir/credentials"
echo "== making the federation's CA, a certificate for each node, and the user 'demo'"
"$fvce" ca init "$dir/ca" --federation lab >/dev/null
for n in n1 n2 n3; do
  "$fvce" ca issue "$n" --ca "$dir/ca" --out "$dir/pki/$n" --host 127.0.0.1 >/dev/null
done
(umask 077; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/demo-password")
"$fvce" user add demo --role admin --password-stdin --state-dir "$dir/n1" \
  <"$dir/demo-password" >/dev/null
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
# Stops the nodes gracefully (SIGTERM: each leaves the federation) on any exit.
trap cleanup EXIT

start() {  # name port [join]
  local name=$1 p=$2 join=${3:-}
  "$fvce" node --deploy "$deploy" --name "$name" --listen "127.0.0.1:$p" \
    --state-dir "$dir/$name" --security "$dir/pki/$name" ${join:+--join "$join"} \
    >"$dir/$name.out" 2>"$dir/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$dir/$name/address" ] && return; sleep 0.05; done
  echo "node $name did not start; see $dir/$name.log" >&2
  exit 1
}

n1=127.0.0.1:$port n2=127.0.0.1:$((port + 1)) n3=127.0.0.1:$((port + 2))
echo "== starting a federation of three nodes: n1 on $n1, n2 joins n1, n3 joins n2"
start n1 "$port"
"$fvce" login --user demo --password-stdin --node "$n1" --ca "$dir/ca/ca.crt" <"$dir/demo-password"
start n2 $((port + 1)) "$n1"
start n3 $((port + 2)) "$n2"
for _ in $(seq 100); do
  [ "$("$fvce" hosts --node "$n1" --xml 2>/dev/null | grep -c '<host-info')" = 3 ] && break
  sleep 0.1
done

# The accounts reach a member that joined within a moment.
for n in "$n2" "$n3"; do
  for _ in $(seq 100); do "$fvce" whoami --node "$n" >/dev/null 2>&1 && break; sleep 0.05; done
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
echo "The nodes spoke TLS with certificates of the CA in $dir/ca. To sign in to such a"
echo "federation yourself: fvce login --node $n1 --user demo --ca $dir/ca/ca.crt"
echo "(demo's password is in $dir/demo-password; the token goes to ~/.config/fvce/credentials)."
