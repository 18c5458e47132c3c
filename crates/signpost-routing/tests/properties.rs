//! Properties of the pure routing core, over generated profiles and health: Weighted picks only
//! eligible endpoints, each for exactly its weight's share of the draws; fail-open exactly when
//! every enabled endpoint is Degraded; Priority always picks the lowest healthy; Subnet's ECS
//! scope is exactly the widest block around the client with the same range lookup.
//!
//! Profiles go through the real model (YAML, validation), so every generated case is one the
//! server could load. Each property runs proptest's default 256 cases or fewer.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use signpost_model::{Limits, ProfileSet};
use signpost_routing::{
    HealthView, MonitorStatus, Outcome, ProbeStatus, Query, QueryFamily, RoutingTable, Step,
    explain, route,
};

/// One generated endpoint: whether it is enabled, what its probe says, and a number (weight or
/// priority, as the method reads it).
#[derive(Debug, Clone)]
struct Ep {
    enabled: bool,
    probe: ProbeStatus,
    number: u16,
}

impl Ep {
    fn healthy(&self) -> bool {
        self.enabled && self.probe != ProbeStatus::Degraded
    }

    fn degraded(&self) -> bool {
        self.enabled && self.probe == ProbeStatus::Degraded
    }
}

fn probe() -> impl Strategy<Value = ProbeStatus> {
    prop_oneof![
        Just(ProbeStatus::Online),
        Just(ProbeStatus::Degraded),
        Just(ProbeStatus::Checking),
    ]
}

/// 1..=8 endpoints, most of them enabled, each with a number in `numbers`.
fn endpoints(numbers: std::ops::RangeInclusive<u16>) -> impl Strategy<Value = Vec<Ep>> {
    prop::collection::vec(
        (prop::bool::weighted(0.85), probe(), numbers).prop_map(|(enabled, probe, number)| Ep {
            enabled,
            probe,
            number,
        }),
        1..=8,
    )
}

type Health = HashMap<(String, String), ProbeStatus>;

fn health(eps: &[Ep]) -> Health {
    eps.iter()
        .enumerate()
        .map(|(i, e)| (("p".to_string(), format!("e{i}")), e.probe))
        .collect()
}

/// Profile `p` with `method`, `policy`, and one external endpoint `e{i}` per entry; `field` says
/// what `Ep::number` is (`weight` or `priority`).
fn yaml(method: &str, policy: &str, field: &str, eps: &[Ep]) -> String {
    let mut y = format!(
        "profiles:\n  - name: p\n    properties:\n      trafficRoutingMethod: {method}\n      allDownPolicy: {policy}\n      endpoints:\n"
    );
    for (i, e) in eps.iter().enumerate() {
        let status = if e.enabled { "Enabled" } else { "Disabled" };
        y.push_str(&format!(
            "        - {{ name: e{i}, type: externalEndpoints, properties: {{ target: e{i}.example.com, {field}: {}, endpointStatus: {status} }} }}\n",
            e.number
        ));
    }
    y
}

fn compile(yaml: &str, health: &dyn HealthView) -> RoutingTable {
    let file = signpost_model::set::parse_profiles_file(yaml, false).unwrap();
    let set = ProfileSet::from_docs(&file.profiles, &Limits::default()).unwrap();
    RoutingTable::compile(&set, health)
}

