//! Per-query cost of Geographic and Performance answers next to Priority ones, all with an ECS
//! option, through `Answerer::answer` (no sockets), with a GeoIP database of 20,000 networks
//! written here; also Subnet routing over 1,000 unaligned ranges and Performance ranked by a
//! 20,000-line latency table (both on the shared prefix-match table). Counts heap allocations too.
//!
//! Run: `cargo bench -p signpost-geo --bench methods`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;
use signpost_dns::{Answerer, Snapshot, Transport, ZoneConfig};
use signpost_geo::{GeoIp, LatencyTable};
use signpost_model::{Limits, ProfileSet};
use signpost_routing::{AllHealthy, Locate, RoutingTable};

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

const PROFILES: &str = r#"
profiles:
  - name: prio
    properties:
      trafficRoutingMethod: Priority
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: a.example.com } }
        - { name: b, type: externalEndpoints, properties: { target: b.example.com } }
  - name: geo
    properties:
      trafficRoutingMethod: Geographic
      endpoints:
        - { name: ca, type: externalEndpoints, properties: { target: ca.example.com, geoMapping: [US-CA] } }
        - { name: us, type: externalEndpoints, properties: { target: us.example.com, geoMapping: [US] } }
        - { name: eu, type: externalEndpoints, properties: { target: eu.example.com, geoMapping: [GEO-EU] } }
        - { name: world, type: externalEndpoints, properties: { target: w.example.com, geoMapping: [WORLD] } }
  - name: perf
    properties:
      trafficRoutingMethod: Performance
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: us.example.com, endpointLocation: East US } }
        - { name: eu, type: externalEndpoints, properties: { target: eu.example.com, endpointLocation: West Europe } }
        - { name: ap, type: externalEndpoints, properties: { target: ap.example.com, endpointLocation: Southeast Asia } }
        - { name: br, type: externalEndpoints, properties: { target: br.example.com, endpointLocation: Brazil South } }
"#;

/// A Subnet profile: 4 endpoints with 250 ranges each of 20 /24s (not aligned to a power of two,
/// so each range is several CIDR blocks), covering the database's 20,000 networks; plus a
/// fallback.
fn subnet_profile() -> String {
    let mut p = String::from(
        "  - name: subnet\n    properties:\n      trafficRoutingMethod: Subnet\n      endpoints:\n",
    );
    for k in 0..4u32 {
        let ranges: Vec<String> = (0..250u32)
            .map(|j| {
                let first = 0x0B00_0000u32 + (((j * 4 + k) * 20) << 8);
                let last = first + 20 * 256 - 1;
                format!(
                    "{{ first: {}, last: {} }}",
                    Ipv4Addr::from(first),
                    Ipv4Addr::from(last)
                )
            })
            .collect();
        p += &format!(
            "        - {{ name: s{k}, type: externalEndpoints, properties: {{ target: s{k}.example.com, subnets: [{}] }} }}\n",
            ranges.join(", ")
        );
    }
    p + "        - { name: rest, type: externalEndpoints, properties: { target: rest.example.com } }\n"
}

/// A latency line for each of the database's 20,000 /24s, ranking the four regions differently.
fn latency_table() -> String {
    let regions = ["East US", "West Europe", "Southeast Asia", "Brazil South"];
    let mut t = String::new();
    for i in 0..20_000u32 {
        let net = Ipv4Addr::from(0x0B00_0000u32 + (i << 8));
        for (r, region) in regions.iter().enumerate() {
            let ms = 10 + (i as usize * 7 + r * 13) % 90;
            t += &format!("{net}/24,{region},{ms}\n");
        }
    }
    t
}

fn database() -> Vec<u8> {
    let places = [
        ("NA", "US", Some("CA"), 37.7, -122.4),
        ("NA", "US", Some("NY"), 40.7, -74.0),
        ("EU", "DE", Some("BY"), 48.1, 11.6),
        ("EU", "FR", None, 48.9, 2.4),
        ("AS", "JP", None, 35.7, 139.7),
        ("SA", "BR", None, -23.5, -46.6),
    ];
    let mut w = mmdb_writer::Writer::new("Signpost-Bench-City");
    for i in 0..20_000u32 {
        let (continent, country, sub, lat, lon) = places[i as usize % places.len()];
        let mut record: BTreeMap<&str, serde_json_like::Value> = BTreeMap::new();
        record.insert(
            "continent",
            serde_json_like::map(&[("code", continent.into())]),
        );
        record.insert(
            "country",
            serde_json_like::map(&[("iso_code", country.into())]),
        );
        if let Some(s) = sub {
            record.insert(
                "subdivisions",
                serde_json_like::Value::List(vec![serde_json_like::map(&[("iso_code", s.into())])]),
            );
        }
        record.insert("location", serde_json_like::Value::Coordinates(lat, lon));
        let net = Ipv4Addr::from(0x0B00_0000u32 + (i << 8));
        w.insert(
            format!("{net}/24").parse::<ipnet::IpNet>().unwrap(),
            &record,
        )
        .unwrap();
    }
    w.to_bytes().unwrap()
}

/// A tiny serialisable value type for the records (the bench has no serde_json).
mod serde_json_like {
    use serde::ser::{SerializeMap, SerializeSeq};

