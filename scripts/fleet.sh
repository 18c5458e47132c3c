#!/usr/bin/env bash
# A three-node Signpost fleet and a three-member etcd cluster on one machine (loopback only): the
# README's "Running several nodes" commands, runnable.
#
#   scripts/fleet.sh start [DIR]   start etcd m0..m2 and Signpost n1..n3, print their addresses
#   scripts/fleet.sh check [DIR]   start, prove the fleet works (dig each node, a write on n1 seen
#                                  by n2 and n3, `signpost nodes`), stop; exits 1 on failure
#   scripts/fleet.sh stop  [DIR]   stop what `start` started
#
# Node i listens for DNS on 127.0.0.$i:$DNS_PORT and for the API on 127.0.0.$i:$API_PORT and
# probes from 127.0.0.$((i+10)), its own vantage point. etcd member m$j listens on
# 127.0.0.1:$((ETCD_PORT+10*j)) (clients) and +1 (peers). Override the ports with DNS_PORT,
# API_PORT and ETCD_PORT (defaults 5353, 8053, 2379); SIGNPOST defaults to the debug binary.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-check}
DIR=${2:-${TMPDIR:-/tmp}/signpost-fleet}
DNS_PORT=${DNS_PORT:-5353}
API_PORT=${API_PORT:-8053}
ETCD_PORT=${ETCD_PORT:-2379}
SIGNPOST=${SIGNPOST:-$PWD/target/debug/signpost}

etcd_urls() {
  local urls=()
  for j in 0 1 2; do urls+=("http://127.0.0.1:$((ETCD_PORT + 10 * j))"); done
  (IFS=,; echo "${urls[*]}")
}

start() {
  mkdir -p "$DIR"
  [ -x "$SIGNPOST" ] || cargo build --quiet --bin signpost
  local cluster=()
  for j in 0 1 2; do cluster+=("m$j=http://127.0.0.1:$((ETCD_PORT + 10 * j + 1))"); done
  cluster=$(IFS=,; echo "${cluster[*]}")
  for j in 0 1 2; do
    local client=http://127.0.0.1:$((ETCD_PORT + 10 * j)) peer=http://127.0.0.1:$((ETCD_PORT + 10 * j + 1))
    etcd --name "m$j" --data-dir "$DIR/etcd-m$j" \
      --listen-client-urls "$client" --advertise-client-urls "$client" \
      --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      >"$DIR/etcd-m$j.log" 2>&1 &
    echo $! >"$DIR/etcd-m$j.pid"
  done
  # The cluster first (a node that starts while etcd cannot answer starts from its local copy,
  # which is empty here, and would not seed the example).
  for j in 0 1 2; do
    for _ in $(seq 100); do
      curl -sf "http://127.0.0.1:$((ETCD_PORT + 10 * j))/health" | grep -q '"health":"true"' && break
      sleep 0.1
    done
  done
  for i in 1 2 3; do
    "$SIGNPOST" serve --etcd "$(etcd_urls)" --node-name "n$i" --data-dir "$DIR/n$i" \
      --zone tm.test --dns-listen "127.0.0.$i:$DNS_PORT" --api-listen "127.0.0.$i:$API_PORT" \
      --probe-source "127.0.0.$((i + 10))" \
      >"$DIR/n$i.log" 2>&1 &
    echo $! >"$DIR/n$i.pid"
  done
  for i in 1 2 3; do
    for _ in $(seq 100); do
      curl -sf "http://127.0.0.$i:$API_PORT/healthz" >/dev/null && break
      sleep 0.1
    done
    echo "n$i: DNS 127.0.0.$i:$DNS_PORT, API http://127.0.0.$i:$API_PORT (log $DIR/n$i.log)"
  done
  echo "etcd: $(etcd_urls)"
}

stop() {
  for f in "$DIR"/n*.pid "$DIR"/etcd-m*.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  wait 2>/dev/null || true
}

check() {
  rm -rf "$DIR"
  trap 'stop; rm -rf "$DIR"' EXIT
  start
  local failed=0
  expect() { # description expected actual
    if [ "$2" = "$3" ]; then echo "ok   - $1"; else echo "FAIL - $1: expected [$2], got [$3]"; failed=1; fi
  }
  # The first node seeds the empty shared store with the example; every node serves it.
  for i in 1 2 3; do
    local got=""
    for _ in $(seq 100); do
      got=$(dig +short +tries=1 +time=1 @127.0.0.$i -p "$DNS_PORT" contoso.tm.test CNAME)
      [ -n "$got" ] && break
      sleep 0.1
    done
    expect "n$i answers the example" "contoso-us.cloudapp.net." "$got"
  done
  # A write on n1 is in n2's and n3's answers.
  curl -sf -X PUT "http://127.0.0.1:$API_PORT/api/v1/profiles/fleet-demo" -H 'content-type: application/json' -d '{
    "properties": {"trafficRoutingMethod": "Priority", "dnsConfig": {"relativeName": "fleet-demo", "ttl": 5},
      "monitorConfig": {"protocol": "TCP", "port": 9},
      "endpoints": [{"name": "only", "type": "externalEndpoints",
        "properties": {"target": "127.0.0.1", "alwaysServe": "Enabled"}}]}}' >/dev/null
  for i in 2 3; do
    local got=""
    for _ in $(seq 100); do
      got=$(dig +short +tries=1 +time=1 @127.0.0.$i -p "$DNS_PORT" fleet-demo.tm.test A)
      [ -n "$got" ] && break
      sleep 0.1
    done
    expect "a write on n1 is in n$i's answers" "127.0.0.1" "$got"
  done
  local listed=""
  for _ in $(seq 50); do
    listed=$("$SIGNPOST" --api-url "http://127.0.0.2:$API_PORT" --output json nodes |
      python3 -c 'import json,sys; print(" ".join(sorted(n["name"] for n in json.load(sys.stdin)["nodes"])))')
    [ "$listed" = "n1 n2 n3" ] && break
    sleep 0.2
  done
  expect "signpost nodes lists the fleet" "n1 n2 n3" "$listed"
  "$SIGNPOST" --api-url "http://127.0.0.2:$API_PORT" nodes
  return $failed
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  check) check ;;
  *) echo "usage: $0 start|check|stop [DIR]" >&2; exit 2 ;;
esac
