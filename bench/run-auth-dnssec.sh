#!/usr/bin/env bash
# The cost of signing: ../shared/bench/run-auth.sh (Knot, NSD, PowerDNS LUA, gdnsd side by side,
# one worker each, dnsperf on the other core) with Signpost added three times:
#   unsigned-do  the zone unsigned, every query with the DO bit;
#   signed-do    `--dnssec trafficmanager.net` (keys made in a fresh data dir), queries with DO;
#   signed-nodo  the zone signed, queries without DO (the shared script unchanged).
# The shared script's dnsperf sends no EDNS: for the DO runs it is copied into this script's
# temp dir with `-D` added to its dnsperf command line (sed), so every server in those runs gets
# DO queries (the peers' zones are unsigned: for them DO only adds an OPT record). Compare
# Signpost's queries per server CPU-second with gdnsd's in the same run, so machine noise cancels
# out of the ratio. The shared mix's NXDOMAIN is one fixed name (nothere.trafficmanager.net): its
# signed compact denial is made once, then read from the dynamic cache.
#
# Then (MODE=all or MODE=nx) a flood of random nonexistent names against Signpost alone: dnsperf
# (-D where noted) from a file of 1,000,000 distinct names (more than the dynamic cache holds, so
# each query of a signed zone costs one new signature), Signpost unsigned with DO, signed with DO,
# signed without DO; same pinning (server on CPU 0, dnsperf on CPU 1) and the same columns.
# Usage: bench/run-auth-dnssec.sh [seconds-per-run] [rounds]   (MODE=all|peers|nx, default all)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_AUTH=${RUN_AUTH:-../shared/bench/run-auth.sh}
MODE=${MODE:-all}
SECS=${1:-10}; ROUNDS=${2:-2}
cargo build --release --quiet --bin signpost
W=$(mktemp -d); trap 'for p in $(cat $W/pids 2>/dev/null); do kill $p 2>/dev/null || true; done; rm -rf "$W"' EXIT
: > "$W/pids"
cp target/release/signpost "$W/signpost"
sed 's/dnsperf -s 127.0.0.1/dnsperf -D -s 127.0.0.1/' "$RUN_AUTH" > "$W/run-auth-do.sh"
grep -q 'dnsperf -D -s' "$W/run-auth-do.sh" || { echo "could not add -D to $RUN_AUTH"; exit 1; }
serve() { # name [--dnssec zone]
  local name=$1; shift
  echo "$W/signpost serve --zone trafficmanager.net --dns-listen 127.0.0.1:5305 --profiles $PWD/bench/profiles.yaml --dns-workers 1 --log-level warn --probe-resolver 127.0.0.1:9 --api-listen 127.0.0.1:0 --data-dir $W/data-$name $*"
}
if [ "$MODE" = all ] || [ "$MODE" = peers ]; then
  for variant in unsigned-do:do: signed-do:do:--dnssec signed-nodo:nodo:--dnssec; do
    name=${variant%%:*}; rest=${variant#*:}; queries=${rest%%:*}; flag=${rest#*:}
    script=$RUN_AUTH; [ "$queries" = do ] && script=$W/run-auth-do.sh
    echo "== signpost $name (dnsperf $([ "$queries" = do ] && echo "-D, every server" || echo "without DO"))"
    EXTRA="signpost-$name 5305 $(serve "$name" ${flag:+$flag trafficmanager.net})" \
      bash "$script" "$SECS" "$ROUNDS"
  done
fi
if [ "$MODE" = all ] || [ "$MODE" = nx ]; then
  echo "== random nonexistent names, Signpost alone"
  python3 - > "$W/nx-queries" <<'P'
import random
r = random.Random(9824)
for i in range(1_000_000):
    print("%08x%06d.trafficmanager.net A" % (r.getrandbits(32), i))
P
  tree() { local p=$1; echo $p; for c in $(ps -o pid= --ppid $p); do tree $c; done; }
  cputicks() { local t=0; for p in $(tree $1); do t=$((t + $(sed 's/.*) //' /proc/$p/stat | awk '{print $12+$13}' 2>/dev/null || echo 0))); done; echo $t; }
  HZ=$(getconf CLK_TCK)
  printf "%-20s %10s %10s %8s %9s %14s\n" server qps avg_lat_ms lost srv_cpu q_per_cpu_s
  for r in $(seq "$ROUNDS"); do
    for variant in unsigned-do:-D: signed-do:-D:--dnssec signed-nodo::--dnssec; do
      name=${variant%%:*}; rest=${variant#*:}; do=${rest%%:*}; flag=${rest#*:}
      rm -rf "$W/data-nx-$name"
      taskset -c 0 $(serve "nx-$name" ${flag:+$flag trafficmanager.net}) > "$W/nx-$name.log" 2>&1 &
      pid=$!; echo $pid >> "$W/pids"
      sleep 2
      dig +short +time=1 +tries=3 @127.0.0.1 -p 5305 contoso.trafficmanager.net A >/dev/null \
        || { echo "signpost $name not answering"; cat "$W/nx-$name.log"; exit 1; }
      c0=$(cputicks $pid)
      out=$(taskset -c 1 dnsperf $do -s 127.0.0.1 -p 5305 -d "$W/nx-queries" -l "$SECS" -c 8 -q 200 2>&1)
      qps=$(echo "$out" | awk '/Queries per second/{print $4}')
      lat=$(echo "$out" | awk '/Average Latency/{printf "%.3f", $4*1000}')
      lost=$(echo "$out" | awk '/Queries lost/{print $3}')
      c1=$(cputicks $pid); cpu=$(python3 -c "print(f'{($c1-$c0)/$HZ/$SECS:.2f}')")
      eff=$(python3 -c "c=($c1-$c0)/$HZ/$SECS; print(f'{$qps/c:.0f}' if c>0 else 'n/a')")
      printf "%-20s %10.0f %10s %8s %9s %14s\n" "signpost-nx-$name" "$qps" "$lat" "$lost" "$cpu" "$eff"
      kill $pid; wait $pid 2>/dev/null || true
    done
  done
fi
