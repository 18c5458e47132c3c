//! GeoIP with databases the test writes itself (never downloaded): IPv4 and IPv6, country-only
//! and subdivision records, addresses missing from the database; then Geographic answers over
//! real DNS with ECS for Geographic and Performance (GeoIP distance and a latency table with
//! nested prefixes), checking the endpoint and the scope prefix.

use std::collections::BTreeMap;
use std::net::{IpAddr, UdpSocket};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use domain::base::iana::{Class, Rtype};
use domain::base::opt::ClientSubnet;
use domain::base::{Message, MessageBuilder, Name, ParsedName};
use domain::rdata::AllRecordData;
use ipnet::IpNet;
use serde::Serialize;
use signpost_geo::GeoIp;
use signpost_model::{Limits, ProfileSet};
use signpost_routing::{AllHealthy, Locate, QueryFamily, RoutingTable, explain};

#[derive(Serialize)]
struct Code {
    code: String,
}

#[derive(Serialize)]
struct Iso {
    iso_code: String,
}

#[derive(Serialize)]
struct Coordinates {
    latitude: f64,
    longitude: f64,
}

#[derive(Serialize)]
struct Record {
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Coordinates>,
    #[serde(skip_serializing_if = "Option::is_none")]
    continent: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<Iso>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subdivisions: Vec<Iso>,
    names: BTreeMap<String, String>,
}

fn record(continent: &str, country: &str, subdivision: Option<&str>) -> Record {
    Record {
        location: None,
        continent: Some(Code {
            code: continent.into(),
        }),
        country: Some(Iso {
            iso_code: country.into(),
        }),
        subdivisions: subdivision
            .map(|s| vec![Iso { iso_code: s.into() }])
            .unwrap_or_default(),
        names: BTreeMap::new(),
    }
}

