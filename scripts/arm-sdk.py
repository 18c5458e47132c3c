#!/usr/bin/env python3
"""Azure's own Python SDK (azure-mgmt-trafficmanager) against a live Signpost, unchanged but for
its base URL and a token Signpost issued: the workflow of a script written for Azure Traffic
Manager, with the DNS answer (dig) checked after each step. Prints one "ok"/"FAIL" line per check
and exits 1 on any failure.

  arm-sdk.py --base-url https://127.0.0.1:PORT --token ADMIN --ca cert.pem --dns-port N --zone tm.test

Over https the SDK verifies the server with --ca. Over http (a server without a certificate) the
SDK refuses to send a bearer token; a per-call policy then lifts that check for loopback only.
Every endpoint has alwaysServe: Enabled, so Signpost never probes the contoso-*.cloudapp.net
names (and the server runs with --probe-resolver 127.0.0.1:9: they never resolve off-machine).
"""

import argparse
import subprocess
import sys
import time

from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.trafficmanager import TrafficManagerManagementClient
from azure.mgmt.trafficmanager.models import (
    CheckTrafficManagerRelativeDnsNameAvailabilityParameters,
    DnsConfig,
    Endpoint,
    MonitorConfig,
    Profile,
)

SUB = "00000000-0000-0000-0000-000000000001"
RG = "rg-contoso"
OTHER_RG = "rg-elsewhere"
EXT = "ExternalEndpoints"  # the SDK's own spelling in its docs and samples
failures = 0


def check(what, want, got):
    global failures
    if want == got:
        print(f"ok   - {what}")
    else:
        failures += 1
        print(f"FAIL - {what}: expected [{want}], got [{got}]")


