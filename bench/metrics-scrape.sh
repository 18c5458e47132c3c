#!/usr/bin/env bash
# Scrape cost with 10,000 profiles: starts the release binary with 10,000 two-endpoint profiles
# (alwaysServe, so no probes), asks every profile once (dnsperf), then times N scrapes of
# /metrics with curl and reports the body size, the number of series and the median and worst
# scrape time, and the server's CPU time per scrape.
# Usage: bench/metrics-scrape.sh [scrapes]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
command -v dnsperf >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dnsperf >/dev/null; }
cargo build --release --quiet --bin signpost
W=$(mktemp -d); trap 'kill $(cat "$W/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT
python3 - "$W" <<'P'
import sys
w = sys.argv[1]
with open(f"{w}/profiles.yaml", "w") as f, open(f"{w}/queries", "w") as q:
    f.write("profiles:\n")
    for i in range(10000):
        f.write(f"""  - name: p{i}
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: {{ relativeName: p{i}, ttl: 30 }}
      endpoints:
        - {{ name: a, type: externalEndpoints, properties: {{ target: 127.0.0.1, alwaysServe: Enabled }} }}
        - {{ name: b, type: externalEndpoints, properties: {{ target: 127.0.0.2, alwaysServe: Enabled }} }}
""")
        q.write(f"p{i}.tm.test A\n")
P
target/release/signpost serve --zone tm.test --dns-listen 127.0.0.1:5399 --api-listen 127.0.0.1:5398 \
  --profiles "$W/profiles.yaml" --data-dir "$W/data" --probe-resolver 127.0.0.1:9 --log-level warn \
  2> "$W/log" & echo $! > "$W/pid"
for _ in $(seq 100); do curl -sf http://127.0.0.1:5398/healthz >/dev/null && break; sleep 0.2; done
for _ in $(seq 100); do dig +short @127.0.0.1 -p 5399 p9999.tm.test A | grep -q 127.0.0.1 && break; sleep 0.2; done
dnsperf -s 127.0.0.1 -p 5399 -d "$W/queries" -n 1 -q 100 > "$W/dnsperf" 2>&1
grep -E "Queries (sent|completed)" "$W/dnsperf"
HZ=$(getconf CLK_TCK); pid=$(cat "$W/pid")
ticks() { awk '{print $14+$15}' "/proc/$pid/stat"; }
t0=$(ticks)
for i in $(seq "$N"); do
  curl -s -o "$W/scrape" -w '%{time_total}\n' http://127.0.0.1:5398/metrics >> "$W/times"
done
t1=$(ticks)
python3 - "$W" "$N" "$t0" "$t1" "$HZ" <<'P'
import sys, statistics
w, n, t0, t1, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
times = [float(t) * 1000 for t in open(f"{w}/times")]
body = open(f"{w}/scrape").read()
series = sum(1 for l in body.splitlines() if l and not l.startswith("#"))
print(f"scrapes {n}: body {len(body)/1e6:.1f} MB, {series} series; "
      f"median {statistics.median(times):.0f} ms, worst {max(times):.0f} ms; "
      f"server CPU {(t1-t0)/hz/n*1000:.0f} ms per scrape")
P
