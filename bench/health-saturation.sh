#!/bin/sh
# The health engine with its probe cap saturated: 5,000 hanging + 5,000 healthy endpoints every
# 10 s (crates/signpost-health/benches/saturation.rs). Both ends of every probe are in one process,
# so raise the descriptor limit to the hard limit first. Extra arguments go to cargo.
set -eu
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
exec cargo bench -p signpost-health --bench saturation "$@"
