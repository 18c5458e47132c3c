#!/usr/bin/env bash
# RRL's cost next to the peers of ../shared/bench/run-auth.sh: Signpost (one UDP worker, on
# bench/profiles.yaml) is added three times, each its own run of the shared harness (its EXTRA
# takes one server), so each row has the peers of the same run beside it:
#   off        no [rrl] table;
#   on-unlim   [rrl] responses_per_second = 10,000,000: every response goes through the limiter
#              and none is limited (the cost of the check itself);
#   on-limited [rrl] responses_per_second = 1,000, slip = 1: dnsperf's ~150k qps from one /24 over
#              the mix's 5 classes is ~30x over budget; every limited response goes out truncated
#              (TC=1, question only), so dnsperf, which waits 5 s for a lost reply, keeps its pace
#              and the row is the cost of the limited path. (The answered share, and slip = 2's
#              drops, are measured open-loop by bench/rrl-open-loop.sh.)
# Usage: bench/run-auth-rrl.sh [seconds-per-run=10] [rounds=2]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_AUTH=${RUN_AUTH:-../shared/bench/run-auth.sh}
[ -x target/release/signpost ] || cargo build --release --quiet --bin signpost
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cp target/release/signpost "$W/signpost"
: > "$W/off.toml"
printf '[rrl]\nresponses_per_second = 10000000\nslip = 2\n' > "$W/on-unlim.toml"
printf '[rrl]\nresponses_per_second = 1000\nslip = 1\n' > "$W/on-limited.toml"
for mode in ${MODES:-off on-unlim on-limited}; do
  echo "== signpost rrl $mode: $(tr '\n' ' ' < "$W/$mode.toml")"
  EXTRA="signpost-rrl-$mode 5305 $W/signpost serve --config $W/$mode.toml --zone trafficmanager.net --dns-listen 127.0.0.1:5305 --profiles $PWD/bench/profiles.yaml --dns-workers 1 --log-level warn --probe-resolver 127.0.0.1:9 --api-listen 127.0.0.1:0 --data-dir $W/data-$mode" \
    bash "$RUN_AUTH" "${1:-10}" "${2:-2}"
done
