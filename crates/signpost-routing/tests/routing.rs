//! The routing methods, health and nesting, exactly as the spec says; weighted selection checked
//! statistically with a fixed seed.

use std::collections::HashMap;
use std::net::IpAddr;

use signpost_model::{Limits, ProfileSet};
use signpost_routing::{
    AllHealthy, Decision, HealthView, MonitorStatus, Outcome, ProbeStatus, ProfileMonitorStatus,
    Query, QueryFamily, RoutingTable, Step, route,
};

fn set(yaml: &str) -> ProfileSet {
    let file = signpost_model::set::parse_profiles_file(yaml, false).unwrap();
    ProfileSet::from_docs(&file.profiles, &Limits::default()).unwrap()
}

type Health = HashMap<(String, String), ProbeStatus>;

fn health(entries: &[(&str, &str, ProbeStatus)]) -> Health {
    entries
        .iter()
        .map(|(p, e, s)| ((p.to_string(), e.to_string()), *s))
        .collect()
}

fn q(client: &str) -> Query<'static> {
    Query::new(client.parse::<IpAddr>().unwrap(), QueryFamily::V4)
}

/// Routes once and names the chosen endpoints ("NODATA"/"NXDOMAIN" otherwise).
fn pick(table: &RoutingTable, profile: &str, query: Query, rng: &mut fastrand::Rng) -> String {
    let id = table.by_name(profile).unwrap();
    let d: Decision = route(table, id, &query, rng, &mut ());
    name_of(table, d)
}

/// `explain` with each step rendered as the API and the CLI show it.
fn explain(
    table: &RoutingTable,
    id: signpost_routing::ProfileId,
    query: &Query,
    rng: &mut fastrand::Rng,
) -> (Decision, Vec<String>) {
    let (d, steps) = signpost_routing::explain(table, id, query, rng);
    (d, steps.iter().map(Step::to_string).collect())
}

fn name_of(table: &RoutingTable, d: Decision) -> String {
    match d.outcome {
        Outcome::NxDomain => "NXDOMAIN".into(),
        Outcome::ServFail => "SERVFAIL".into(),
        Outcome::NoData => "NODATA".into(),
        Outcome::Answer { profile, picks } => {
            let p = table.profile(profile);
            picks
                .as_slice()
                .iter()
                .map(|&i| p.endpoints[i as usize].name.clone())
                .collect::<Vec<_>>()
                .join(",")
        }
    }
}

fn one(yaml: &str, health: &dyn HealthView, profile: &str, client: &str) -> String {
    let table = RoutingTable::compile(&set(yaml), health);
    pick(&table, profile, q(client), &mut fastrand::Rng::with_seed(1))
}

const PRIORITY: &str = r#"
profiles:
  - name: p
    properties:
      trafficRoutingMethod: Priority
      endpoints:
        - { name: second, type: externalEndpoints, properties: { target: b.example.com, priority: 2 } }
        - { name: first, type: externalEndpoints, properties: { target: a.example.com, priority: 1 } }
        - { name: third, type: externalEndpoints, properties: { target: c.example.com, priority: 3 } }
"#;

#[test]
fn priority_takes_the_lowest_healthy_number() {
    assert_eq!(one(PRIORITY, &AllHealthy, "p", "192.0.2.1"), "first");
    let h = health(&[("p", "first", ProbeStatus::Degraded)]);
    assert_eq!(one(PRIORITY, &h, "p", "192.0.2.1"), "second");
    let h = health(&[
        ("p", "first", ProbeStatus::Degraded),
        ("p", "second", ProbeStatus::Degraded),
    ]);
    assert_eq!(one(PRIORITY, &h, "p", "192.0.2.1"), "third");
}

#[test]
fn checking_endpoints_count_as_healthy() {
    let h = health(&[("p", "first", ProbeStatus::Checking)]);
    assert_eq!(one(PRIORITY, &h, "p", "192.0.2.1"), "first");
    let table = RoutingTable::compile(&set(PRIORITY), &h);
    assert_eq!(
        table.profile(0).endpoints[1].status,
        MonitorStatus::CheckingEndpoint
    );
}

#[test]
fn disabled_endpoints_are_never_returned() {
    let yaml = PRIORITY.replace(
        "target: a.example.com, priority: 1",
        "target: a.example.com, priority: 1, endpointStatus: Disabled",
    );
    assert_eq!(one(&yaml, &AllHealthy, "p", "192.0.2.1"), "second");
}

