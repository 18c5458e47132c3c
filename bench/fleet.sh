#!/usr/bin/env bash
# Fleet figures for BENCHMARKS.md, on loopback: a three-member etcd and three release-build nodes
# (scripts/fleet.sh start), then
#   1. propagation: 200 PUTs on n1, each timed until n2 and n3 answer it (examples/fleet_propagation);
#   2. health write rate: three fleet presences with 10,000 endpoints each, publishing, holding,
#      then changing 10 endpoints per second per node (signpost-store examples/fleet_writes).
# Usage: bench/fleet.sh [WRITES] [ENDPOINTS] [SECONDS]   (defaults 200, 10000, 30)
set -euo pipefail
cd "$(dirname "$0")/.."
WRITES=${1:-200}; ENDPOINTS=${2:-10000}; SECONDS_PER_PHASE=${3:-30}
cargo build --release --quiet --bin signpost --example fleet_propagation
cargo build --release --quiet -p signpost-store --example fleet_writes
DIR=$(mktemp -d)
export SIGNPOST=$PWD/target/release/signpost DNS_PORT=${DNS_PORT:-15353} API_PORT=${API_PORT:-18053} ETCD_PORT=${ETCD_PORT:-12379}
trap 'scripts/fleet.sh stop "$DIR"; rm -rf "$DIR"' EXIT
scripts/fleet.sh start "$DIR"
sleep 2
target/release/examples/fleet_propagation "127.0.0.1:$API_PORT" "127.0.0.2:$DNS_PORT,127.0.0.3:$DNS_PORT" "$WRITES"
ETCD=http://127.0.0.1:$ETCD_PORT,http://127.0.0.1:$((ETCD_PORT + 10)),http://127.0.0.1:$((ETCD_PORT + 20))
target/release/examples/fleet_writes "$ETCD" "$ENDPOINTS" 3 "$SECONDS_PER_PHASE" 10
