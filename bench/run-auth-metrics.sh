#!/usr/bin/env bash
# The cost of counting on the DNS path: ../shared/bench/run-auth.sh (Knot, NSD, PowerDNS LUA,
# gdnsd side by side, one worker each, dnsperf on the other core) with Signpost added three
# times: metrics off (`metrics = false`), metrics on (the default), and metrics on with both
# benchmark profiles enrolled in Traffic View. Compare Signpost's queries per server CPU-second
# with gdnsd's in the same run, so machine noise cancels out of the ratio.
# Usage: bench/run-auth-metrics.sh [seconds-per-run] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_AUTH=${RUN_AUTH:-../shared/bench/run-auth.sh}
cargo build --release --quiet --bin signpost
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cp target/release/signpost "$W/signpost"
echo "metrics = false" > "$W/off.toml"
echo "metrics = true" > "$W/on.toml"
sed 's/      trafficRoutingMethod:/      trafficViewEnrollmentStatus: Enabled\n      trafficRoutingMethod:/' \
  bench/profiles.yaml > "$W/profiles-traffic-view.yaml"
for variant in off:off.toml:"$PWD/bench/profiles.yaml" on:on.toml:"$PWD/bench/profiles.yaml" \
               traffic-view:on.toml:"$W/profiles-traffic-view.yaml"; do
  name=${variant%%:*}; rest=${variant#*:}; config=${rest%%:*}; file=${rest#*:}
  echo "== signpost, metrics $name"
  EXTRA="signpost-$name 5305 $W/signpost serve --config $W/$config --zone trafficmanager.net --dns-listen 127.0.0.1:5305 --profiles $file --dns-workers 1 --log-level warn --probe-resolver 127.0.0.1:9 --api-listen 127.0.0.1:0 --data-dir $W/data-$name" \
    bash "$RUN_AUTH" "${1:-10}" "${2:-2}"
done
