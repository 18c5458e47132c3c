#!/usr/bin/env bash
# The web dashboard in a real browser: headless Chromium (Debian's package, /usr/bin/chromium)
# driven by Playwright (playwright-core from npm, pinned in e2e/dashboard/package-lock.json; it
# never downloads a browser of its own) against the real binary on loopback, with real HTTP
# servers as endpoints and dig reading the DNS answers (e2e/dashboard/dashboard.test.mjs says
# what is checked). scripts/install-deps.sh installs chromium, Node.js and npm from Debian when
# they are missing. Writes its screenshots to docs/dashboard-*.png. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/install-deps.sh
cargo build --quiet --bin signpost
cd e2e/dashboard
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
SIGNPOST="$ROOT/target/debug/signpost" CHROMIUM="$(command -v chromium)" SCREENSHOTS="$ROOT/docs" npm test
