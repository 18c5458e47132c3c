#!/usr/bin/env bash
# End-to-end check with real third-party programs, as in the README's picture:
#   dig -> unbound (recursive resolver) -> Signpost (authoritative for tm.test) -> endpoint name
# A vanity name www.contoso.test (served by unbound's own auth-zone) is a CNAME to the profile
# contoso.tm.test; unbound reaches Signpost through a stub zone, follows Signpost's CNAME to the
# endpoint, and resolves it. Then the profiles file is edited live and the answer must follow.
# A naked zone apex, naked.test (hosted by Signpost), is an ALIAS to the profile regions.tm.test:
# unbound gets the chosen endpoint's address at the apex, and follows the failover.
# Last, the web dashboard in headless Chromium (scripts/dashboard-test.sh).
# Everything listens on 127.0.0.1 with free ports. Prints "N passed, M failed"; exits 1 on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --quiet --bin signpost
BIN=$PWD/target/debug/signpost
W=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SP=$(free_port); UB=$(free_port); API=$(free_port)
# One port free on 127.0.0.11, .12 and .13: the three "regions" of the failover scenario.
HP=$(python3 -c '
import socket
for _ in range(100):
    s = socket.socket(); s.bind(("127.0.0.11", 0)); p = s.getsockname()[1]
    try:
        for a in ("127.0.0.12", "127.0.0.13"):
            t = socket.socket(); t.bind((a, p)); t.close()
        print(p); break
    except OSError:
        pass
    finally:
        s.close()
')
passed=0; failed=0
check() { # description expected actual
  if [ "$2" = "$3" ]; then passed=$((passed+1)); echo "ok   - $1";
  else failed=$((failed+1)); echo "FAIL - $1: expected [$2], got [$3]"; fi
}
# eventually <seconds> <description> <expected> <command...>: retries until the output matches.
eventually() {
  local secs=$1 desc=$2 want=$3; shift 3
  local deadline=$((SECONDS + secs)) got=""
  while :; do
    got=$("$@" 2>/dev/null | tr '\n' ' ' | sed 's/ $//') || true
    [ "$got" = "$want" ] && break
    [ $SECONDS -ge $deadline ] && break
    sleep 0.2
  done
  check "$desc" "$want" "$got"
}

profiles() { # priority of us, priority of eu, status of us
  cat > "$W/profiles.yaml.tmp" <<P
profiles:
  - name: contoso
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: contoso, ttl: 2 }
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: app-us.contoso.test, priority: $1, endpointStatus: $3 } }
        - { name: eu, type: externalEndpoints, properties: { target: app-eu.contoso.test, priority: $2 } }
  - name: regions
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: regions, ttl: 2 }
      monitorConfig: { protocol: HTTP, port: $HP, path: /, intervalInSeconds: 1, timeoutInSeconds: 1, toleratedNumberOfFailures: 1 }
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: app-us.contoso.test, priority: 1 } }
        - { name: eu, type: externalEndpoints, properties: { target: app-eu.contoso.test, priority: 2 } }
        - { name: ap, type: externalEndpoints, properties: { target: app-ap.contoso.test, priority: 3 } }
  - name: shop
    properties:
      trafficRoutingMethod: Geographic
      dnsConfig: { relativeName: shop, ttl: 30 }
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: shop-us.contoso.test, geoMapping: [GEO-NA], alwaysServe: Enabled } }
        - { name: eu, type: externalEndpoints, properties: { target: shop-eu.contoso.test, geoMapping: [GEO-EU], alwaysServe: Enabled } }
        - { name: world, type: externalEndpoints, properties: { target: shop-world.contoso.test, geoMapping: [WORLD], alwaysServe: Enabled } }
  - name: fast
    properties:
      trafficRoutingMethod: Performance
      dnsConfig: { relativeName: fast, ttl: 30 }
      endpoints:
        - { name: west, type: externalEndpoints, properties: { target: fast-west.contoso.test, endpointLocation: West US, alwaysServe: Enabled } }
        - { name: frankfurt, type: externalEndpoints, properties: { target: fast-fra.contoso.test, endpointLocation: eu-central-1, alwaysServe: Enabled } }
  - name: partners
    properties:
      trafficRoutingMethod: MultiValue
      dnsConfig: { relativeName: partners, ttl: 2 }
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: 127.0.0.21 } }
        - { name: b, type: externalEndpoints, properties: { target: "::1" } }
