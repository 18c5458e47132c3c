#!/usr/bin/env bash
# Installs the Debian packages Signpost's tests and end-to-end script use: dig/kdig (DNS clients),
# curl, unbound (a real recursive resolver), etcd (the fleet tests' real cluster), openssl
# (certificates for the etcd TLS test), prometheus (promtool checks a live /metrics scrape), and
# for the dashboard's browser test Chromium, Node.js and npm (scripts/dashboard-test.sh;
# Playwright itself comes from npm, the browser from Debian).
# Idempotent; needs root (or sudo). The end-to-end script also installs schemathesis from PyPI
# when it is missing.
set -euo pipefail
need=()
command -v dig >/dev/null || need+=(bind9-dnsutils)
command -v kdig >/dev/null || need+=(knot-dnsutils)
command -v unbound >/dev/null || need+=(unbound)
command -v curl >/dev/null || need+=(curl)
command -v etcd >/dev/null || need+=(etcd-server)   # the fleet tests run a real 3-member cluster
command -v named >/dev/null || need+=(bind9)         # a resolver that sends DNS Cookies (e2e)
command -v openssl >/dev/null || need+=(openssl)     # certificates for the etcd TLS test
command -v promtool >/dev/null || need+=(prometheus)  # promtool checks a live /metrics scrape
command -v chromium >/dev/null || need+=(chromium)   # the dashboard test's headless browser
command -v node >/dev/null || need+=(nodejs)         # runs the dashboard test (Playwright)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi
