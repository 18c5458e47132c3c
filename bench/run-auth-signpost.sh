#!/usr/bin/env bash
# Adds Signpost (one UDP worker) to ../shared/bench/run-auth.sh, the side-by-side dnsperf run of
# Knot DNS, NSD, PowerDNS (LUA) and gdnsd, once with the two benchmark profiles and once with
# 10,000 profiles loaded (same query mix), so every figure is a ratio taken on the same machine.
# The extra profiles' endpoints are alwaysServe: this measures DNS, not 20,000 probes (the health
# engine has its own benchmark).
# Usage: bench/run-auth-signpost.sh [seconds-per-run] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_AUTH=${RUN_AUTH:-../shared/bench/run-auth.sh}
cargo build --release --quiet --bin signpost
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cp target/release/signpost "$W/signpost"
python3 - "$W/profiles-10k.yaml" <<'P'
import sys
src = open("bench/profiles.yaml").read()
with open(sys.argv[1], "w") as f:
    f.write(src)
    for i in range(9998):
        f.write(f"""  - name: p{i}
    properties:
      trafficRoutingMethod: Priority
      endpoints:
        - {{ name: a, type: externalEndpoints, properties: {{ target: p{i}-a.example.com, alwaysServe: Enabled }} }}
        - {{ name: b, type: externalEndpoints, properties: {{ target: p{i}-b.example.com, alwaysServe: Enabled }} }}
""")
P
for set in profiles.yaml:"$PWD/bench/profiles.yaml" profiles-10k.yaml:"$W/profiles-10k.yaml"; do
  name=${set%%:*}; file=${set#*:}
  echo "== signpost with $name"
  EXTRA="signpost 5305 $W/signpost serve --zone trafficmanager.net --dns-listen 127.0.0.1:5305 --profiles $file --dns-workers 1 --log-level warn --probe-resolver 127.0.0.1:9 --api-listen 127.0.0.1:0 --data-dir $W/data-$name" \
    bash "$RUN_AUTH" "${1:-10}" "${2:-2}"
done
