//! User-space cost of answering one query (parse, route, write), without sockets, and the number
//! of heap allocations it makes, for 2 and for 10,000 profiles.
//!
//! Run: `cargo bench -p signpost-dns --bench answer` (prints a table; no harness dependency).
//! The query mix is `../shared/bench/run-auth.sh`'s: 6x a Weighted CNAME profile, 2x an address
//! profile, an AAAA NODATA, an NXDOMAIN and the apex SOA; then the same names with an ECS option,
//! counted (metrics on), counted with Traffic View, a hosted zone's mix, and ALIAS records (to an
//! address profile, to a name-endpoint profile, to an outside name, from the resolver cache).
//! DNSSEC: the mix with the DO bit to the unsigned zone, to the zone signed (`Snapshot::with_signers`,
//! one ECDSA P-256 key), and without DO to the signed zone; then each query of the mix alone
//! with DO to the signed zone, and a stream of distinct nonexistent names (more than the dynamic
//! cache holds: one signature made per query).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;
use signpost_dns::alias::{AliasCache, Resolved};
use signpost_dns::dnssec::{Algorithm, KeyMaterial, ZoneKey, ZoneSigner};
use signpost_dns::hosted::HostedZone;
use signpost_dns::rrl::{Class, RateLimiter, RrlConfig};
use signpost_dns::{Answerer, DnsCounters, Snapshot, Transport, ZoneConfig};
use signpost_model::{Limits, ProfileSet};
use signpost_routing::{AllHealthy, RoutingTable};

struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn profiles_yaml(extra: usize) -> String {
    let mut y = String::from(
        "profiles:\n  - name: contoso\n    properties:\n      trafficRoutingMethod: Weighted\n      dnsConfig: { relativeName: contoso, ttl: 30 }\n      endpoints:\n        - { name: us, type: externalEndpoints, properties: { target: contoso-us.cloudapp.net, weight: 100 } }\n        - { name: eu, type: externalEndpoints, properties: { target: contoso-eu.cloudapp.net, weight: 50 } }\n  - name: partners\n    properties:\n      trafficRoutingMethod: Priority\n      dnsConfig: { relativeName: partners, ttl: 30 }\n      endpoints:\n        - { name: a, type: externalEndpoints, properties: { target: 192.0.2.10 } }\n",
    );
    for i in 0..extra {
        y.push_str(&format!(
            "  - name: p{i}\n    properties:\n      trafficRoutingMethod: Priority\n      endpoints:\n        - {{ name: a, type: externalEndpoints, properties: {{ target: p{i}-a.example.com }} }}\n        - {{ name: b, type: externalEndpoints, properties: {{ target: p{i}-b.example.com }} }}\n"
        ));
    }
    y
}

fn query(name: &str, qtype: u16, ecs: bool) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(ecs)];
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    if ecs {
        m.extend_from_slice(&[
            0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100,
        ]);
    }
    m
}

fn mix(ecs: bool) -> Vec<Vec<u8>> {
    let c = query("contoso.trafficmanager.net", 1, ecs);
    let mut v = vec![c.clone(); 6];
    v.push(query("partners.trafficmanager.net", 1, ecs));
    v.push(query("partners.trafficmanager.net", 1, ecs));
    v.push(query("contoso.trafficmanager.net", 28, ecs));
    v.push(query("nothere.trafficmanager.net", 1, ecs));
    v.push(query("trafficmanager.net", 6, ecs));
    v
}

/// `q` with an OPT record (payload 1232) with the DO bit (RFC 3225) and no options.
fn with_do(mut q: Vec<u8>) -> Vec<u8> {
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 0]);
    q[11] = 1;
    q
}

/// `q` with a COOKIE option (client cookie only) appended to its OPT record.
fn with_cookie(mut q: Vec<u8>) -> Vec<u8> {
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 12, 0, 10, 0, 8]);
    q.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    q[11] = 1;
    q
}

/// How the queries are sent and checked.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Plain queries.
    Plain,
    /// ECS on every query.
    Ecs,
    /// Plain queries, each response offered to the rate limiter (clients spread over 4,096 /24s,
    /// so nothing is limited: the cost of the check itself).
    Rrl,
    /// Each query carries a client cookie: one server cookie computed per query.
    Cookie,
    /// Plain queries, counted (metrics on: this worker's own counter set, slots kept by name).
    Counted,
    /// Counted, with both profiles enrolled in Traffic View (the client's /24 counted too).
    TrafficView,
    /// Queries to a hosted zone: answers, a CNAME chain, NODATA, NXDOMAIN, a referral.
    Hosted,
    /// A/AAAA at ALIAS owners: routed through a profile, or from the cache.
    Alias,
    /// DO bit on every query, the zone unsigned.
    Do,
    /// DO bit on every query, the zone signed: RRSIGs (and compact denials) in the answers.
    Signed,
    /// The zone signed, queries without DO: answers as unsigned.
    SignedNoDo,
}