class Token:
    """A credential whose token is Signpost's own (no Entra ID involved)."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3600)


class LoopbackHttp(SansIOHTTPPolicy):
    """Lets the bearer token go over plain http to loopback (only used without --ca)."""

    def on_request(self, request):
        if request.http_request.url.startswith("http://127.0.0.1:"):
            request.context["enforce_https"] = False


def client(args, token):
    kwargs = {"base_url": args.base_url, "credential_scopes": ["https://management.azure.com/.default"]}
    if args.ca:
        kwargs["connection_verify"] = args.ca
    else:
        kwargs["per_call_policies"] = [LoopbackHttp()]
    # No retries: a permanent error must fail at once, and Signpost never answers one with a
    # status the SDK would retry.
    kwargs["retry_total"] = 0
    return TrafficManagerManagementClient(Token(token), SUB, **kwargs)


def dig(args, name, qtype="CNAME", subnet=None):
    ecs = [f"+subnet={subnet}"] if subnet else []
    out = subprocess.run(
        ["dig", "+norec", "+noall", "+answer", "+comments", *ecs, f"@127.0.0.1", "-p", str(args.dns_port), f"{name}.{args.zone}", qtype],
        capture_output=True, text=True, timeout=10,
    ).stdout
    status = "NXDOMAIN" if "NXDOMAIN" in out else "NOERROR"
    answers = [l.split() for l in out.splitlines() if l and not l.startswith(";")]
    return status, [(int(a[1]), a[4]) for a in answers if len(a) >= 5 and a[3] == qtype]


def eventually(args, what, name, want):
    """Waits (5 s at most) until `want(status, answers)` holds."""
    deadline = time.time() + 5
    got = None
    while time.time() < deadline:
        got = dig(args, name)
        if want(*got):
            break
        time.sleep(0.1)
    check(what, True, want(*got))
    if not want(*got):
        print(f"       dig said {got}")


def endpoint(name, target, location):
    return Endpoint(
        name=name,
        type="Microsoft.Network/trafficManagerProfiles/externalEndpoints",
        target=target,
        endpoint_location=location,
        endpoint_status="Enabled",
        always_serve="Enabled",
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--ca")
    p.add_argument("--dns-port", required=True, type=int)
    p.add_argument("--zone", default="tm.test")
    args = p.parse_args()
    tm = client(args, args.token)
    targets = {"contoso-us.cloudapp.net.", "contoso-eu.cloudapp.net.", "contoso-asia.cloudapp.net."}

    # Create a Performance profile with three endpoints.
    profile = Profile(
        location="global",
        tags={"team": "web"},
        profile_status="Enabled",
        traffic_routing_method="Performance",
        traffic_view_enrollment_status="Enabled",
        dns_config=DnsConfig(relative_name="contoso-sdk", ttl=30),
        monitor_config=MonitorConfig(protocol="HTTPS", port=443, path="/healthz"),
        endpoints=[
            endpoint("contoso-us", "contoso-us.cloudapp.net", "East US"),
            endpoint("contoso-eu", "contoso-eu.cloudapp.net", "West Europe"),
            endpoint("contoso-asia", "contoso-asia.cloudapp.net", "East Asia"),
        ],
    )
    made = tm.profiles.create_or_update(RG, "contoso-sdk", profile)
    check("create: the id is ARM's", f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/trafficManagerProfiles/contoso-sdk", made.id)
    check("create: fqdn in Signpost's zone", f"contoso-sdk.{args.zone}", made.dns_config.fqdn)
    check("create: three endpoints", 3, len(made.endpoints))
    eventually(args, "dig: the profile answers with one of its endpoints", "contoso-sdk",
               lambda st, a: st == "NOERROR" and len(a) == 1 and a[0][1] in targets)

    got = tm.profiles.get(RG, "contoso-sdk")
    check("get: tags and location", ({"team": "web"}, "global"), (got.tags, got.location))
    check("get: routing method", "Performance", got.traffic_routing_method)
    in_rg = [x.name for x in tm.profiles.list_by_resource_group(RG)]
    check("list by resource group holds it", True, "contoso-sdk" in in_rg)
    check("another resource group does not", False, "contoso-sdk" in [x.name for x in tm.profiles.list_by_resource_group(OTHER_RG)])
    check("list by subscription holds it", True, "contoso-sdk" in [x.name for x in tm.profiles.list_by_subscription()])

    # Read-modify-write: the document read back is a valid write.
    got.tags = {"team": "web", "stage": "prod"}
    got.monitor_config.path = "/ready"
    again = tm.profiles.create_or_update(RG, "contoso-sdk", got)
    check("read-modify-write keeps the endpoints", 3, len(again.endpoints))
    check("read-modify-write changed the path", "/ready", again.monitor_config.path)

    # PATCH the TTL.
    patched = tm.profiles.update(RG, "contoso-sdk", Profile(dns_config=DnsConfig(ttl=15)))
    check("update: TTL 15", 15, patched.dns_config.ttl)
    check("update: relative name kept", "contoso-sdk", patched.dns_config.relative_name)
    eventually(args, "dig: TTL 15", "contoso-sdk", lambda st, a: len(a) == 1 and a[0][0] == 15)

    # Endpoints: add, get, patch, replace, delete.
    added = tm.endpoints.create_or_update(RG, "contoso-sdk", EXT, "contoso-backup",
                                          endpoint("contoso-backup", "contoso-backup.cloudapp.net", "West US"))
    check("endpoint add: its id", f"{made.id}/externalEndpoints/contoso-backup", added.id)
    check("endpoint get", "contoso-backup.cloudapp.net", tm.endpoints.get(RG, "contoso-sdk", EXT, "contoso-backup").target)
    for name in ("contoso-us", "contoso-eu", "contoso-asia"):
        e = tm.endpoints.update(RG, "contoso-sdk", EXT, name, Endpoint(endpoint_status="Disabled"))
        check(f"endpoint patch: {name} disabled", "Disabled", e.endpoint_status)
    eventually(args, "dig: only the backup is left", "contoso-sdk",
               lambda st, a: [t for _, t in a] == ["contoso-backup.cloudapp.net."])
    tm.endpoints.create_or_update(RG, "contoso-sdk", EXT, "contoso-backup",
                                  endpoint("contoso-backup", "contoso-backup2.cloudapp.net", "West US"))
    eventually(args, "dig: the replaced backup", "contoso-sdk",
               lambda st, a: [t for _, t in a] == ["contoso-backup2.cloudapp.net."])
    tm.endpoints.update(RG, "contoso-sdk", EXT, "contoso-eu", Endpoint(endpoint_status="Enabled"))
    r = tm.endpoints.delete(RG, "contoso-sdk", EXT, "contoso-backup")
    check("endpoint delete: done", True, r is not None and r.operation_result)
    check("endpoint delete again: nothing to do", None, tm.endpoints.delete(RG, "contoso-sdk", EXT, "contoso-backup"))
    eventually(args, "dig: contoso-eu is back, alone", "contoso-sdk",
               lambda st, a: [t for _, t in a] == ["contoso-eu.cloudapp.net."])

    # Name availability, both calls.
    taken = tm.profiles.check_traffic_manager_relative_dns_name_availability(
        CheckTrafficManagerRelativeDnsNameAvailabilityParameters(name="contoso-sdk", type="Microsoft.Network/trafficManagerProfiles"))
    check("name availability: taken", (False, "AlreadyExists"), (taken.name_available, taken.reason))
    free = tm.profiles.check_traffic_manager_name_availability_v2(
        CheckTrafficManagerRelativeDnsNameAvailabilityParameters(name="contoso-free", type="Microsoft.Network/trafficManagerProfiles"))
    check("name availability v2: free", True, free.name_available)

    # The geographic hierarchy.
    geo = tm.geographic_hierarchies.get_default()
    check("geographic hierarchy: WORLD at the root", "WORLD", geo.geographic_hierarchy.code)

    # The user metrics key (Real User Measurements): made, read, removed.
    made_key = tm.traffic_manager_user_metrics_keys.create_or_update()
    check("user metrics key: made", True, bool(made_key.key))
    check("user metrics key: read back", made_key.key, tm.traffic_manager_user_metrics_keys.get().key)
    check("user metrics key: removed", True, tm.traffic_manager_user_metrics_keys.delete().operation_result)

    # Errors.
    try:
        tm.profiles.get(RG, "no-such-profile")
        check("404 for an absent profile", "ResourceNotFoundError", "no error")
    except ResourceNotFoundError as e:
        check("404 for an absent profile", ("ResourceNotFoundError", "ResourceNotFound"), (type(e).__name__, e.error.code))
    try:
        tm.profiles.create_or_update(OTHER_RG, "contoso-sdk", Profile(
            location="global", traffic_routing_method="Priority",
            dns_config=DnsConfig(relative_name="contoso-elsewhere", ttl=30)))
        check("409 for a name another group has", "ResourceExistsError", "no error")
    except ResourceExistsError as e:
        check("409 for a name another group has", ("ResourceExistsError", 409), (type(e).__name__, e.status_code))
    try:
        tm.profiles.update(RG, "contoso-sdk", Profile(dns_config=DnsConfig(ttl=-5)))
        check("400 naming the field", "HttpResponseError", "no error")
    except HttpResponseError as e:
        check("400 naming the field", (400, "BadRequest", "properties.dnsConfig.ttl"), (e.status_code, e.error.code, e.error.target))
    try:
        client(args, "not-the-token-0123456789").profiles.get(RG, "contoso-sdk")
        check("401 for a token Signpost did not issue", "ClientAuthenticationError", "no error")
    except ClientAuthenticationError as e:
        check("401 for a token Signpost did not issue", (401, "InvalidAuthenticationToken"), (e.status_code, e.error.code))

    # The heat map: the digs above came from 127.0.0.1, counted by Traffic View under 127.0.0.0/24;
    # two more with ECS from 198.51.100.0/24, which the server's GeoIP City database (scripts/e2e.sh,
    # `--geoip`) puts in California at 37.77, -122.42.
    for _ in range(2):
        dig(args, "contoso-sdk", subnet="198.51.100.7/32")
    heat = tm.heat_map.get(RG, "contoso-sdk", "default")
    check("heat map: its type", "Microsoft.Network/trafficManagerProfiles/heatMaps", heat.type)
    # The three, and the backup: deleted since, but it answered queries in the window.
    check("heat map: every endpoint that answered", 4, len(heat.endpoints))
    flows = {f.source_ip: sum(q.query_count for q in f.query_experiences) for f in heat.traffic_flows}
    check("heat map: queries from 127.0.0.0", True, flows.get("127.0.0.0", 0) > 0)
    placed = [f for f in heat.traffic_flows if f.latitude is not None]
    check("heat map: the placed flow has latitude and longitude", [(37.77, -122.42, 2)],
          [(f.latitude, f.longitude, sum(q.query_count for q in f.query_experiences)) for f in placed])
    check("heat map: a network the database does not know has none", None,
          next((f.latitude for f in heat.traffic_flows if f.source_ip == "127.0.0.0"), "no flow"))
    boxed = tm.heat_map.get(RG, "contoso-sdk", "default", top_left=[60.0, -130.0], bot_right=[20.0, -60.0])
    check("heat map in a box over North America: the California flow", [37.77],
          [f.latitude for f in boxed.traffic_flows or []])
    boxed = tm.heat_map.get(RG, "contoso-sdk", "default", top_left=[70.0, -10.0], bot_right=[35.0, 40.0])
    check("heat map in a box over Europe: none", 0, len(boxed.traffic_flows or []))

    # Delete twice.
    r = tm.profiles.delete(RG, "contoso-sdk")
    check("delete: done", True, r is not None and r.operation_result)
    check("delete again: nothing to do", None, tm.profiles.delete(RG, "contoso-sdk"))
    eventually(args, "dig: NXDOMAIN once deleted", "contoso-sdk", lambda st, a: st == "NXDOMAIN")

    print(f"{'all' if failures == 0 else failures} {'checks passed' if failures == 0 else 'failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