#[test]
fn fail_open_when_every_enabled_endpoint_is_degraded() {
    let all_down = health(&[
        ("p", "first", ProbeStatus::Degraded),
        ("p", "second", ProbeStatus::Degraded),
        ("p", "third", ProbeStatus::Degraded),
    ]);
    let table = RoutingTable::compile(&set(PRIORITY), &all_down);
    assert!(table.profile(0).fail_open);
    assert_eq!(
        table.profile(0).monitor_status,
        ProfileMonitorStatus::Degraded
    );
    assert_eq!(
        pick(
            &table,
            "p",
            q("192.0.2.1"),
            &mut fastrand::Rng::with_seed(1)
        ),
        "first",
        "routes as if all were healthy"
    );
    let (_, steps) = explain(&table, 0, &q("192.0.2.1"), &mut fastrand::Rng::with_seed(1));
    assert!(steps.iter().any(|s| s.contains("fail-open")), "{steps:?}");
    // A disabled endpoint does not count: two degraded and one disabled is still fail-open...
    let yaml = PRIORITY.replace("priority: 3", "priority: 3, endpointStatus: Disabled");
    let table = RoutingTable::compile(&set(&yaml), &all_down);
    assert!(table.profile(0).fail_open);
    // ...but one healthy endpoint ends it.
    let h = health(&[
        ("p", "first", ProbeStatus::Degraded),
        ("p", "second", ProbeStatus::Degraded),
    ]);
    let table = RoutingTable::compile(&set(PRIORITY), &h);
    assert!(!table.profile(0).fail_open);
}

#[test]
fn always_serve_endpoints_are_unmonitored_and_always_eligible() {
    let yaml = PRIORITY.replace(
        "target: a.example.com, priority: 1",
        "target: a.example.com, priority: 1, alwaysServe: Enabled",
    );
    let h = health(&[
        ("p", "first", ProbeStatus::Degraded),
        ("p", "second", ProbeStatus::Degraded),
    ]);
    let table = RoutingTable::compile(&set(&yaml), &h);
    let first = table
        .profile(0)
        .endpoints
        .iter()
        .find(|e| e.name == "first")
        .unwrap();
    assert_eq!(first.status, MonitorStatus::Unmonitored);
    assert_eq!(
        pick(
            &table,
            "p",
            q("192.0.2.1"),
            &mut fastrand::Rng::with_seed(1)
        ),
        "first"
    );
}

#[test]
fn disabled_profile_or_all_endpoints_disabled_is_nxdomain() {
    let yaml = PRIORITY.replace(
        "trafficRoutingMethod: Priority",
        "trafficRoutingMethod: Priority\n      profileStatus: Disabled",
    );
    let table = RoutingTable::compile(&set(&yaml), &AllHealthy);
    assert_eq!(
        table.profile(0).monitor_status,
        ProfileMonitorStatus::Disabled
    );
    assert_eq!(
        table.profile(0).endpoints[0].status,
        MonitorStatus::Inactive
    );
    assert_eq!(
        pick(&table, "p", q("192.0.2.1"), &mut fastrand::Rng::new()),
        "NXDOMAIN"
    );
    let yaml = PRIORITY.replace(", priority:", ", endpointStatus: Disabled, priority:");
    let table = RoutingTable::compile(&set(&yaml), &AllHealthy);
    assert_eq!(
        table.profile(0).monitor_status,
        ProfileMonitorStatus::Inactive
    );
    assert_eq!(
        pick(&table, "p", q("192.0.2.1"), &mut fastrand::Rng::new()),
        "NXDOMAIN"
    );
}

const WEIGHTED: &str = r#"
profiles:
  - name: w
    properties:
      trafficRoutingMethod: Weighted
      endpoints:
        - { name: big, type: externalEndpoints, properties: { target: big.example.com, weight: 600 } }
        - { name: mid, type: externalEndpoints, properties: { target: mid.example.com, weight: 300 } }
        - { name: small, type: externalEndpoints, properties: { target: small.example.com, weight: 100 } }
"#;

fn shares(table: &RoutingTable, draws: usize) -> HashMap<String, f64> {
    let mut rng = fastrand::Rng::with_seed(0x5EED);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..draws {
        *counts
            .entry(pick(table, "w", q("192.0.2.1"), &mut rng))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(k, v)| (k, v as f64 / draws as f64))
        .collect()
}

