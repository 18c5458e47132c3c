#!/usr/bin/env bash
# Soak test (not in CI): steady dnsperf load, an API write every second and endpoints flapping
# (real HTTP servers on 127.0.0.2/3 stopped and started every 20 s / 30 s), sampled every 10 s
# (RSS, fds, threads, CPU, probe-query p50/p99, qps, API writes, endpoints Online) into a CSV.
# Everything on loopback, free ports, a temp data dir; stops by itself after MINUTES.
# Usage: bench/soak.sh [MINUTES=30] [OUT.csv=soak.csv]   (RATE=qps, default 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dnsperf >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dnsperf >/dev/null; }
[ -x target/release/signpost ] || cargo build --release --bin signpost
exec python3 bench/soak.py "${1:-30}" "${2:-soak.csv}"
