#!/usr/bin/env bash
# Floods and garbage: COUNT random and mutated UDP datagrams (crates/signpost-dns/examples/flood.rs)
# from SOCKETS source ports against the release `signpost serve` (2 UDP workers, its own data dir
# in a temp dir, free loopback ports, a small profiles file), then checks that
#   - the process is alive and its log has no panic (nor a worker restart);
#   - every worker still answers: a valid query from 64 fresh source ports, each answered
#     (SO_REUSEPORT hashes source ports over the workers; 64 ports miss one of 2 with p = 2^-63);
#   - memory did not grow: VmRSS 30 s after the flood at most max(4 MiB, 10%) above VmRSS before.
# Loopback only; stops by itself (the flood stops at COUNT or MAX_SECONDS); cleans up on exit.
# Usage: bench/flood.sh [COUNT=2000000] [SOCKETS=128]   (RRL=1 adds an [rrl] table)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-2000000}; SOCKETS=${2:-128}; MAX_SECONDS=${MAX_SECONDS:-300}; SETTLE=${SETTLE:-30}
BIN=${SIGNPOST:-target/release/signpost}; FLOOD=${FLOOD_BIN:-target/release/examples/flood}
# Always built: cargo does nothing when the binaries are current, and a figure from stale code is
# worse than none.
[ -n "${SIGNPOST:-}" ] || cargo build --release --bin signpost
# Its own cargo invocation: the example's dev-dependencies must not change the binary's features.
[ -n "${FLOOD_BIN:-}" ] || cargo build --release -p signpost-dns --example flood
W=$(mktemp -d /tmp/signpost-flood.XXXXXX); PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DNS=$(free_port); API=$(free_port)
cat > "$W/profiles.yaml" <<Y
profiles:
  - name: web
    properties:
      trafficRoutingMethod: Weighted
      dnsConfig: { relativeName: web, ttl: 30 }
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: web-a.example.com, weight: 2, alwaysServe: Enabled } }
        - { name: b, type: externalEndpoints, properties: { target: web-b.example.com, weight: 1, alwaysServe: Enabled } }
  - name: multi
    properties:
      trafficRoutingMethod: MultiValue
      endpoints:
        - { name: m1, type: externalEndpoints, properties: { target: 192.0.2.1, alwaysServe: Enabled } }
Y
cat > "$W/settings.toml" <<T
zones = ["tm.test"]
dns_listen = ["127.0.0.1:$DNS"]
dns_workers = 2
api_listen = "127.0.0.1:$API"
data_dir = "$W/data"
profiles = "$W/profiles.yaml"
probe_resolver = "127.0.0.1:9"
T
[ "${RRL:-0}" = 1 ] && printf '[rrl]\nresponses_per_second = 1000\nslip = 2\n' >> "$W/settings.toml"
"$BIN" serve --config "$W/settings.toml" > "$W/signpost.log" 2>&1 & PID=$!
for _ in $(seq 100); do "$FLOOD" check 127.0.0.1:$DNS web.tm.test 1 >/dev/null 2>&1 && break; sleep 0.1; done
mem() { awk '/^VmRSS|^VmHWM|^RssAnon/{printf "%s %s kB  ", $1, $2}' /proc/$PID/status; }
rss() { awk '/^VmRSS/{print $2}' /proc/$PID/status; }
echo "signpost pid $PID, DNS 127.0.0.1:$DNS, workers 2, settings:"; sed 's/^/  /' "$W/settings.toml"
"$FLOOD" check 127.0.0.1:$DNS web.tm.test 64
udp_drops() { awk '/^Udp:/{if(!h){for(i=1;i<=NF;i++)if($i=="RcvbufErrors")c=i;h=1}else print $c}' /proc/net/snmp; }
R0=$(rss); echo "before: $(mem)"; D0=$(udp_drops)
"$FLOOD" garbage 127.0.0.1:$DNS "$COUNT" "$SOCKETS" 2 "$MAX_SECONDS"
echo "right after: $(mem)"
echo "kernel UDP receive-buffer drops during the flood (whole host, /proc/net/snmp RcvbufErrors): $(( $(udp_drops) - D0 ))"
ok=0
"$FLOOD" check 127.0.0.1:$DNS web.tm.test 64 || ok=1
sleep "$SETTLE"
R1=$(rss); echo "${SETTLE} s after: $(mem)"
"$FLOOD" check 127.0.0.1:$DNS web.tm.test 64 || ok=1
kill -0 $PID 2>/dev/null && echo "process alive" || { echo "process DEAD"; ok=1; }
tol=$(( R0 / 10 > 4096 ? R0 / 10 : 4096 ))
if [ $((R1 - R0)) -le $tol ]; then echo "memory: RSS $R0 -> $R1 kB (+$((R1 - R0)) kB, tolerance $tol kB): did not grow";
else echo "memory: RSS $R0 -> $R1 kB (+$((R1 - R0)) kB, tolerance $tol kB): GREW"; ok=1; fi
n=$(grep -ciE 'panic|restart' "$W/signpost.log" || true)
echo "log: $(wc -l < "$W/signpost.log") lines, $n mentioning panic/restart"
[ "$n" = 0 ] || { grep -iE 'panic|restart' "$W/signpost.log" | head -5; ok=1; }
[ $ok = 0 ] && echo "PASS" || echo "FAIL"
exit $ok