/// 100,000 draws: each share within 1 percentage point of weight / total (the binomial standard
/// deviation at p = 0.5 is 0.16 points, so this is over 6 sigma).
#[test]
fn weighted_draws_follow_the_weights() {
    let table = RoutingTable::compile(&set(WEIGHTED), &AllHealthy);
    let s = shares(&table, 100_000);
    for (name, expected) in [("big", 0.6), ("mid", 0.3), ("small", 0.1)] {
        assert!(
            (s[name] - expected).abs() < 0.01,
            "{name}: {} vs {expected}",
            s[name]
        );
    }
}

#[test]
fn weighted_draws_only_among_healthy_endpoints() {
    let h = health(&[("w", "big", ProbeStatus::Degraded)]);
    let table = RoutingTable::compile(&set(WEIGHTED), &h);
    let s = shares(&table, 100_000);
    assert!(!s.contains_key("big"));
    assert!((s["mid"] - 0.75).abs() < 0.01, "{s:?}");
    assert!((s["small"] - 0.25).abs() < 0.01, "{s:?}");
}

const MULTI: &str = r#"
profiles:
  - name: m
    properties:
      trafficRoutingMethod: MultiValue
      maxReturn: 2
      endpoints:
        - { name: a1, type: externalEndpoints, properties: { target: 192.0.2.1 } }
        - { name: a2, type: externalEndpoints, properties: { target: 192.0.2.2 } }
        - { name: a3, type: externalEndpoints, properties: { target: 192.0.2.3 } }
        - { name: b1, type: externalEndpoints, properties: { target: "2001:db8::1" } }
"#;

#[test]
fn multivalue_returns_up_to_max_return_healthy_addresses_of_the_family() {
    let table = RoutingTable::compile(&set(MULTI), &AllHealthy);
    let mut rng = fastrand::Rng::with_seed(9);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for _ in 0..30_000 {
        let got = pick(&table, "m", q("192.0.2.9"), &mut rng);
        assert_eq!(got.split(',').count(), 2, "{got}");
        for name in got.split(',') {
            assert!(name.starts_with('a'));
            *seen.entry(name.to_string()).or_default() += 1;
        }
    }
    // Every address is in a uniform 2-of-3 subset two thirds of the time.
    for n in ["a1", "a2", "a3"] {
        let share = seen[n] as f64 / 30_000.0;
        assert!((share - 2.0 / 3.0).abs() < 0.02, "{n}: {share}");
    }
    let v6 = Query {
        family: QueryFamily::V6,
        ..q("192.0.2.9")
    };
    assert_eq!(pick(&table, "m", v6, &mut rng), "b1");
    let other = Query {
        family: QueryFamily::Neither,
        ..q("192.0.2.9")
    };
    assert_eq!(pick(&table, "m", other, &mut rng), "NODATA");
    let h = health(&[
        ("m", "a1", ProbeStatus::Degraded),
        ("m", "a2", ProbeStatus::Degraded),
    ]);
    let table = RoutingTable::compile(&set(MULTI), &h);
    assert_eq!(pick(&table, "m", q("192.0.2.9"), &mut rng), "a3");
}

#[test]
fn multivalue_rotates_which_address_comes_first() {
    // maxReturn 3 of three: every answer holds all of them, but each leads a third of the time.
    let all = MULTI.replace("maxReturn: 2", "maxReturn: 3");
    let table = RoutingTable::compile(&set(&all), &AllHealthy);
    let mut rng = fastrand::Rng::with_seed(11);
    let mut first: HashMap<String, usize> = HashMap::new();
    for _ in 0..30_000 {
        let got = pick(&table, "m", q("192.0.2.9"), &mut rng);
        assert_eq!(got.split(',').count(), 3, "{got}");
        *first
            .entry(got.split(',').next().unwrap().to_string())
            .or_default() += 1;
    }
    for n in ["a1", "a2", "a3"] {
        let share = first[n] as f64 / 30_000.0;
        assert!((share - 1.0 / 3.0).abs() < 0.02, "{n} first: {share}");
    }
    // ANY: maxReturn counts per family, three A and the one AAAA.
    let any = Query {
        family: QueryFamily::Both,
        ..q("192.0.2.9")
    };
    assert_eq!(pick(&table, "m", any, &mut rng).split(',').count(), 4);
}

const SUBNET: &str = r#"
profiles:
  - name: s
    properties:
      trafficRoutingMethod: Subnet
      endpoints:
        - { name: office, type: externalEndpoints, properties: { target: office.example.com, subnets: [ { first: 10.1.0.0, scope: 16 } ] } }
        - { name: lab, type: externalEndpoints, properties: { target: lab.example.com, subnets: [ { first: 10.2.0.5, last: 10.2.0.9 } ] } }
        - { name: rest, type: externalEndpoints, properties: { target: rest.example.com } }