/// A small City-style database, written to a temp file.
fn database() -> std::path::PathBuf {
    let mut w = mmdb_writer::Writer::new("Signpost-Test-City");
    let mut add = |net: &str, r: Record| w.insert(net.parse::<IpNet>().unwrap(), &r).unwrap();
    add("198.51.100.0/24", record("NA", "US", Some("CA")));
    add("198.51.101.0/25", record("NA", "US", None));
    let mut munich = record("EU", "DE", Some("BY"));
    munich.location = Some(Coordinates {
        latitude: 48.14,
        longitude: 11.58,
    });
    add("203.0.113.0/24", munich);
    add("192.0.2.0/26", record("AS", "AE", None));
    add("2001:db8:1::/48", record("OC", "AU", Some("NSW")));
    add("2001:db8:100::/40", record("EU", "IE", None));
    let path = std::env::temp_dir().join(format!(
        "signpost-geo-{}-{:?}.mmdb",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, w.to_bytes().unwrap()).unwrap();
    path
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn lookups_read_country_subdivision_region_and_prefix() {
    let geo = GeoIp::open(&database()).unwrap();
    assert_eq!(geo.database_type(), "Signpost-Test-City");
    let codes = |a: &str| {
        let (l, p) = geo.locate(ip(a));
        l.map(|l| (l.codes().map(str::to_string).collect::<Vec<_>>(), p))
    };
    assert_eq!(
        codes("198.51.100.7"),
        Some((
            vec!["US-CA".into(), "US".into(), "GEO-NA".into(), "WORLD".into()],
            24
        ))
    );
    assert_eq!(
        codes("198.51.101.9"),
        Some((vec!["US".into(), "GEO-NA".into(), "WORLD".into()], 25))
    );
    assert_eq!(
        codes("192.0.2.1"),
        Some((vec!["AE".into(), "GEO-ME".into(), "WORLD".into()], 26)),
        "Azure's Middle East"
    );
    assert_eq!(
        codes("2001:db8:1::5"),
        Some((
            vec![
                "AU-NSW".into(),
                "AU".into(),
                "GEO-AP".into(),
                "WORLD".into()
            ],
            48
        ))
    );
    assert_eq!(
        codes("2001:db8:1ff::1"),
        Some((vec!["IE".into(), "GEO-EU".into(), "WORLD".into()], 40))
    );
    assert_eq!(codes("192.0.2.200"), None, "not in the database");
    assert_eq!(codes("2001:db8:3::1"), None);
    assert_eq!(
        geo.locate(ip("203.0.113.1")).0.unwrap().coordinates(),
        Some((48.14, 11.58)),
        "City databases carry coordinates"
    );
    assert_eq!(
        geo.locate(ip("198.51.100.1")).0.unwrap().coordinates(),
        None
    );
    let (_, miss_prefix) = geo.locate(ip("192.0.2.200"));
    assert!(
        miss_prefix >= 25,
        "a miss still reports the network that decided it: /{miss_prefix}"
    );
}

/// Each thread caches decoded records by their offset in the database; two databases with the
/// same layout (a file and its reloaded replacement) have the same offsets, and must not share
/// entries.
#[test]
fn cached_records_never_leak_between_databases() {
    let write = |country: &str, tag: &str| {
        let mut w = mmdb_writer::Writer::new("Signpost-Test-City");
        w.insert(
            "198.51.100.0/24".parse::<IpNet>().unwrap(),
            &record("EU", country, None),
        )
        .unwrap();
        let path = std::env::temp_dir().join(format!(
            "signpost-geo-cache-{tag}-{}.mmdb",
            std::process::id()
        ));
        std::fs::write(&path, w.to_bytes().unwrap()).unwrap();
        path
    };
    let (a, b) = (write("DE", "a"), write("FR", "b"));
    let (a, b) = (GeoIp::open(&a).unwrap(), GeoIp::open(&b).unwrap());
    let country = |g: &GeoIp| {
        g.locate(ip("198.51.100.9"))
            .0
            .unwrap()
            .codes()
            .next()
            .unwrap()
            .to_string()
    };
    for _ in 0..3 {
        assert_eq!(country(&a), "DE");
        assert_eq!(country(&a), "DE", "a repeat, from the cache");
        assert_eq!(country(&b), "FR");
    }
}

#[test]
fn a_bad_file_is_a_clear_error() {
    let path = std::env::temp_dir().join(format!("signpost-geo-bad-{}.mmdb", std::process::id()));
    std::fs::write(&path, b"not a database").unwrap();
    let e = GeoIp::open(&path).unwrap_err().to_string();
    assert!(e.contains("GeoIP database"), "{e}");
    assert!(GeoIp::open(std::path::Path::new("/nonexistent.mmdb")).is_err());
}

const PROFILES: &str = r#"
profiles:
  - name: shop
    properties:
      trafficRoutingMethod: Geographic
      dnsConfig: { relativeName: shop, ttl: 60 }
      endpoints:
        - { name: california, type: externalEndpoints, properties: { target: ca.example.com, geoMapping: [US-CA] } }
        - { name: america, type: externalEndpoints, properties: { target: us.example.com, geoMapping: [US, CA, MX] } }
        - { name: europe, type: externalEndpoints, properties: { target: eu.example.com, geoMapping: [GEO-EU] } }
        - { name: world, type: externalEndpoints, properties: { target: world.example.com, geoMapping: [WORLD] } }
"#;

fn table() -> RoutingTable {
    let file = signpost_model::set::parse_profiles_file(PROFILES, false).unwrap();
    RoutingTable::compile(
        &ProfileSet::from_docs(&file.profiles, &Limits::default()).unwrap(),
        &AllHealthy,
    )
}

#[test]
fn the_most_specific_code_wins_and_explain_says_why() {
    let geo = GeoIp::open(&database()).unwrap();
    let t = table();
    let pick = |a: &str| {
        let q = signpost_routing::Query {
            client: ip(a),
            family: QueryFamily::V4,
            locator: Some(&geo),
            latency: None,
        };
        let (d, steps) = explain(&t, 0, &q, &mut fastrand_rng());
        let steps: Vec<String> = steps.iter().map(ToString::to_string).collect();
        let name = match d.outcome {
            signpost_routing::Outcome::Answer { profile, picks } => t.profile(profile).endpoints
                [picks.as_slice()[0] as usize]
                .name
                .clone(),
            other => format!("{other:?}"),
        };
        (name, d.scope, steps)
    };
    assert_eq!(pick("198.51.100.1").0, "california");
    assert_eq!(pick("198.51.101.1").0, "america");
    let (name, scope, steps) = pick("203.0.113.9");
    assert_eq!((name.as_str(), scope), ("europe", 24));
    assert!(
        steps
            .iter()
            .any(|s| s.contains("DE-BY < DE < GEO-EU < WORLD")),
        "{steps:?}"
    );
    assert_eq!(
        pick("192.0.2.1").0,
        "world",
        "AE maps to nothing more specific than WORLD"
    );
    let (name, _, steps) = pick("10.9.9.9");
    assert_eq!(name, "world");
    assert!(
        steps
            .iter()
            .any(|s| s.contains("not in the GeoIP database")),
        "{steps:?}"
    );
}

fn fastrand_rng() -> fastrand::Rng {
    fastrand::Rng::with_seed(1)
}

/// A DNS server on loopback answering from `snapshot`.
struct Dns {
    server: signpost_dns::DnsServer,
    addr: std::net::SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl Dns {
    fn start(snapshot: signpost_dns::Snapshot) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let config = signpost_dns::ServerConfig {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            workers: 1,
            ..Default::default()
        };
        let server = {
            let _g = runtime.enter();
            signpost_dns::DnsServer::start(&config, Arc::new(ArcSwap::from_pointee(snapshot)))
                .unwrap()
        };
        let addr = server.local_addrs()[0];
        Self {
            server,
            addr,
            _runtime: runtime,
        }
    }

    /// An A query for `name` with ECS `subnet/prefix`: the answer's records and ECS scope.
    fn ask(&self, name: &str, subnet: &str, prefix: u8) -> (Vec<String>, Option<u8>) {
        let mut b = MessageBuilder::new_vec().question();
        b.push((
            Name::<Vec<u8>>::from_str(name).unwrap(),
            Rtype::A,
            Class::IN,
        ))
        .unwrap();
        let mut b = b.additional();
        b.opt(|o| o.push(&ClientSubnet::new(prefix, 0, ip(subnet))))
            .unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        sock.send_to(&b.finish(), self.addr).unwrap();
        let mut buf = vec![0; 1500];
        let n = sock.recv(&mut buf).unwrap();
        buf.truncate(n);
        let msg = Message::from_octets(buf).unwrap();
        let answer: Vec<String> = msg
            .answer()
            .unwrap()
            .limit_to::<AllRecordData<&[u8], ParsedName<&[u8]>>>()
            .map(|r| r.unwrap().data().to_string())
            .collect();
        let scope = msg
            .opt()
            .and_then(|o| o.opt().iter::<ClientSubnet>().next())
            .map(|c| c.unwrap().scope_prefix_len());
        (answer, scope)
    }
}

fn answer(target: &str, scope: u8) -> (Vec<String>, Option<u8>) {
    (vec![target.to_string()], Some(scope))
}

#[test]
fn geographic_answers_over_dns_with_ecs_scope() {
    let geo: Arc<dyn Locate + Send + Sync> = Arc::new(GeoIp::open(&database()).unwrap());
    let zones = [signpost_dns::ZoneConfig::new("tm.test", vec![])];
    let snapshot = signpost_dns::Snapshot::build(&zones, table(), 1)
        .unwrap()
        .with_geo(Some(geo));
    let dns = Dns::start(snapshot);
    let ask = |subnet, prefix| dns.ask("shop.tm.test", subnet, prefix);
    assert_eq!(ask("198.51.100.0", 24), answer("ca.example.com.", 24));
    assert_eq!(ask("203.0.113.0", 24), answer("eu.example.com.", 24));
    assert_eq!(
        ask("198.51.101.0", 24),
        answer("us.example.com.", 25),
        "the database's network is a /25: the scope is longer than the source (RFC 7871 7.2.1)"
    );
    assert_eq!(
        ask("198.51.101.0", 20),
        answer("world.example.com.", 22),
        "198.51.96.0 is not in the database, but the /20 sent holds 198.51.100.0/22, which is: \
         the miss holds for the /22 around it"
    );
    dns.server.shutdown();
}

#[test]
fn performance_answers_over_dns_with_ecs_scope() {
    let yaml = r#"
profiles:
  - name: fast
    properties:
      trafficRoutingMethod: Performance
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: us.example.com, endpointLocation: East US } }
        - { name: eu, type: externalEndpoints, properties: { target: eu.example.com, endpointLocation: West Europe } }
"#;
    let file = signpost_model::set::parse_profiles_file(yaml, false).unwrap();
    let set = ProfileSet::from_docs(&file.profiles, &Limits::default()).unwrap();
    let geo: Arc<dyn Locate + Send + Sync> = Arc::new(GeoIp::open(&database()).unwrap());
    // 10/8 measured closer to West Europe, but 10.1/16 inside it closer to East US.
    let latency = signpost_geo::LatencyTable::parse(
        "10.0.0.0/8,West Europe,10\n10.0.0.0/8,East US,90\n10.1.0.0/16,East US,5\n",
        &Default::default(),
    )
    .unwrap();
    let zones = [signpost_dns::ZoneConfig::new("tm.test", vec![])];
    let snapshot =
        signpost_dns::Snapshot::build(&zones, RoutingTable::compile(&set, &AllHealthy), 1)
            .unwrap()
            .with_geo(Some(geo))
            .with_latency(Some(Arc::new(latency)));
    let dns = Dns::start(snapshot);
    let ask = |subnet, prefix| dns.ask("fast.tm.test", subnet, prefix);
    assert_eq!(ask("10.1.7.0", 24), answer("us.example.com.", 16));
    assert_eq!(
        ask("10.2.7.0", 24),
        answer("eu.example.com.", 15),
        "10.0.0.0/15 holds no more specific line; /8 would wrongly cover 10.1.0.0/16"
    );
    assert_eq!(ask("10.200.0.0", 24), answer("eu.example.com.", 9));
    assert_eq!(
        ask("203.0.113.0", 24),
        answer("eu.example.com.", 24),
        "not in the table: by distance from Munich, scoped by the GeoIP network"
    );
    assert_eq!(
        ask("10.1.7.0", 12),
        answer("eu.example.com.", 16),
        "10.0.0.0/12 holds the 10.1.0.0/16 line: the answer depends on 16 bits, not the 12 sent"
    );
    dns.server.shutdown();
}