P
  mv "$W/profiles.yaml.tmp" "$W/profiles.yaml"
}
profiles 1 2 Enabled

cat > "$W/contoso.test.zone" <<Z
\$ORIGIN contoso.test.
\$TTL 300
@      IN SOA ns.contoso.test. hostmaster.contoso.test. 1 3600 600 86400 60
@      IN NS  ns.contoso.test.
ns     IN A   127.0.0.1
www    IN CNAME contoso.tm.test.
app-us IN A   127.0.0.11
app-eu IN A   127.0.0.12
app-ap IN A   127.0.0.13
shop   IN CNAME regions.tm.test.
Z
# Signpost's own hosted zone: its apex is traffic-managed through an ALIAS (the chosen endpoint's
# name is resolved through unbound, the --probe-resolver).
cat > "$W/naked.test.zone" <<Z
\$TTL 300
@      IN SOA ns.naked.test. hostmaster.naked.test. 1 3600 600 86400 60
@      IN NS  ns.naked.test.
@      IN ALIAS regions.tm.test.
ns     IN A   127.0.0.1
Z
cat > "$W/unbound.conf" <<U
server:
  interface: 127.0.0.1
  port: $UB
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$W"
  pidfile: "$W/unbound.pid"
  use-syslog: no
  logfile: ""
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  # Nothing leaves loopback: unbound only talks to Signpost (stub) and its own auth zone.
  outgoing-interface: 127.0.0.1
  # subnetcache: unbound forwards the client's EDNS Client Subnet to Signpost and caches answers
  # per the scope Signpost returns.
  module-config: "subnetcache iterator"
  send-client-subnet: 127.0.0.1
  client-subnet-always-forward: yes
  max-client-subnet-ipv4: 24
  local-zone: "test." nodefault
  cache-max-ttl: 2
stub-zone:
  name: "tm.test"
  stub-addr: 127.0.0.1@$SP
stub-zone:
  name: "naked.test"
  stub-addr: 127.0.0.1@$SP
auth-zone:
  name: "contoso.test."
  zonefile: "$W/contoso.test.zone"
  for-downstream: no
  for-upstream: yes
  fallback-enabled: no
U

# Three HTTP servers standing in for three regions.
mkdir -p "$W/www"; echo ok > "$W/www/index.html"
region() { # address -> starts it, records its pid in REGION_PID
  python3 -m http.server "$HP" --bind "$1" --directory "$W/www" >"$W/http-$1.log" 2>&1 &
  REGION_PID=$!; PIDS+=($REGION_PID)
}
region 127.0.0.11; US=$REGION_PID
region 127.0.0.12
region 127.0.0.13

# A GeoIP database written for the test (never downloaded): 198.51.100.0/24 in California,
# 203.0.113.0/24 in Bavaria.
cargo run --quiet -p signpost-geo --example test-mmdb -- "$W/geo.mmdb"

unbound -c "$W/unbound.conf" >"$W/unbound.log" 2>&1 &
PIDS+=($!)
# Probe targets are names (app-us.contoso.test, ...): Signpost resolves them through unbound.
"$BIN" serve --zone tm.test --dns-listen 127.0.0.1:$SP --profiles "$W/profiles.yaml" --dns-workers 1 \
  --data-dir "$W/data" --probe-resolver 127.0.0.1:$UB --api-listen 127.0.0.1:$API --geoip "$W/geo.mmdb" \
  --hosted-zone naked.test="$W/naked.test.zone" --dnssec tm.test --dnssec naked.test \
  >"$W/signpost.log" 2>&1 &
PIDS+=($!)

sp() { dig +short +norec +time=1 +tries=1 @127.0.0.1 -p "$SP" "$@"; }
resolver() { dig +short +time=2 +tries=1 @127.0.0.1 -p "$UB" "$@"; }

eventually 10 "Signpost answers the profile with the priority-1 endpoint" "app-us.contoso.test." sp contoso.tm.test A
eventually 10 "through unbound, the vanity name resolves via Signpost to the endpoint" \
  "contoso.tm.test. app-us.contoso.test. 127.0.0.11" resolver www.contoso.test A