"#;

#[test]
fn subnet_matches_ranges_and_falls_back() {
    let table = RoutingTable::compile(&set(SUBNET), &AllHealthy);
    let mut rng = fastrand::Rng::new();
    assert_eq!(pick(&table, "s", q("10.1.200.3"), &mut rng), "office");
    assert_eq!(pick(&table, "s", q("10.2.0.7"), &mut rng), "lab");
    assert_eq!(pick(&table, "s", q("10.2.0.10"), &mut rng), "rest");
    let d = route(&table, 0, &q("10.1.200.3"), &mut rng, &mut ());
    assert_eq!(d.scope, 16);
    // An unhealthy match falls back (Azure answers NXDOMAIN here; we keep users served)...
    let h = health(&[("s", "office", ProbeStatus::Degraded)]);
    let table = RoutingTable::compile(&set(SUBNET), &h);
    assert_eq!(pick(&table, "s", q("10.1.200.3"), &mut rng), "rest");
    // ...and with nothing left, NODATA.
    let h = health(&[
        ("s", "office", ProbeStatus::Degraded),
        ("s", "rest", ProbeStatus::Degraded),
    ]);
    let table = RoutingTable::compile(&set(SUBNET), &h);
    assert_eq!(pick(&table, "s", q("10.1.200.3"), &mut rng), "NODATA");
}

#[test]
fn a_disabled_endpoints_ranges_count_as_absent() {
    let yaml = SUBNET.replace(
        "target: office.example.com,",
        "target: office.example.com, endpointStatus: Disabled,",
    );
    assert_eq!(one(&yaml, &AllHealthy, "s", "10.1.0.1"), "rest");
    let no_fallback = SUBNET.replace("        - { name: rest, type: externalEndpoints, properties: { target: rest.example.com } }\n", "");
    assert_eq!(one(&no_fallback, &AllHealthy, "s", "192.0.2.1"), "NODATA");
}

#[test]
fn subnet_overrides_come_before_the_method() {
    let yaml = PRIORITY.replace(
        "target: c.example.com, priority: 3",
        "target: c.example.com, priority: 3, subnets: [ { first: 203.0.113.0, scope: 24 } ]",
    );
    assert_eq!(one(&yaml, &AllHealthy, "p", "203.0.113.7"), "third");
    assert_eq!(one(&yaml, &AllHealthy, "p", "198.51.100.7"), "first");
    // Priority/Weighted/Performance overrides apply only while the endpoint is healthy.
    let h = health(&[("p", "third", ProbeStatus::Degraded)]);
    assert_eq!(one(&yaml, &h, "p", "203.0.113.7"), "first");
}

const NESTED: &str = r#"
profiles:
  - name: parent
    properties:
      trafficRoutingMethod: Priority
      endpoints:
        - { name: child, type: nestedEndpoints, properties: { targetResourceId: /subscriptions/x/resourceGroups/y/providers/Microsoft.Network/trafficManagerProfiles/child, priority: 1, minChildEndpoints: 2 } }
        - { name: backup, type: externalEndpoints, properties: { target: backup.example.com, priority: 2 } }
  - name: child
    properties:
      trafficRoutingMethod: Priority
      endpoints:
        - { name: c1, type: externalEndpoints, properties: { target: c1.example.com } }
        - { name: c2, type: externalEndpoints, properties: { target: c2.example.com } }
        - { name: c3, type: externalEndpoints, properties: { target: c3.example.com } }
"#;

#[test]
fn nested_answers_with_the_childs_choice() {
    assert_eq!(one(NESTED, &AllHealthy, "parent", "192.0.2.1"), "c1");
    let h = health(&[("child", "c1", ProbeStatus::Degraded)]);
    assert_eq!(
        one(NESTED, &h, "parent", "192.0.2.1"),
        "c2",
        "two children healthy still meets minChildEndpoints 2"
    );
}

#[test]
fn nested_endpoint_below_min_child_endpoints_is_degraded() {
    let h = health(&[
        ("child", "c1", ProbeStatus::Degraded),
        ("child", "c2", ProbeStatus::Degraded),
    ]);
    let table = RoutingTable::compile(&set(NESTED), &h);
    let parent = table.profile(table.by_name("parent").unwrap());
    assert_eq!(parent.endpoints[0].status, MonitorStatus::Degraded);
    assert_eq!(
        pick(&table, "parent", q("192.0.2.1"), &mut fastrand::Rng::new()),
        "backup"
    );
}