/// The hosted zone of [`Mode::Hosted`] and its query mix.
const HOSTED: &str = "\
$TTL 300
@       IN SOA ns1 hostmaster 1 3600 600 604800 60
        IN NS  ns1
ns1     IN A   192.0.2.53
www     IN A   192.0.2.1
alias   IN CNAME www
sub     IN NS  ns.sub
ns.sub  IN A   192.0.2.77
@       IN ALIAS partners.trafficmanager.net.
cdn     IN ALIAS contoso.trafficmanager.net.
ext     IN ALIAS cdn.example.net.
";

fn alias_mix() -> Vec<Vec<u8>> {
    let mut v = vec![query("contoso.test", 1, false); 4];
    v.extend(vec![query("cdn.contoso.test", 1, false); 4]);
    v.push(query("ext.contoso.test", 1, false));
    v.push(query("ext.contoso.test", 1, false));
    v.push(query("ext.contoso.test", 28, false));
    v
}

fn hosted_mix() -> Vec<Vec<u8>> {
    let www = query("www.contoso.test", 1, false);
    let mut v = vec![www.clone(); 6];
    v.push(query("alias.contoso.test", 1, false));
    v.push(query("alias.contoso.test", 1, false));
    v.push(query("www.contoso.test", 28, false));
    v.push(query("nothere.contoso.test", 1, false));
    v.push(query("host.sub.contoso.test", 1, false));
    v
}