check "TCP (kdig +tcp) gives the same answer" "app-us.contoso.test." "$(kdig +short +tcp @127.0.0.1 -p "$SP" contoso.tm.test A)"
check "MultiValue A through unbound" "127.0.0.21" "$(resolver partners.tm.test A)"
check "MultiValue AAAA through unbound" "::1" "$(resolver partners.tm.test AAAA)"
check "unknown name is NXDOMAIN" "NXDOMAIN" "$(dig +norec @127.0.0.1 -p "$SP" nothere.tm.test A | sed -n 's/.*status: \([A-Z]*\).*/\1/p')"
check "outside the zone is REFUSED" "REFUSED" "$(dig +norec @127.0.0.1 -p "$SP" www.contoso.test A | sed -n 's/.*status: \([A-Z]*\).*/\1/p')"
status() { sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -1; }
# dig +cookie: the reply carries our server cookie; dig checks it echoes the client cookie.
check "dig +cookie gets a server cookie (RFC 7873)" "1" \
  "$(dig +norec +cookie @127.0.0.1 -p "$SP" contoso.tm.test A | grep -c '^; COOKIE: [0-9a-f]\{16\}[0-9a-f]\{32\} (good)')"
# kdig shows NOTAUTH with TSIG error BADKEY as "status: BADKEY", and prints the unsigned TSIG.
check "a TSIG-signed query (kdig -y) gets NOTAUTH, TSIG error BADKEY" "BADKEY 1" \
  "$(kdig @127.0.0.1 -p "$SP" -y hmac-sha256:nokey:c2lnbnBvc3Qtbm8tc3VjaC1rZXktaGVyZQ== contoso.tm.test A 2>&1 | status) $(kdig @127.0.0.1 -p "$SP" -y hmac-sha256:nokey:c2lnbnBvc3Qtbm8tc3VjaC1rZXktaGVyZQ== contoso.tm.test A 2>&1 | grep -c 'TSIG.*hmac-sha256.*BADKEY')"
check "AXFR over TCP is REFUSED" "1" "$(kdig +tcp @127.0.0.1 -p "$SP" tm.test AXFR 2>&1 | grep -c "replied with error 'REFUSED'")"
check "UPDATE (opcode 5) is NOTIMP" "NOTIMP" "$(dig +norec +opcode=5 @127.0.0.1 -p "$SP" tm.test SOA | status)"

# Geographic and Performance through the resolver: unbound forwards each client's subnet (ECS)
# to Signpost; two client subnets get different endpoints, and the scope comes back.
ecs() { dig +short +time=2 +tries=1 @127.0.0.1 -p "$UB" "$1" CNAME +subnet="$2"; }
check "Geographic: a Californian subnet gets the North American endpoint" "shop-us.contoso.test." "$(ecs shop.tm.test 198.51.100.0/24)"
check "Geographic: a Bavarian subnet gets the European endpoint" "shop-eu.contoso.test." "$(ecs shop.tm.test 203.0.113.0/24)"
check "Geographic: a subnet unknown to GeoIP gets WORLD" "shop-world.contoso.test." "$(ecs shop.tm.test 192.0.2.0/24)"
check "Performance: California is closest to West US" "fast-west.contoso.test." "$(ecs fast.tm.test 198.51.100.0/24)"
check "Performance: Bavaria is closest to Frankfurt" "fast-fra.contoso.test." "$(ecs fast.tm.test 203.0.113.0/24)"
check "the answer's ECS scope is the GeoIP network" "203.0.113.0/24/24" \
  "$(dig +time=2 +tries=1 @127.0.0.1 -p "$UB" shop.tm.test CNAME +subnet=203.0.113.0/24 | sed -n 's/.*CLIENT-SUBNET: //p')"

# Failover with real programs: the first region's server stops; within
# interval x (tolerated + 1) + TTL + 1 s = 1 x 2 + 2 + 1 = 5 s the resolver's answer moves on.
eventually 10 "regions: the resolver gets the first region" \
  "regions.tm.test. app-us.contoso.test. 127.0.0.11" resolver shop.contoso.test A
eventually 10 "ALIAS at the apex through unbound: the chosen endpoint's address" \
  "127.0.0.11" resolver naked.test A
sleep 1.5  # let the us endpoint's first probe land, so the failure below is a real transition
kill "$US"; wait "$US" 2>/dev/null || true
t0=$SECONDS
eventually 5 "first region down: the answer moves to the second within 5 s" \
  "regions.tm.test. app-eu.contoso.test. 127.0.0.12" resolver shop.contoso.test A