#[test]
fn nested_endpoint_of_checking_children_is_checking() {
    let h = health(&[
        ("child", "c1", ProbeStatus::Checking),
        ("child", "c2", ProbeStatus::Checking),
        ("child", "c3", ProbeStatus::Checking),
    ]);
    let table = RoutingTable::compile(&set(NESTED), &h);
    let parent = table.profile(table.by_name("parent").unwrap());
    assert_eq!(parent.endpoints[0].status, MonitorStatus::CheckingEndpoint);
    assert!(parent.endpoints[0].eligible);
}

#[test]
fn a_disabled_child_stops_the_nested_endpoint() {
    let yaml = NESTED.replace(
        "  - name: child\n    properties:\n",
        "  - name: child\n    properties:\n      profileStatus: Disabled\n",
    );
    let table = RoutingTable::compile(&set(&yaml), &AllHealthy);
    let parent = table.profile(table.by_name("parent").unwrap());
    assert_eq!(parent.endpoints[0].status, MonitorStatus::Stopped);
    assert_eq!(
        pick(&table, "parent", q("192.0.2.1"), &mut fastrand::Rng::new()),
        "backup"
    );
    // Stopped does not count for fail-open: with backup degraded the parent is not in fail-open,
    // it fails open over backup alone.
    let h = health(&[("parent", "backup", ProbeStatus::Degraded)]);
    let table = RoutingTable::compile(&set(&yaml), &h);
    let parent = table.profile(table.by_name("parent").unwrap());
    assert!(parent.fail_open);
    assert_eq!(
        pick(&table, "parent", q("192.0.2.1"), &mut fastrand::Rng::new()),
        "backup"
    );
}

#[test]
fn min_child_endpoints_by_family() {
    let yaml = r#"
profiles:
  - name: parent
    properties:
      trafficRoutingMethod: Priority
      endpoints:
        - { name: child, type: nestedEndpoints, properties: { targetResourceId: child, priority: 1, minChildEndpoints: 1, minChildEndpointsIPv4: 1, minChildEndpointsIPv6: 1 } }
        - { name: backup, type: nestedEndpoints, properties: { targetResourceId: spare, priority: 2 } }
  - name: child
    properties:
      trafficRoutingMethod: MultiValue
      endpoints:
        - { name: v4, type: externalEndpoints, properties: { target: 192.0.2.1 } }
        - { name: v6, type: externalEndpoints, properties: { target: "2001:db8::1" } }
  - name: spare
    properties:
      trafficRoutingMethod: Priority
      endpoints:
        - { name: s, type: externalEndpoints, properties: { target: 192.0.2.9 } }
"#;
    assert_eq!(one(yaml, &AllHealthy, "parent", "192.0.2.1"), "v4");
    let h = health(&[("child", "v6", ProbeStatus::Degraded)]);
    assert_eq!(
        one(yaml, &h, "parent", "192.0.2.1"),
        "s",
        "no healthy IPv6 child: the nested endpoint is Degraded"
    );
}

#[test]
fn geographic_without_geoip_uses_world_whatever_its_health() {
    let yaml = r#"
profiles:
  - name: g
    properties:
      trafficRoutingMethod: Geographic
      endpoints:
        - { name: eu, type: externalEndpoints, properties: { target: eu.example.com, geoMapping: [GEO-EU] } }
        - { name: world, type: externalEndpoints, properties: { target: w.example.com, geoMapping: [WORLD] } }
        - { name: corp, type: externalEndpoints, properties: { target: corp.example.com, geoMapping: [US-CA], subnets: [ { first: 10.0.0.0, scope: 8 } ] } }
"#;
    assert_eq!(
        one(yaml, &AllHealthy, "g", "192.0.2.1"),
        "world",
        "without GeoIP only WORLD applies"
    );
    let h = health(&[("g", "world", ProbeStatus::Degraded)]);
    assert_eq!(
        one(yaml, &h, "g", "192.0.2.1"),
        "world",
        "the geo-fence is never crossed"
    );
    let h = health(&[("g", "corp", ProbeStatus::Degraded)]);
    assert_eq!(
        one(yaml, &h, "g", "10.9.9.9"),
        "corp",
        "Geographic subnet overrides ignore health"
    );
    let no_world = yaml.replace("[WORLD]", "[GEO-NA]");
    assert_eq!(one(&no_world, &AllHealthy, "g", "192.0.2.1"), "NODATA");
}

