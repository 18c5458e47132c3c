#!/usr/bin/env bash
# What response rate limiting lets through, open loop: `flood valid` (one thread, 64 sockets,
# CPU 1) sends the run-auth.sh query mix as fast as it can, never waiting for replies, to
# Signpost with one UDP worker (CPU 0) on bench/profiles.yaml; full and truncated replies are
# counted, server CPU read from /proc; queries read by the server = sent minus the host's UDP
# receive-buffer drops in the window (/proc/net/snmp RcvbufErrors; other traffic on the host
# counts too, so it is an estimate). Modes: RRL off, on but never limiting (10,000,000/s), and
# limited at 1,000/s per class with slip 1 (all limited truncated), 2 (every 2nd) and 0 (all dropped).
# Usage: bench/rrl-open-loop.sh [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
BIN=${SIGNPOST:-target/release/signpost}; FLOOD=${FLOOD:-target/release/examples/flood}
[ -x "$BIN" ] || cargo build --release --bin signpost
[ -x "$FLOOD" ] || cargo build --release -p signpost-dns --example flood
W=$(mktemp -d); PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
Z=trafficmanager.net
MIX="contoso.$Z/A contoso.$Z/A contoso.$Z/A contoso.$Z/A contoso.$Z/A contoso.$Z/A partners.$Z/A partners.$Z/A contoso.$Z/AAAA nothere.$Z/A $Z/SOA"
HZ=$(getconf CLK_TCK)
drops() { awk '/^Udp:/{if(!h){for(i=1;i<=NF;i++)if($i=="RcvbufErrors")c=i;h=1}else print $c}' /proc/net/snmp; }
ticks() { sed 's/.*) //' /proc/$1/stat | awk '{print $12+$13}'; }
for mode in off unlimited:10000000:2 limited-slip1:1000:1 limited-slip2:1000:2 limited-slip0:1000:0; do
  name=${mode%%:*}; : > "$W/s.toml"
  if [ "$name" != off ]; then IFS=: read -r _ rps slip <<< "$mode"; printf '[rrl]\nresponses_per_second = %s\nslip = %s\n' "$rps" "$slip" > "$W/s.toml"; fi
  taskset -c 0 "$BIN" serve --config "$W/s.toml" --zone $Z --dns-listen 127.0.0.1:$PORT --profiles bench/profiles.yaml \
    --dns-workers 1 --log-level warn --probe-resolver 127.0.0.1:9 --api-listen 127.0.0.1:0 --data-dir "$W/data-$name" > "$W/log" 2>&1 & PID=$!
  for _ in $(seq 100); do "$FLOOD" check 127.0.0.1:$PORT contoso.$Z 1 >/dev/null 2>&1 && break; sleep 0.1; done
  c0=$(ticks $PID); t0=$(date +%s.%N); d0=$(drops)
  out=$(taskset -c 1 "$FLOOD" valid 127.0.0.1:$PORT "$SECS" 64 $MIX)
  c1=$(ticks $PID); t1=$(date +%s.%N); d1=$(drops)
  kill $PID; wait $PID 2>/dev/null || true; PID=
  python3 - "$name" "$out" "$c0" "$c1" "$t0" "$t1" "$HZ" $((d1 - d0)) <<'P'
import re, sys
name, out, c0, c1, t0, t1, hz, drops = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
cpu = (c1 - c0) / hz / (t1 - t0)
n = lambda k: float(re.search(k, out).group(1))
sent, full, tc, secs = n(r"sent (\d+)"), n(r"full answers (\d+)"), n(r"truncated (\d+)"), n(r"in ([\d.]+) s")
got = sent - drops  # reached the server's socket (host-wide receive-buffer drops subtracted)
print(f"{name:14} sent {sent/secs/1e3:6.1f}k/s  read by server {got/secs/1e3:6.1f}k/s  replies {(full+tc)/secs/1e3:7.1f}k/s (full {full/secs/1e3:7.1f}k/s, TC {tc/secs/1e3:7.1f}k/s)  "
      f"server CPU {cpu:.2f}  replies per CPU-s {(full+tc)/secs/cpu/1e3 if cpu else 0:7.1f}k  full per CPU-s {full/secs/cpu/1e3 if cpu else 0:6.1f}k  queries read per CPU-s {got/secs/cpu/1e3 if cpu else 0:6.1f}k")
P
done