eventually 5 "ALIAS at the apex through unbound follows the failover" \
  "127.0.0.12" resolver naked.test A
echo "     (moved after about $((SECONDS - t0)) s)"
check "the status command shows the region Degraded" "1" \
  "$("$BIN" status --data-dir "$W/data" regions | grep -c '^regions .* us  *Degraded')"
region 127.0.0.11
t0=$SECONDS
eventually 5 "first region back: the answer returns within interval + TTL + 1 s" \
  "regions.tm.test. app-us.contoso.test. 127.0.0.11" resolver shop.contoso.test A
echo "     (returned after about $((SECONDS - t0)) s)"

# Live edit: disable the first region; the answer moves without a restart.
profiles 1 2 Disabled
eventually 5 "after the file is edited, Signpost answers the next endpoint" "app-eu.contoso.test." sp contoso.tm.test A
eventually 8 "and the resolver follows once the TTL expires" \
  "contoso.tm.test. app-eu.contoso.test. 127.0.0.12" resolver www.contoso.test A

# A broken file is rejected whole; the last good configuration keeps serving.
echo "profiles: [ { name: contoso, properties: { trafficRoutingMethod: Nope } } ]" > "$W/profiles.yaml"
sleep 1.5
check "an invalid file leaves the last good configuration serving" "app-eu.contoso.test." "$(sp contoso.tm.test A)"
check "and the rejection is logged with the field" "1" "$(grep -c 'trafficRoutingMethod: must be one of' "$W/signpost.log" || true)"

# DNS Cookies through a real resolver: BIND's named sends cookies to the servers it asks, so with
# RRL dropping everything over one response a second (slip 0), its queries still get through on
# the server cookie Signpost gave it, while a client without cookies is limited.
RP=$(free_port); RA=$(free_port); NB=$(free_port)
mkdir -p "$W/rrl"
cat > "$W/rrl/settings.toml" <<S
zones = ["tm.test"]
dns_workers = 1
[rrl]
responses_per_second = 1
slip = 0
S
cat > "$W/rrl/profiles.yaml" <<P
profiles:
  - name: contoso
    properties:
      trafficRoutingMethod: Priority
      monitorConfig: { protocol: TCP, port: 9 }
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: app-us.contoso.test, alwaysServe: Enabled } }
P
"$BIN" serve --config "$W/rrl/settings.toml" --profiles "$W/rrl/profiles.yaml" --data-dir "$W/rrl/data" \
  --dns-listen "127.0.0.1:$RP" --api-listen "127.0.0.1:$RA" --probe-resolver 127.0.0.1:9 > "$W/rrl/signpost.log" 2>&1 &
PIDS+=($!)
cat > "$W/rrl/named.conf" <<N
options { directory "$W/rrl"; listen-on port $NB { 127.0.0.1; }; listen-on-v6 { none; };
  recursion yes; dnssec-validation no; allow-query { any; }; pid-file "$W/rrl/named.pid"; };
controls { };
zone "tm.test" { type forward; forward only; forwarders { 127.0.0.1 port $RP; }; };
N
named -g -c "$W/rrl/named.conf" > "$W/rrl/named.log" 2>&1 &
PIDS+=($!)
eventually 10 "named answers through Signpost" "NXDOMAIN" \
  sh -c "dig +tries=1 +time=1 @127.0.0.1 -p $NB first.tm.test A | sed -n 's/.*status: \([A-Z]*\).*/\1/p'"
through=0
for i in $(seq 1 20); do
  dig +tries=1 +time=2 @127.0.0.1 -p "$NB" "n$i.tm.test" A | grep -q 'status: NXDOMAIN' && through=$((through+1))
done
check "named's cookies pass RRL: 20 of 20 new names answered" "20" "$through"
limited=0
for i in $(seq 1 20); do
  dig +nocookie +tries=1 +time=1 @127.0.0.1 -p "$RP" "d$i.tm.test" A | grep -q 'status: NXDOMAIN' || limited=$((limited+1))
done
check "without cookies the same client is limited" "yes" "$([ "$limited" -gt 0 ] && echo yes || echo "no ($limited)")"

# DNSSEC with real validators: a second unbound, validating, whose trust anchors are the DS
# records `signpost dnssec ds` prints; delv (BIND) with the DNSKEYs as static keys. A profile, the
# apex ALIAS, a MultiValue set, a compact NXDOMAIN (RFC 9824) and a NODATA must all validate.
VB=$(free_port)
DS_TM=$("$BIN" --api-url "http://127.0.0.1:$API" dnssec ds tm.test)
DS_NAKED=$("$BIN" --api-url "http://127.0.0.1:$API" dnssec ds naked.test)
check "signpost dnssec ds prints one ECDSA P-256 DS per zone" "2" \
  "$(printf '%s\n%s\n' "$DS_TM" "$DS_NAKED" | grep -c ' IN DS [0-9]* 13 2 ')"
cat > "$W/unbound-validating.conf" <<U
server:
  interface: 127.0.0.1
  port: $VB
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$W"
  pidfile: "$W/unbound-validating.pid"
  use-syslog: no
  logfile: ""
  do-not-query-localhost: no
  outgoing-interface: 127.0.0.1
  module-config: "validator iterator"
  local-zone: "test." nodefault
  cache-max-ttl: 2
  trust-anchor: "$DS_TM"
  trust-anchor: "$DS_NAKED"
stub-zone:
  name: "tm.test"
  stub-addr: 127.0.0.1@$SP
stub-zone:
  name: "naked.test"
  stub-addr: 127.0.0.1@$SP
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@9
U
unbound -c "$W/unbound-validating.conf" >"$W/unbound-validating.log" 2>&1 &
PIDS+=($!)
validated() { # name type -> "ad" when the answer is validated, with its status
  dig +dnssec +time=2 +tries=1 @127.0.0.1 -p "$VB" "$@" |
    awk '/status:/ {s=$6} /^;; flags:/ {f=($0 ~ / ad[ ;]/) ? "ad" : "no-ad"} END {print f, s}'
}
eventually 10 "unbound validates a profile's answer (AD)" "ad NOERROR," validated contoso.tm.test CNAME
eventually 5 "unbound validates the apex ALIAS (AD)" "ad NOERROR," validated naked.test A
eventually 5 "unbound validates a MultiValue set (AD)" "ad NOERROR," validated partners.tm.test A
eventually 5 "unbound validates a compact NXDOMAIN (AD; NOERROR + NXNAME, RFC 9824)" "ad NOERROR," validated nothere.tm.test A
eventually 5 "unbound validates a NODATA (AD)" "ad NOERROR," validated naked.test AAAA
anchors() { # zone... -> a delv anchor file of their DNSKEYs
  echo "trust-anchors {"
  for z in "$@"; do
    "$BIN" --api-url "http://127.0.0.1:$API" dnssec dnskey "$z" |
      awk '{printf "  %s static-key %s %s %s \"%s\";\n", $1, $5, $6, $7, $8}'
  done
  echo "};"
}
anchors tm.test naked.test > "$W/delv-anchors.conf"
delv_says() { delv @127.0.0.1 -p "$SP" -a "$W/delv-anchors.conf" +root=tm.test "$@" 2>&1 | grep -m1 -o 'fully validated' || true; }
delv_naked() { delv @127.0.0.1 -p "$SP" -a "$W/delv-anchors.conf" +root=naked.test "$@" 2>&1 | grep -m1 -o 'fully validated' || true; }
check "delv: a profile's CNAME is fully validated" "fully validated" "$(delv_says contoso.tm.test CNAME)"
check "delv: the apex ALIAS is fully validated" "fully validated" "$(delv_naked naked.test A)"
check "delv: a compact NXDOMAIN is fully validated" "fully validated" "$(delv_says nothere.tm.test A)"
check "delv: a NODATA is fully validated" "fully validated" "$(delv_says tm.test TXT)"

# The OpenAPI document, checked by a real third-party tool against a live server of its own:
# schemathesis generates requests from the schema (valid and invalid) and checks that nothing
# answers 5xx and that every response matches the document. `positive_data_acceptance` is left
# out: the schema cannot express every validation rule (unique priorities, nested targets...), so
# some schema-valid bodies are rightly refused with 400.
command -v schemathesis >/dev/null || python3 -m pip install -q --disable-pip-version-check schemathesis >/dev/null 2>&1
OA=$(free_port); OD=$(free_port)
"$BIN" serve --zone tm.test --dnssec tm.test --dns-listen 127.0.0.1:$OD --api-listen 127.0.0.1:$OA --data-dir "$W/openapi-data" \
  --dns-workers 1 --probe-resolver 127.0.0.1:9 >"$W/signpost-openapi.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$OA/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
if schemathesis run "http://127.0.0.1:$OA/openapi.json" -n 30 --exclude-checks positive_data_acceptance \
     >"$W/schemathesis.log" 2>&1; then
  check "schemathesis: no 5xx, every response matches the OpenAPI document" "ok" "ok"
else
  check "schemathesis: no 5xx, every response matches the OpenAPI document" "ok" "failed (see below)"
  tail -60 "$W/schemathesis.log"
fi
check "the server survived schemathesis" "ok" "$(curl -sf "http://127.0.0.1:$OA/healthz" || echo down)"

# Azure's own Python SDK (azure-mgmt-trafficmanager, PyPI) against Signpost's ARM routes over
# HTTPS, with a certificate made here for 127.0.0.1 (the SDK refuses to send a bearer token over
# plain http): scripts/arm-sdk.py runs a Traffic Manager script's workflow and digs after each
# step. Every endpoint has alwaysServe, and names resolve only through 127.0.0.1:9: nothing is
# probed or looked up off this machine. The test City database places the heat map's ECS flow.
python3 -c 'import azure.mgmt.trafficmanager' 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check 'azure-mgmt-trafficmanager==2.0.0' >/dev/null 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
  -keyout "$W/arm-key.pem" -out "$W/arm-cert.pem" >/dev/null 2>&1
AA=$(free_port); AD=$(free_port); ARM_TOKEN=arm-sdk-admin-$RANDOM-0123456789
SIGNPOST_ADMIN_TOKEN=$ARM_TOKEN "$BIN" serve --zone tm.test --dns-listen 127.0.0.1:$AD \
  --api-listen 127.0.0.1:$AA --api-tls-cert "$W/arm-cert.pem" --api-tls-key "$W/arm-key.pem" \
  --data-dir "$W/arm-data" --dns-workers 1 --probe-resolver 127.0.0.1:9 --geoip "$W/geo.mmdb" \
  >"$W/signpost-arm.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -sf --cacert "$W/arm-cert.pem" "https://127.0.0.1:$AA/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
if python3 scripts/arm-sdk.py --base-url "https://127.0.0.1:$AA" --token "$ARM_TOKEN" \
     --ca "$W/arm-cert.pem" --dns-port "$AD" --zone tm.test >"$W/arm-sdk.log" 2>&1; then
  check "azure-mgmt-trafficmanager over HTTPS: $(grep -c '^ok' "$W/arm-sdk.log") checks of scripts/arm-sdk.py" "ok" "ok"
else
  check "azure-mgmt-trafficmanager over HTTPS (scripts/arm-sdk.py)" "ok" "failed (see below)"
  cat "$W/arm-sdk.log"; tail -20 "$W/signpost-arm.log"
fi

# The README's three-node fleet (scripts/fleet.sh): three etcd members and three nodes on loopback.
FLEET_ETCD=$(python3 -c '
import socket
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p + 21 > 65535: continue
    try:
        held = []
        for q in (p, p + 1, p + 10, p + 11, p + 20, p + 21):
            t = socket.socket(); t.bind(("127.0.0.1", q)); held.append(t)
        print(p); break
    except OSError:
        pass
    finally:
        for t in held: t.close()
')
if DNS_PORT=$(free_port) API_PORT=$(free_port) ETCD_PORT=$FLEET_ETCD SIGNPOST=$BIN \
     scripts/fleet.sh check "$W/fleet" >"$W/fleet.log" 2>&1; then
  check "scripts/fleet.sh check: three nodes on a three-member etcd" "ok" "ok"
else
  check "scripts/fleet.sh check: three nodes on a three-member etcd" "ok" "failed (see below)"
  cat "$W/fleet.log"
fi

# The web dashboard in headless Chromium, driven by Playwright (scripts/dashboard-test.sh).
if scripts/dashboard-test.sh >"$W/dashboard.log" 2>&1; then
  check "scripts/dashboard-test.sh: the dashboard in headless Chromium" "ok" "ok"
else
  check "scripts/dashboard-test.sh: the dashboard in headless Chromium" "ok" "failed (see below)"
  tail -80 "$W/dashboard.log"
fi

echo "e2e: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  echo "--- signpost log"; cat "$W/signpost.log"; echo "--- unbound log"; tail -20 "$W/unbound.log"
  exit 1
fi