/// `allDownPolicy` on Geographic: the geo-fence ignores health, but when every endpoint is
/// Degraded the policy decides, as for every other method (noData was ignored: Degraded endpoints
/// were still served).
#[test]
fn geographic_all_down_policies_apply_like_the_other_methods() {
    let yaml = |policy: &str| {
        format!(
            r#"
profiles:
  - name: g
    properties:
      trafficRoutingMethod: Geographic
      allDownPolicy: {policy}
      endpoints:
        - {{ name: eu, type: externalEndpoints, properties: {{ target: eu.example.com, geoMapping: [GEO-EU] }} }}
        - {{ name: world, type: externalEndpoints, properties: {{ target: w.example.com, geoMapping: [WORLD], subnets: [ {{ first: 10.0.0.0, scope: 8 }} ] }} }}
"#
        )
    };
    let all_down = health(&[
        ("g", "eu", ProbeStatus::Degraded),
        ("g", "world", ProbeStatus::Degraded),
    ]);
    let one_down = health(&[("g", "world", ProbeStatus::Degraded)]);
    for client in ["192.0.2.1", "10.1.2.3"] {
        // Mapped by WORLD, and by the subnet override.
        assert_eq!(one(&yaml("noData"), &all_down, "g", client), "NODATA");
        assert_eq!(one(&yaml("servFail"), &all_down, "g", client), "SERVFAIL");
        assert_eq!(
            one(&yaml("serveAll"), &all_down, "g", client),
            "world",
            "serveAll: fail-open"
        );
        // Not all down: the fence holds whatever the policy (Azure: no failover in Geographic).
        assert_eq!(one(&yaml("noData"), &one_down, "g", client), "world");
    }
    let table = RoutingTable::compile(&set(&yaml("noData")), &all_down);
    assert!(table.profile(0).all_down && !table.profile(0).fail_open);
    let (_, steps) = explain(&table, 0, &q("192.0.2.1"), &mut fastrand::Rng::with_seed(1));
    assert!(
        steps.iter().any(|s| s.contains("all-down policy noData")),
        "{steps:?}"
    );
}

#[test]
fn performance_without_latency_data_ranks_regions_in_order_and_spreads_within_one() {
    let yaml = r#"
profiles:
  - name: perf
    properties:
      trafficRoutingMethod: Performance
      endpoints:
        - { name: weu1, type: externalEndpoints, properties: { target: weu1.example.com, endpointLocation: West Europe } }
        - { name: eus, type: externalEndpoints, properties: { target: eus.example.com, endpointLocation: East US } }
        - { name: weu2, type: externalEndpoints, properties: { target: weu2.example.com, endpointLocation: West Europe } }
"#;
    let table = RoutingTable::compile(&set(yaml), &AllHealthy);
    let mut rng = fastrand::Rng::with_seed(3);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..10_000 {
        *counts
            .entry(pick(&table, "perf", q("192.0.2.1"), &mut rng))
            .or_default() += 1;
    }
    assert!(!counts.contains_key("eus"));
    assert!(
        (counts["weu1"] as f64 / 10_000.0 - 0.5).abs() < 0.03,
        "{counts:?}"
    );
    let h = health(&[
        ("perf", "weu1", ProbeStatus::Degraded),
        ("perf", "weu2", ProbeStatus::Degraded),
    ]);
    assert_eq!(
        one(yaml, &h, "perf", "192.0.2.1"),
        "eus",
        "next region when the closest is down"
    );
}

/// The same explanation as values: the whole walk, step by step.
#[test]
fn explain_steps_are_values() {
    let h = health(&[("p", "first", ProbeStatus::Degraded)]);
    let table = RoutingTable::compile(&set(PRIORITY), &h);
    let (_, steps) =
        signpost_routing::explain(&table, 0, &q("192.0.2.1"), &mut fastrand::Rng::with_seed(1));
    assert_eq!(
        steps,
        vec![
            Step::Profile {
                name: "p".into(),
                method: signpost_model::RoutingMethod::Priority,
                status: ProfileMonitorStatus::Degraded,
            },
            Step::PrioritySkipped {
                priority: 1,
                endpoint: "first".into(),
                status: MonitorStatus::Degraded,
            },
            Step::Answer {
                endpoint: "second".into(),
                record: signpost_routing::EndpointAnswer::Name("b.example.com".into()),
            },
        ]
    );
}

