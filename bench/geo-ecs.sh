#!/usr/bin/env bash
# Per-query cost of Geographic and Performance answers next to Priority ones, measured like
# ../shared/bench/run-auth.sh (server on CPU 0 with one worker, dnsperf on CPU 1, queries per
# server CPU-second), every query carrying an EDNS Client Subnet option (203.0.113.0/24, which the
# test GeoIP database places in Bavaria).
# Usage: bench/geo-ecs.sh [seconds-per-run] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}; ROUNDS=${2:-2}
command -v dnsperf >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dnsperf >/dev/null; }
cargo build --release --quiet --bin signpost
W=$(mktemp -d); PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$W"' EXIT
cargo run --quiet -p signpost-geo --example test-mmdb -- "$W/geo.mmdb"
cat > "$W/profiles.yaml" <<P
profiles:
  - name: prio
    properties:
      trafficRoutingMethod: Priority
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: a.example.com, alwaysServe: Enabled } }
        - { name: b, type: externalEndpoints, properties: { target: b.example.com, alwaysServe: Enabled } }
  - name: geo
    properties:
      trafficRoutingMethod: Geographic
      endpoints:
        - { name: de, type: externalEndpoints, properties: { target: de.example.com, geoMapping: [DE-BY], alwaysServe: Enabled } }
        - { name: eu, type: externalEndpoints, properties: { target: eu.example.com, geoMapping: [GEO-EU], alwaysServe: Enabled } }
        - { name: world, type: externalEndpoints, properties: { target: w.example.com, geoMapping: [WORLD], alwaysServe: Enabled } }
  - name: perf
    properties:
      trafficRoutingMethod: Performance
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: us.example.com, endpointLocation: East US, alwaysServe: Enabled } }
        - { name: eu, type: externalEndpoints, properties: { target: eu.example.com, endpointLocation: West Europe, alwaysServe: Enabled } }
        - { name: ap, type: externalEndpoints, properties: { target: ap.example.com, endpointLocation: Southeast Asia, alwaysServe: Enabled } }
P
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 0 target/release/signpost serve --zone tm.test --dns-listen 127.0.0.1:$PORT --dns-workers 1 \
  --api-listen 127.0.0.1:0 --data-dir "$W/data" --profiles "$W/profiles.yaml" --geoip "$W/geo.mmdb" \
  --probe-resolver 127.0.0.1:9 --log-level warn >"$W/signpost.log" 2>&1 &
PID=$!
sleep 1.5
ticks() { awk '{print $14+$15}' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)
printf "%-12s %10s %9s %14s\n" method qps srv_cpu q_per_cpu_s
for r in $(seq "$ROUNDS"); do
  for name in prio geo perf; do
    echo "$name.tm.test A" > "$W/q"
    c0=$(ticks)
    out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$PORT" -d "$W/q" -l "$SECS" -c 8 -q 200 -E 8:00011800cb0071 2>&1)
    c1=$(ticks)
    qps=$(echo "$out" | awk '/Queries per second/{print $4}')
    python3 -c "c=($c1-$c0)/$HZ/$SECS; print(f'%-12s %10.0f %9.2f %14.0f' % ('$name', $qps, c, $qps/c))"
  done
done