    pub(crate) enum Value {
        Text(String),
        Map(Vec<(&'static str, Value)>),
        List(Vec<Value>),
        Coordinates(f64, f64),
    }

    impl From<&str> for Value {
        fn from(s: &str) -> Self {
            Value::Text(s.to_string())
        }
    }

    pub(crate) fn map(entries: &[(&'static str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    let Value::Text(t) = v else { unreachable!() };
                    (*k, Value::Text(t.clone()))
                })
                .collect(),
        )
    }

    impl serde::Serialize for Value {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Value::Text(t) => s.serialize_str(t),
                Value::Map(m) => {
                    let mut map = s.serialize_map(Some(m.len()))?;
                    for (k, v) in m {
                        map.serialize_entry(k, v)?;
                    }
                    map.end()
                }
                Value::List(l) => {
                    let mut seq = s.serialize_seq(Some(l.len()))?;
                    for v in l {
                        seq.serialize_element(v)?;
                    }
                    seq.end()
                }
                Value::Coordinates(lat, lon) => {
                    let mut map = s.serialize_map(Some(2))?;
                    map.serialize_entry("latitude", lat)?;
                    map.serialize_entry("longitude", lon)?;
                    map.end()
                }
            }
        }
    }
}

fn query(name: &str, ecs: [u8; 3]) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend_from_slice(&[
        0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0,
    ]);
    m.extend_from_slice(&ecs);
    m
}

fn main() {
    const ITERATIONS: usize = 1_000_000;
    let path = std::env::temp_dir().join(format!("signpost-bench-{}.mmdb", std::process::id()));
    std::fs::write(&path, database()).unwrap();
    let geo: Arc<dyn Locate + Send + Sync> = Arc::new(GeoIp::open(&path).unwrap());
    let profiles = format!("{PROFILES}{}", subnet_profile());
    let file = signpost_model::set::parse_profiles_file(&profiles, false).unwrap();
    let set = ProfileSet::from_docs(&file.profiles, &Limits::default()).unwrap();
    let zones = [ZoneConfig::new("tm.test", vec![])];
    let snapshot = Snapshot::build(&zones, RoutingTable::compile(&set, &AllHealthy), 1)
        .unwrap()
        .with_geo(Some(geo.clone()));
    let answerer = Answerer::new(Arc::new(ArcSwap::from_pointee(snapshot)), 1232);
    let table = LatencyTable::parse(&latency_table(), &Default::default()).unwrap();
    let with_table = Snapshot::build(&zones, RoutingTable::compile(&set, &AllHealthy), 1)
        .unwrap()
        .with_geo(Some(geo))
        .with_latency(Some(Arc::new(table)));
    let answerer_with_table = Answerer::new(Arc::new(ArcSwap::from_pointee(with_table)), 1232);
    let peer = "127.0.0.1".parse().unwrap();
    // ECS subnets spread over the database's networks.
    let subnets: Vec<[u8; 3]> = (0..1000u32)
        .map(|i| {
            let n = 0x0B00_0000u32 + ((i * 7919 % 20_000) << 8);
            let b = n.to_be_bytes();
            [b[0], b[1], b[2]]
        })
        .collect();
    if std::env::var("SIGNPOST_BENCH_PROBE").is_ok() {
        let g = GeoIp::open(&path).unwrap();
        for (label, addr) in [
            ("US-CA", "11.0.0.1"),
            ("US-NY", "11.0.1.1"),
            ("DE-BY", "11.0.2.1"),
            ("FR", "11.0.3.1"),
            ("miss", "10.0.0.1"),
        ] {
            let a0 = ALLOCATIONS.load(Ordering::Relaxed);
            let r = g.locate(addr.parse().unwrap());
            println!(
                "{label}: {} allocations, {:?}",
                ALLOCATIONS.load(Ordering::Relaxed) - a0,
                r.1
            );
        }
    }
    println!(
        "{:<12} {:>12} {:>16} {:>14}",
        "method", "ns/query", "allocs/query", "vs Priority"
    );
    let mut base = 0.0;
    for (method, name, answerer) in [
        ("Priority", "prio.tm.test", &answerer),
        ("Geographic", "geo.tm.test", &answerer),
        ("Performance", "perf.tm.test", &answerer),
        ("Perf+table", "perf.tm.test", &answerer_with_table),
        ("Subnet", "subnet.tm.test", &answerer),
    ] {
        let queries: Vec<Vec<u8>> = subnets.iter().map(|s| query(name, *s)).collect();
        let mut rng = fastrand::Rng::with_seed(3);
        let mut out = Vec::with_capacity(2048);
        for q in queries.iter().cycle().take(50_000) {
            answerer.answer(q, peer, Transport::Udp, &mut rng, &mut out);
        }
        let a0 = ALLOCATIONS.load(Ordering::Relaxed);
        let t0 = Instant::now();
        for q in queries.iter().cycle().take(ITERATIONS) {
            black_box(answerer.answer(black_box(q), peer, Transport::Udp, &mut rng, &mut out));
        }
        let ns = t0.elapsed().as_nanos() as f64 / ITERATIONS as f64;
        let allocs = (ALLOCATIONS.load(Ordering::Relaxed) - a0) as f64 / ITERATIONS as f64;
        if method == "Priority" {
            base = ns;
        }
        println!(
            "{method:<12} {ns:>12.1} {allocs:>16.3} {:>13.2}x",
            ns / base
        );
    }
    let _ = std::fs::remove_file(path);
}