#[test]
fn explain_names_the_endpoint_and_the_reason() {
    let h = health(&[("p", "first", ProbeStatus::Degraded)]);
    let table = RoutingTable::compile(&set(PRIORITY), &h);
    let (d, steps) = explain(&table, 0, &q("192.0.2.1"), &mut fastrand::Rng::with_seed(1));
    assert_eq!(name_of(&table, d), "second");
    let text = steps.join("\n");
    assert!(
        text.contains("priority 1 endpoint \"first\" skipped: Degraded"),
        "{text}"
    );
    assert!(
        text.contains("answer: endpoint \"second\" (CNAME b.example.com)"),
        "{text}"
    );
}

/// A stand-in for GeoIP: every address is at the given coordinates, in a /24.
struct At(f64, f64);

impl signpost_routing::Locate for At {
    fn locate(&self, _addr: IpAddr) -> (Option<signpost_model::Location>, u8) {
        (
            Some(
                signpost_model::Location::new(None, None, None)
                    .with_coordinates(Some((self.0, self.1))),
            ),
            24,
        )
    }
}

/// A locator that counts its lookups (Paris, /24).
struct Counting(std::cell::Cell<usize>);

impl signpost_routing::Locate for Counting {
    fn locate(&self, addr: IpAddr) -> (Option<signpost_model::Location>, u8) {
        self.0.set(self.0.get() + 1);
        At(48.86, 2.35).locate(addr)
    }
}

#[test]
fn nested_geographic_and_performance_levels_share_one_geoip_lookup() {
    let yaml = r#"
profiles:
  - name: world
    properties:
      trafficRoutingMethod: Geographic
      endpoints:
        - { name: everyone, type: nestedEndpoints, properties: { targetResourceId: fast, geoMapping: [WORLD] } }
  - name: fast
    properties:
      trafficRoutingMethod: Performance
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: us.example.com, endpointLocation: East US } }
        - { name: eu, type: externalEndpoints, properties: { target: eu.example.com, endpointLocation: West Europe } }
"#;
    let table = RoutingTable::compile(&set(yaml), &AllHealthy);
    let counting = Counting(std::cell::Cell::new(0));
    let q = Query {
        client: "198.51.100.1".parse().unwrap(),
        family: QueryFamily::V4,
        locator: Some(&counting),
        latency: None,
    };
    let d = route(&table, 0, &q, &mut fastrand::Rng::with_seed(1), &mut ());
    assert_eq!((name_of(&table, d).as_str(), d.scope), ("eu", 24));
    assert_eq!(counting.0.get(), 1, "both levels decided on one lookup");
}

#[test]
fn performance_sends_clients_to_the_closest_healthy_region() {
    let yaml = r#"
profiles:
  - name: perf
    properties:
      trafficRoutingMethod: Performance
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: us.example.com, endpointLocation: East US } }
        - { name: eu, type: externalEndpoints, properties: { target: eu.example.com, endpointLocation: westeurope } }
        - { name: asia, type: externalEndpoints, properties: { target: asia.example.com, endpointLocation: ap-southeast-1 } }
"#;
    let paris = At(48.86, 2.35);
    let new_york = At(40.71, -74.0);
    let jakarta = At(-6.2, 106.8);
    let run = |h: &dyn HealthView, at: &At| {
        let table = RoutingTable::compile(&set(yaml), h);
        let q = Query {
            client: "198.51.100.1".parse().unwrap(),
            family: QueryFamily::V4,
            locator: Some(at),
            latency: None,
        };
        let (d, steps) = explain(&table, 0, &q, &mut fastrand::Rng::with_seed(5));
        (name_of(&table, d), d.scope, steps)
    };
    assert_eq!(run(&AllHealthy, &paris).0, "eu");
    assert_eq!(run(&AllHealthy, &new_york).0, "us");
    let (name, scope, steps) = run(&AllHealthy, &jakarta);
    assert_eq!((name.as_str(), scope), ("asia", 24));
    assert!(
        steps
            .iter()
            .any(|s| s.contains("regions by distance: ap-southeast-1")),
        "{steps:?}"
    );
    // The closest region down: the next closest.
    let h = health(&[("perf", "eu", ProbeStatus::Degraded)]);
    assert_eq!(
        run(&h, &paris).0,
        "us",
        "New York is closer to Paris than Singapore"
    );
}