fn main() {
    const ITERATIONS: usize = 2_000_000;
    println!(
        "{:>9} {:>7} {:>12} {:>16}",
        "profiles", "mode", "ns/query", "allocs/query"
    );
    for extra in [0usize, 9_998] {
        let file = signpost_model::set::parse_profiles_file(&profiles_yaml(extra), false).unwrap();
        let set = ProfileSet::from_docs(&file.profiles, &Limits::default()).unwrap();
        let routing = RoutingTable::compile(&set, &AllHealthy);
        let zones = [ZoneConfig::new(
            "trafficmanager.net",
            vec!["127.0.0.1".parse().unwrap()],
        )];
        let counters = DnsCounters::default();
        let hosted = Arc::new(HostedZone::parse("contoso.test", HOSTED).unwrap());
        let enrolled = {
            let mut file = file.clone();
            for p in &mut file.profiles {
                if let Some(props) = p.properties.as_mut() {
                    props.traffic_view_enrollment_status = Some("Enabled".into());
                }
            }
            ProfileSet::from_docs(&file.profiles, &Limits::default()).unwrap()
        };
        let resolved = |a: &str| Resolved {
            addresses: vec![a.parse().unwrap(), "2001:db8::1".parse().unwrap()],
            ttl: 60,
        };
        let cache = Arc::new(ArcSwap::from_pointee(AliasCache::new([
            ("contoso-us.cloudapp.net", resolved("198.51.100.1")),
            ("contoso-eu.cloudapp.net", resolved("198.51.100.2")),
            ("cdn.example.net", resolved("198.51.100.3")),
        ])));
        let build = |routing: RoutingTable| {
            Arc::new(ArcSwap::from_pointee(
                Snapshot::build(&zones, routing, 1)
                    .unwrap()
                    .with_metric_slots(counters.slots())
                    .with_hosted(vec![hosted.clone()])
                    .with_alias_cache(Some(cache.clone())),
            ))
        };
        let answerer = Answerer::new(build(routing.clone()), 1232);
        let signers: Vec<Arc<ZoneSigner>> = {
            let key =
                ZoneKey::new(&KeyMaterial::generate(Algorithm::EcdsaP256Sha256).unwrap()).unwrap();
            let signer = ZoneSigner::for_zone("trafficmanager.net", vec![key]).unwrap();
            vec![Arc::new(signer)]
        };
        let signed = Answerer::new(
            Arc::new(ArcSwap::from_pointee(
                Snapshot::build(&zones, routing.clone(), 1)
                    .unwrap()
                    .with_metric_slots(counters.slots())
                    .with_hosted(vec![hosted.clone()])
                    .with_alias_cache(Some(cache.clone()))
                    .with_signers(&signers),
            )),
            1232,
        );
        let counted = Answerer::new(build(routing), 1232).counting_alone(&counters);
        let traffic_view =
            Answerer::new(build(RoutingTable::compile(&enrolled, &AllHealthy)), 1232)
                .counting_alone(&counters);
        let peer = "127.0.0.1".parse().unwrap();
        let peers: Vec<std::net::IpAddr> = (0..4096u32)
            .map(|i| std::net::Ipv4Addr::from(0x0A00_0000 | (i << 8)).into())
            .collect();
        for mode in [
            Mode::Plain,
            Mode::Ecs,
            Mode::Rrl,
            Mode::Cookie,
            Mode::Counted,
            Mode::TrafficView,
            Mode::Hosted,
            Mode::Alias,
            Mode::Do,
            Mode::Signed,
            Mode::SignedNoDo,
        ] {
            let queries = match mode {
                Mode::Ecs => mix(true),
                Mode::Cookie => mix(false).into_iter().map(with_cookie).collect(),
                Mode::Plain | Mode::Rrl | Mode::Counted | Mode::TrafficView | Mode::SignedNoDo => {
                    mix(false)
                }
                Mode::Do | Mode::Signed => mix(false).into_iter().map(with_do).collect(),
                Mode::Hosted => hosted_mix(),
                Mode::Alias => alias_mix(),
            };
            let answerer = match mode {
                Mode::Counted => &counted,
                Mode::TrafficView => &traffic_view,
                Mode::Signed | Mode::SignedNoDo => &signed,
                _ => &answerer,
            };
            let mut rrl = RateLimiter::new(RrlConfig::default(), 1);
            let mut rng = fastrand::Rng::with_seed(7);
            let mut out = Vec::with_capacity(4096);
            let mut run = |n: usize, out: &mut Vec<u8>| {
                for (i, q) in queries.iter().cycle().take(n).enumerate() {
                    let answered =
                        answerer.answer(black_box(q), peer, Transport::Udp, &mut rng, out);
                    if mode == Mode::Rrl
                        && let Some(a) = answered
                    {
                        let class = Class {
                            name: a.class_name(q),
                            qtype: a.qtype,
                            rcode: a.rcode,
                        };
                        black_box(rrl.check(peers[i & 4095], class, (i / 100_000) as u64));
                    }
                    black_box(&answered);
                }
            };
            // Warm up, then measure.
            run(100_000, &mut out);
            let a0 = ALLOCATIONS.load(Ordering::Relaxed);
            let t0 = Instant::now();
            run(ITERATIONS, &mut out);
            let ns = t0.elapsed().as_nanos() as f64 / ITERATIONS as f64;
            let allocs = (ALLOCATIONS.load(Ordering::Relaxed) - a0) as f64 / ITERATIONS as f64;
            let name = match mode {
                Mode::Plain => "plain",
                Mode::Ecs => "ecs",
                Mode::Rrl => "rrl",
                Mode::Cookie => "cookie",
                Mode::Counted => "counted",
                Mode::TrafficView => "tv",
                Mode::Hosted => "hosted",
                Mode::Alias => "alias",
                Mode::Do => "do",
                Mode::Signed => "signed",
                Mode::SignedNoDo => "s-nodo",
            };
            println!("{:>9} {:>7} {:>12.1} {:>16.3}", extra + 2, name, ns, allocs);
        }
        // Each query of the mix alone, DO set, to the signed zone; then distinct nonexistent names.
        let single = [
            ("s:cname", "contoso.trafficmanager.net", 1),
            ("s:a", "partners.trafficmanager.net", 1),
            ("s:aaaa", "contoso.trafficmanager.net", 28),
            ("s:nx", "nothere.trafficmanager.net", 1),
            ("s:soa", "trafficmanager.net", 6),
        ];
        for (label, name, qtype) in single {
            let queries = vec![with_do(query(name, qtype, false))];
            let (ns, allocs) = measure(&signed, &queries, 100_000, ITERATIONS);
            println!(
                "{:>9} {:>7} {:>12.1} {:>16.3}",
                extra + 2,
                label,
                ns,
                allocs
            );
        }
        let random: Vec<Vec<u8>> = (0..100_000)
            .map(|i| with_do(query(&format!("r{i:06}.trafficmanager.net"), 1, false)))
            .collect();
        for (label, answerer) in [("u:nxrnd", &answerer), ("s:nxrnd", &signed)] {
            let (ns, allocs) = measure(answerer, &random, 20_000, 50_000);
            println!(
                "{:>9} {:>7} {:>12.1} {:>16.3}",
                extra + 2,
                label,
                ns,
                allocs
            );
        }
    }
}

/// ns and heap allocations per query over `n` queries cycling through `queries`, after `warm`.
fn measure(answerer: &Answerer, queries: &[Vec<u8>], warm: usize, n: usize) -> (f64, f64) {
    let peer = "127.0.0.1".parse().unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut out = Vec::with_capacity(4096);
    let mut run = |n: usize, skip: usize| {
        for q in queries.iter().cycle().skip(skip).take(n) {
            let answered = answerer.answer(black_box(q), peer, Transport::Udp, &mut rng, &mut out);
            black_box(&answered);
        }
    };
    run(warm, 0);
    let a0 = ALLOCATIONS.load(Ordering::Relaxed);
    let t0 = Instant::now();
    run(n, warm % queries.len());
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    (
        ns,
        (ALLOCATIONS.load(Ordering::Relaxed) - a0) as f64 / n as f64,
    )
}