fn v4(a: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

/// The single endpoint index an outcome answers with, if it is an answer.
fn single(outcome: Outcome) -> Option<u16> {
    match outcome {
        Outcome::Answer { picks, .. } => {
            assert_eq!(picks.as_slice().len(), 1, "one endpoint per answer");
            Some(picks.as_slice()[0])
        }
        _ => None,
    }
}

/// Distinct priorities 1..=n in a random order, as validation requires them unique.
fn priority_endpoints() -> impl Strategy<Value = Vec<Ep>> {
    endpoints(1..=1).prop_flat_map(|eps| {
        let n = eps.len() as u16;
        Just((1..=n).collect::<Vec<u16>>())
            .prop_shuffle()
            .prop_map(move |order| {
                let mut eps = eps.clone();
                for (e, p) in eps.iter_mut().zip(order) {
                    e.number = p;
                }
                eps
            })
    })
}

proptest! {
    /// Every Weighted pick is an eligible endpoint, and the draw the explain trace reports maps
    /// to it through the eligible endpoints' weights in document order: each eligible endpoint
    /// owns exactly `weight` of the `total` draws. (That the draws are uniform, so picks come in
    /// proportion, is measured by `routing.rs`'s Weighted share tests over 100,000 picks.)
    #[test]
    fn weighted_picks_only_eligible_endpoints_and_the_draw_maps_to_its_owner(
        eps in endpoints(1..=1000),
        seed in any::<u64>(),
    ) {
        let table = compile(&yaml("Weighted", "serveAll", "weight", &eps), &health(&eps));
        let any_healthy = eps.iter().any(Ep::healthy);
        let eligible: Vec<usize> = (0..eps.len())
            .filter(|&i| eps[i].healthy() || (!any_healthy && eps[i].degraded()))
            .collect();
        let total: u32 = eligible.iter().map(|&i| u32::from(eps[i].number)).sum();
        let mut rng = fastrand::Rng::with_seed(seed);
        for _ in 0..32 {
            let q = Query::new(v4(0xC000_0201), QueryFamily::V4);
            let (d, steps) = explain(&table, 0, &q, &mut rng);
            let Some(pick) = single(d.outcome) else {
                prop_assert!(eligible.is_empty(), "NODATA with eligible endpoints {eligible:?}");
                continue;
            };
            prop_assert!(eligible.contains(&(pick as usize)), "picked {pick}, eligible {eligible:?}");
            let draw = steps.iter().find_map(|s| match s {
                Step::WeightedDraw { draw, total: t, eligible: n } => Some((*draw, *t, *n)),
                _ => None,
            });
            let Some((draw, t, n)) = draw else {
                return Err(TestCaseError::fail(format!("no draw in {steps:?}")));
            };
            prop_assert_eq!((t, n), (total, eligible.len()));
            prop_assert!(draw < total);
            // The endpoint whose share of 0..total holds the draw.
            let mut upto = 0;
            let owner = eligible.iter().copied().find(|&i| {
                upto += u32::from(eps[i].number);
                draw < upto
            });
            prop_assert_eq!(owner, Some(pick as usize));
        }
    }

    /// `fail_open` holds exactly when the profile has enabled endpoints and all of them are
    /// Degraded (and the policy is serveAll); then Degraded endpoints are served, otherwise
    /// never. Under noData and servFail the same state answers NODATA or SERVFAIL.
    #[test]
    fn fail_open_exactly_when_every_enabled_endpoint_is_degraded(
        eps in priority_endpoints(),
        weighted in any::<bool>(),
        policy in prop_oneof![Just("serveAll"), Just("noData"), Just("servFail")],
        seed in any::<u64>(),
    ) {
        let (method, field) = if weighted { ("Weighted", "weight") } else { ("Priority", "priority") };
        let table = compile(&yaml(method, policy, field, &eps), &health(&eps));
        let p = table.profile(0);
        let all_down = eps.iter().any(|e| e.enabled) && eps.iter().filter(|e| e.enabled).all(Ep::degraded);
        prop_assert_eq!(p.all_down, all_down);
        prop_assert_eq!(p.fail_open, all_down && policy == "serveAll");
        for (e, c) in eps.iter().zip(&p.endpoints) {
            let expected = e.healthy() || (p.fail_open && e.degraded());
            prop_assert_eq!(c.eligible, expected, "{:?} compiled as {:?}", e, c.status);
        }
        let mut rng = fastrand::Rng::with_seed(seed);
        let (d, steps) = explain(&table, 0, &Query::new(v4(0xC000_0201), QueryFamily::V4), &mut rng);
        prop_assert_eq!(steps.contains(&Step::FailOpen), p.fail_open);
        match (all_down, policy, d.outcome) {
            (true, "noData", o) => prop_assert_eq!(o, Outcome::NoData),
            (true, "servFail", o) => prop_assert_eq!(o, Outcome::ServFail),
            (_, _, Outcome::NxDomain) => prop_assert!(!eps.iter().any(|e| e.enabled)),
            (_, _, o) => {
                let pick = single(o).expect("an answer");
                let status = p.endpoints[pick as usize].status;
                prop_assert_eq!(status == MonitorStatus::Degraded, p.fail_open, "{:?}", status);
            }
        }
    }

    /// Priority answers with the enabled healthy endpoint of the lowest priority number (in
    /// fail-open, the lowest enabled one), and its trace names exactly the endpoints before it.
    #[test]
    fn priority_always_picks_the_lowest_healthy(eps in priority_endpoints()) {
        let table = compile(&yaml("Priority", "serveAll", "priority", &eps), &health(&eps));
        let lowest = |ok: &dyn Fn(&Ep) -> bool| {
            (0..eps.len()).filter(|&i| ok(&eps[i])).min_by_key(|&i| eps[i].number)
        };
        let expected = lowest(&Ep::healthy).or_else(|| lowest(&Ep::degraded));
        let (d, steps) = explain(
            &table,
            0,
            &Query::new(v4(0xC000_0201), QueryFamily::V4),
            &mut fastrand::Rng::with_seed(1),
        );
        let pick = single(d.outcome).map(usize::from);
        prop_assert_eq!(pick, expected);
        if let Some(pick) = pick {
            let mut skipped: Vec<u16> = steps
                .iter()
                .filter_map(|s| match s {
                    Step::PrioritySkipped { priority, .. } => Some(*priority),
                    _ => None,
                })
                .collect();
            skipped.sort_unstable();
            let below: Vec<u16> = (1..eps[pick].number).collect();
            prop_assert_eq!(skipped, below);
        }
    }
}

/// Non-overlapping IPv4 ranges inside 10.0.0.0/16 (where the boundaries are, so every scope from
/// /15 to /32 comes up), each owned by one of up to three ranged endpoints.
#[derive(Debug, Clone)]
struct Ranges {
    /// (first, last, endpoint), sorted and disjoint.
    ranges: Vec<(u32, u32, u16)>,
    endpoints: u16,
}

const BASE: u32 = 0x0A00_0000;

fn ranges() -> impl Strategy<Value = Ranges> {
    (
        // Bounds drawn from a narrow span as often as from the whole /16, so that ranges also
        // come next to each other.
        prop_oneof![
            prop::collection::btree_set(0u32..0x1_0000, 2..=12),
            prop::collection::btree_set(0x100u32..0x140, 2..=12),
        ],
        1u16..=3,
    )
        .prop_map(|(bounds, endpoints)| {
            let bounds: Vec<u32> = bounds.into_iter().collect();
            let ranges: Vec<(u32, u32, u16)> = bounds
                .chunks_exact(2)
                .enumerate()
                .map(|(k, pair)| (BASE + pair[0], BASE + pair[1], k as u16 % endpoints))
                .collect();
            // Every ranged endpoint owns at least one range.
            let endpoints = endpoints.min(ranges.len() as u16);
            let ranges = ranges
                .into_iter()
                .enumerate()
                .map(|(k, (f, l, _))| (f, l, k as u16 % endpoints))
                .collect();
            Ranges { ranges, endpoints }
        })
}

impl Ranges {
    /// Ranged endpoints `r0..`, then the fallback `fallback` (no ranges).
    fn yaml(&self) -> String {
        let mut y = String::from(
            "profiles:\n  - name: p\n    properties:\n      trafficRoutingMethod: Subnet\n      endpoints:\n",
        );
        for e in 0..self.endpoints {
            let subnets: Vec<String> = self
                .ranges
                .iter()
                .filter(|r| r.2 == e)
                .map(|&(f, l, _)| format!("{{ first: {}, last: {} }}", v4(f), v4(l)))
                .collect();
            y.push_str(&format!(
                "        - {{ name: r{e}, type: externalEndpoints, properties: {{ target: r{e}.example.com, subnets: [ {} ] }} }}\n",
                subnets.join(", ")
            ));
        }
        y.push_str("        - { name: fallback, type: externalEndpoints, properties: { target: f.example.com } }\n");
        y
    }

    /// Whether one endpoint has two ranges with no address between them.
    fn touching(&self) -> bool {
        self.ranges
            .windows(2)
            .any(|w| w[0].2 == w[1].2 && w[0].1.checked_add(1) == Some(w[1].0))
    }

    /// The endpoint whose range holds `a`.
    fn owner(&self, a: u32) -> Option<u16> {
        self.ranges
            .iter()
            .find(|r| (r.0..=r.1).contains(&a))
            .map(|r| r.2)
    }

    /// Whether every address of `[lo, hi]` has the lookup result `value`, from the ranges
    /// themselves (no trie): a miss touches no range; a hit lies in ranges of that endpoint
    /// that follow each other without a gap.
    fn uniform(&self, lo: u32, hi: u32, value: Option<u16>) -> bool {
        let touching = self.ranges.iter().filter(|r| r.1 >= lo && r.0 <= hi);
        match value {
            None => touching.count() == 0,
            Some(e) => {
                let mut next = lo;
                for r in touching {
                    if r.2 != e || r.0 > next {
                        return false;
                    }
                    match r.1.checked_add(1) {
                        Some(n) => next = n,
                        None => return true,
                    }
                }
                next > hi
            }
        }
    }

    /// The ECS scope by definition: the shortest prefix length whose block around `a` is
    /// uniform (every longer block then is too).
    fn scope(&self, a: u32) -> u8 {
        let value = self.owner(a);
        (0..=32u8)
            .find(|&len| {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                self.uniform(a & mask, a | !mask, value)
            })
            .expect("the /32 block is uniform")
    }
}

/// A client near the ranges: at or next to a boundary, anywhere in the /16, or anywhere.
fn client(r: &Ranges) -> impl Strategy<Value = u32> + use<> {
    let edges: Vec<u32> = r.ranges.iter().flat_map(|&(f, l, _)| [f, l]).collect();
    prop_oneof![
        (prop::sample::select(edges), -2i64..=2).prop_map(|(e, d)| (i64::from(e) + d) as u32),
        (0u32..0x1_0000).prop_map(|o| BASE + o),
        any::<u32>(),
    ]
}

proptest! {
    /// Subnet routing's answer is the range's endpoint (else the fallback), and its ECS scope is
    /// exactly the shortest prefix around the client whose whole block has the same range
    /// lookup: every address in it routes alike, and one more bit would take in one that does
    /// not (checked against the ranges directly, not the trie).
    #[test]
    fn subnet_scope_is_exact(
        (r, a) in ranges().prop_flat_map(|r| { let c = client(&r); (Just(r), c) }),
    ) {
        let table = compile(&r.yaml(), &signpost_routing::AllHealthy);
        let d = route(&table, 0, &Query::new(v4(a), QueryFamily::V4), &mut fastrand::Rng::with_seed(1), &mut ());
        let expected = r.owner(a).unwrap_or(r.endpoints);
        prop_assert_eq!(single(d.outcome), Some(expected), "{} in {:?}", v4(a), r.ranges);
        // Never wider than the block that answers alike; exactly that block unless one endpoint
        // has two ranges that touch (see `touching_ranges_of_one_endpoint_scope_per_range`).
        if r.touching() {
            prop_assert!(d.scope >= r.scope(a), "{} in {:?}", v4(a), r.ranges);
        } else {
            prop_assert_eq!(d.scope, r.scope(a), "{} in {:?}", v4(a), r.ranges);
        }
        // The block's ends answer alike, with the same scope: their blocks are this one.
        let mask = if d.scope == 0 { 0 } else { u32::MAX << (32 - d.scope) };
        for b in [a & mask, a | !mask] {
            let e = route(&table, 0, &Query::new(v4(b), QueryFamily::V4), &mut fastrand::Rng::with_seed(1), &mut ());
            prop_assert_eq!(single(e.outcome), Some(expected), "{} vs {}", v4(b), v4(a));
            prop_assert_eq!(e.scope, d.scope);
        }
    }
}

/// Two ranges of one endpoint that touch are two sets of CIDR blocks in the prefix table, and the
/// scope is that of the block the client is in: valid (every address in it answers alike) but not
/// the widest such block. Here 10.0.0.0-127 and 10.0.0.128-255 of one endpoint: /25, where /24
/// would do. Written as ranges are written, so that a change in this is a decision.
#[test]
fn touching_ranges_of_one_endpoint_scope_per_range() {
    let r = Ranges {
        ranges: vec![(BASE, BASE + 127, 0), (BASE + 128, BASE + 255, 0)],
        endpoints: 1,
    };
    assert!(r.touching());
    let table = compile(&r.yaml(), &signpost_routing::AllHealthy);
    let d = route(
        &table,
        0,
        &Query::new(v4(BASE + 5), QueryFamily::V4),
        &mut fastrand::Rng::with_seed(1),
        &mut (),
    );
    assert_eq!(
        (single(d.outcome), d.scope, r.scope(BASE + 5)),
        (Some(0), 25, 24)
    );
}