/// A stand-in latency table: every address in a /16 with these figures.
struct Table(Vec<(String, u32)>);

impl signpost_routing::LatencySource for Table {
    fn latencies(&self, _addr: IpAddr) -> signpost_routing::Latencies<'_> {
        signpost_routing::Latencies {
            entries: Some(&self.0),
            prefix: 16,
            scope: 16,
        }
    }
}

#[test]
fn a_latency_table_outranks_distance() {
    let yaml = r#"
profiles:
  - name: perf
    properties:
      trafficRoutingMethod: Performance
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: us.example.com, endpointLocation: East US } }
        - { name: eu, type: externalEndpoints, properties: { target: eu.example.com, endpointLocation: West Europe } }
"#;
    let paris = At(48.86, 2.35);
    // Measured: from this network East US answers faster, whatever the map says.
    let table = Table(vec![("East US".into(), 12), ("West Europe".into(), 40)]);
    let run = |h: &dyn HealthView| {
        let t = RoutingTable::compile(&set(yaml), h);
        let q = Query {
            client: "198.51.100.1".parse().unwrap(),
            family: QueryFamily::V4,
            locator: Some(&paris),
            latency: Some(&table),
        };
        let (d, steps) = explain(&t, 0, &q, &mut fastrand::Rng::with_seed(5));
        (name_of(&t, d), d.scope, steps)
    };
    let (name, scope, steps) = run(&AllHealthy);
    assert_eq!(
        (name.as_str(), scope),
        ("us", 16),
        "the decision depended on the table line /16 only"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.contains("latency table line /16") && s.contains("East US 12 ms")),
        "{steps:?}"
    );
    let h = health(&[("perf", "us", ProbeStatus::Degraded)]);
    assert_eq!(run(&h).0, "eu", "next lowest latency");
}

fn forced(state: signpost_model::OverrideState, reason: &str) -> signpost_model::Override {
    signpost_model::Override {
        state,
        reason: reason.into(),
        expires_at: None,
        created_at: signpost_model::UtcTime(0),
        created_by: None,
    }
}

/// Operator overrides: forced down takes an endpoint out whatever its probes say, forced up
/// serves a Degraded one, Disabled still wins over forced up, and explain says so next to the
/// step that skipped the endpoint.
#[test]
fn overrides_decide_over_the_probes_but_not_over_disabled() {
    use signpost_model::OverrideState::{Degraded, Online};
    use signpost_routing::WithOverrides;

    let probes = health(&[("p", "second", ProbeStatus::Degraded)]);
    let mut overrides = HashMap::new();
    overrides.insert(
        ("p".to_string(), "first".to_string()),
        forced(Degraded, "maintenance"),
    );
    let view = WithOverrides {
        health: &probes,
        overrides: &overrides,
    };
    assert_eq!(one(PRIORITY, &view, "p", "192.0.2.1"), "third");
    let table = RoutingTable::compile(&set(PRIORITY), &view);
    let p = table.profile(table.by_name("p").unwrap());
    let first = p.endpoints.iter().find(|e| e.name == "first").unwrap();
    assert_eq!(first.status, MonitorStatus::Degraded);
    assert_eq!(first.forced.as_ref().unwrap().reason, "maintenance");
    let (_, steps) = explain(&table, 0, &q("192.0.2.1"), &mut fastrand::Rng::with_seed(1));
    let skipped = steps
        .iter()
        .position(|s| s.starts_with("priority 1 endpoint \"first\" skipped"))
        .unwrap();
    assert_eq!(
        steps[skipped + 1],
        "endpoint \"first\" is forced down (Degraded) by an operator override, whatever its probes say: maintenance"
    );

    // Names match without case; forced up serves the Degraded endpoint.
    overrides.clear();
    overrides.insert(
        ("p".to_string(), "second".to_string()),
        forced(Online, "probe is wrong"),
    );
    let probes = health(&[
        ("p", "first", ProbeStatus::Degraded),
        ("p", "second", ProbeStatus::Degraded),
    ]);
    let view = WithOverrides {
        health: &probes,
        overrides: &overrides,
    };
    assert_eq!(one(PRIORITY, &view, "p", "192.0.2.1"), "second");

    // Disabled wins over forced up.
    let disabled = PRIORITY.replace(
        "target: b.example.com, priority: 2",
        "target: b.example.com, priority: 2, endpointStatus: Disabled",
    );
    assert_eq!(one(&disabled, &view, "p", "192.0.2.1"), "third");
}
