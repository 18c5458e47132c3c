//! The DNS path, bytes to answer: any datagram or TCP message given to `Answerer::answer`, over
//! snapshots holding one profile per routing method (nested endpoints, every all-down policy,
//! several zones with in-zone name servers and glue, a GeoIP database and a latency table), under
//! three health views. Besides "never panics", every response must parse with `domain`, have QR
//! set and the query's ID, fit the transport's limit, and hold only records that parse.

#![no_main]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

use arc_swap::ArcSwap;
use domain::base::iana::Rtype;
use domain::base::{Message, ParsedName, ToName};
use domain::rdata::AllRecordData;
use libfuzzer_sys::fuzz_target;
use signpost_dns::wire::{self, Parsed};
use signpost_dns::{Answered, Answerer, CookieSecret, NameServer, Snapshot, Transport, ZoneConfig};
use signpost_model::{Limits, ProfileSet};
use signpost_routing::{HealthView, ProbeStatus, RoutingTable};

/// Our advertised and honoured UDP payload size (the default, DNS Flag Day 2020).
const MAX_UDP_PAYLOAD: u16 = 1232;

const PROFILES: &str = r#"
profiles:
  - name: prio
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: prio, ttl: 30 }
      endpoints:
        - { name: down-1, type: externalEndpoints, properties: { target: prio-1.example.com, priority: 1 } }
        - { name: two, type: externalEndpoints, properties: { target: prio-2.example.com, priority: 2 } }
        - { name: three, type: externalEndpoints, properties: { target: prio-3.example.com, priority: 3 } }
        - { name: off, type: externalEndpoints, properties: { target: prio-4.example.com, priority: 4, endpointStatus: Disabled } }
  - name: weighted
    properties:
      trafficRoutingMethod: Weighted
      allDownPolicy: noData
      dnsConfig: { relativeName: w.deep.labels, ttl: 10 }
      endpoints:
        - { name: down-a, type: externalEndpoints, properties: { target: stable.app.example.com, weight: 90 } }
        - { name: b, type: externalEndpoints, properties: { target: canary.app.example.com, weight: 10 } }
        - { name: c, type: nestedEndpoints, properties: { targetResourceId: prio, weight: 5, minChildEndpoints: 2 } }
  - name: multi
    properties:
      trafficRoutingMethod: MultiValue
      maxReturn: 3
      allDownPolicy: servFail
      dnsConfig: { relativeName: multi, ttl: 60 }
      endpoints:
        - { name: a1, type: externalEndpoints, properties: { target: 192.0.2.11 } }
        - { name: down-a2, type: externalEndpoints, properties: { target: 192.0.2.12 } }
        - { name: a3, type: externalEndpoints, properties: { target: 192.0.2.13 } }
        - { name: a4, type: externalEndpoints, properties: { target: 192.0.2.14, alwaysServe: Enabled } }
        - { name: b1, type: externalEndpoints, properties: { target: "2001:db8::11" } }
        - { name: b2, type: externalEndpoints, properties: { target: "2001:db8::12" } }
  - name: subnet
    properties:
      trafficRoutingMethod: Subnet
      dnsConfig: { relativeName: subnet, ttl: 60 }
      endpoints:
        - name: office
          type: externalEndpoints
          properties:
            target: office.example.com
            subnets: [ { first: 10.1.0.0, scope: 16 }, { first: 198.51.100.0, last: 198.51.100.127 }, { first: "2001:db8:1::", scope: 48 } ]
        - name: down-lab
          type: externalEndpoints
          properties: { target: lab.example.com, subnets: [ { first: 10.2.0.0, scope: 24 } ] }
        - name: nested
          type: nestedEndpoints
          properties: { targetResourceId: multi, subnets: [ { first: 203.0.113.0, scope: 25 } ], minChildEndpoints: 1 }
        - { name: internet, type: externalEndpoints, properties: { target: public.example.com } }
  - name: geo
    properties:
      trafficRoutingMethod: Geographic
      dnsConfig: { relativeName: geo, ttl: 60 }
      endpoints:
        - { name: california, type: externalEndpoints, properties: { target: ca.shop.example.com, geoMapping: [US-CA] } }
        - { name: europe, type: externalEndpoints, properties: { target: eu.shop.example.com, geoMapping: [GEO-EU, AU] } }
        - { name: down-asia, type: externalEndpoints, properties: { target: asia.shop.example.com, geoMapping: [GEO-AS] } }
        - { name: rest, type: nestedEndpoints, properties: { targetResourceId: perf, geoMapping: [WORLD], minChildEndpoints: 1 } }
  - name: perf
    properties:
      trafficRoutingMethod: Performance
      dnsConfig: { relativeName: perf, ttl: 30 }
      endpoints:
        - { name: weu, type: externalEndpoints, properties: { target: perf-weu.example.com, endpointLocation: West Europe } }
        - { name: down-eus, type: externalEndpoints, properties: { target: eus.example.com, endpointLocation: East US } }
        - { name: jpe, type: externalEndpoints, properties: { target: jpe.example.com, endpointLocation: Japan East } }
        - { name: nested, type: nestedEndpoints, properties: { targetResourceId: weighted, endpointLocation: West US, minChildEndpoints: 1 } }
  - name: addr4
    properties:
      trafficRoutingMethod: Priority
      allDownPolicy: servFail
      dnsConfig: { relativeName: addr4, ttl: 0 }
      endpoints:
        - { name: down-a, type: externalEndpoints, properties: { target: 192.0.2.61 } }
        - { name: b, type: externalEndpoints, properties: { target: 192.0.2.62 } }
  - name: addr6
    properties:
      trafficRoutingMethod: Weighted
      dnsConfig: { relativeName: addr6, ttl: 2147483647 }
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: "2001:db8::61", weight: 1000 } }
        - { name: down-b, type: externalEndpoints, properties: { target: "2001:db8::62", weight: 1 } }
  - name: disabled
    properties:
      trafficRoutingMethod: Priority
      profileStatus: Disabled
      dnsConfig: { relativeName: disabled, ttl: 5 }
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: 192.0.2.51 } }
"#;

const LATENCY: &str = "198.51.100.0/24,East US,20\n198.51.100.0/24,West Europe,90\n10.0.0.0/8,Japan East,5\n2001:db8::/32,West Europe,10\n";

/// Endpoints named `down-*` Degraded, the rest Online.
struct SomeDown;
impl HealthView for SomeDown {
    fn probe_status(&self, _profile: &str, endpoint: &str) -> ProbeStatus {
        if endpoint.starts_with("down") {
            ProbeStatus::Degraded
        } else {
            ProbeStatus::Online
        }
    }
}

/// Every probed endpoint Degraded: fail-open and the all-down policies.
struct AllDown;
impl HealthView for AllDown {
    fn probe_status(&self, _profile: &str, _endpoint: &str) -> ProbeStatus {
        ProbeStatus::Degraded
    }
}

/// Still checking: the state after a start without saved health.
struct Checking;
impl HealthView for Checking {
    fn probe_status(&self, _profile: &str, _endpoint: &str) -> ProbeStatus {
        ProbeStatus::Checking
    }
}

fn zones() -> Vec<ZoneConfig> {
    let mut tm = ZoneConfig::new("tm.test", vec![]);
    tm.nameservers = vec![
        NameServer {
            name: "ns1.tm.test".into(),
            addresses: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
        },
        NameServer {
            name: "ns2.tm.test".into(),
            addresses: vec!["192.0.2.53".parse().unwrap()],
        },
        NameServer {
            name: "ns.elsewhere.example".into(),
            addresses: vec![],
        },
    ];
    tm.hostmaster = Some("dns-admin.example.org".into());
    let alias = ZoneConfig::new("Alias.Example.NET.", vec!["192.0.2.1".parse().unwrap()]);
    // Many long in-zone name servers with glue: responses that must drop glue, or truncate.
    let mut big = ZoneConfig::new("a-rather-long-zone-name.example", vec![]);
    big.nameservers = (0..24)
        .map(|i| NameServer {
            name: format!(
                "ns{i:02}.a-rather-long-name-server-label.a-rather-long-zone-name.example"
            ),
            addresses: vec![
                format!("192.0.2.{i}").parse().unwrap(),
                format!("2001:db8::{i:x}").parse().unwrap(),
            ],
        })
        .collect();
    vec![tm, alias, big]
}

/// A GeoIP City database written here: California, Bavaria (with coordinates), New South Wales.
fn geoip() -> Arc<signpost_geo::GeoIp> {
    use mmdb_writer::Value;
    let mut w = mmdb_writer::Writer::new("Signpost-Fuzz-City");
    for (net, continent, country, sub, lat, lon) in [
        ("198.51.100.0/24", "NA", "US", "CA", 37.77, -122.42),
        ("203.0.113.0/24", "EU", "DE", "BY", 48.14, 11.58),
        ("10.1.0.0/16", "AS", "JP", "13", 35.68, 139.69),
        ("2001:db8:1::/48", "OC", "AU", "NSW", -33.87, 151.21),
    ] {
        let mut record: BTreeMap<&str, Value> = BTreeMap::new();
        record.insert("continent", Value::map([("code", Value::from(continent))]));
        record.insert("country", Value::map([("iso_code", Value::from(country))]));
        record.insert(
            "subdivisions",
            Value::array([Value::map([("iso_code", Value::from(sub))])]),
        );
        record.insert(
            "location",
            Value::map([
                ("latitude", Value::from(lat)),
                ("longitude", Value::from(lon)),
            ]),
        );
        w.insert_value(net.parse::<ipnet::IpNet>().unwrap(), Value::map(record))
            .unwrap();
    }
    let path = std::env::temp_dir().join(format!("signpost-fuzz-{}.mmdb", std::process::id()));
    std::fs::write(&path, w.to_bytes().unwrap()).unwrap();
    let geo = signpost_geo::GeoIp::open(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    Arc::new(geo)
}

fn answerer(health: &dyn HealthView, geo: bool) -> Answerer {
    let file = signpost_model::set::parse_profiles_file(PROFILES, false).unwrap();
    let set = ProfileSet::from_docs(&file.profiles, &Limits::default()).unwrap();
    let routing = RoutingTable::compile(&set, health);
    let mut snapshot = Snapshot::build(&zones(), routing, 42).unwrap();
    if geo {
        let latency =
            signpost_geo::LatencyTable::parse(LATENCY, &Limits::default().regions).unwrap();
        snapshot = snapshot
            .with_geo(Some(geoip()))
            .with_latency(Some(Arc::new(latency)));
        // Signed too, so queries with the DO bit take the DNSSEC paths (RRSIGs, compact denial).
        use signpost_dns::dnssec::{Algorithm, KeyMaterial, ZoneKey, ZoneSigner};
        let key =
            ZoneKey::new(&KeyMaterial::generate(Algorithm::EcdsaP256Sha256).unwrap()).unwrap();
        let signer = Arc::new(ZoneSigner::for_zone("tm.test", vec![key]).unwrap());
        snapshot = snapshot.with_signers(&[signer]);
    }
    let secret = CookieSecret::from_hex("000102030405060708090a0b0c0d0e0f");
    Answerer::new(Arc::new(ArcSwap::from_pointee(snapshot)), MAX_UDP_PAYLOAD)
        .with_cookie_secret(secret)
}

static ANSWERERS: LazyLock<Vec<Answerer>> = LazyLock::new(|| {
    vec![
        answerer(&SomeDown, true),
        answerer(&AllDown, false),
        answerer(&Checking, true),
    ]
});

/// The largest response allowed for `query` over `transport`, as RFC 6891 and RFC 7766 say.
fn limit(query: &[u8], transport: Transport) -> usize {
    match transport {
        Transport::Tcp => 65535,
        Transport::Udp => {
            let edns = match wire::parse(query) {
                Parsed::Query(q) | Parsed::Reject(q, _) | Parsed::BadKey(q) => q.edns,
                Parsed::Drop => None,
            };
            edns.map_or(512, |e| {
                usize::from(e.udp_payload.min(MAX_UDP_PAYLOAD)).max(512)
            })
        }
    }
}

fn check(query: &[u8], response: &[u8], transport: Transport, answered: Answered) {
    assert!(
        response.len() <= limit(query, transport),
        "{transport:?} response of {} octets over the limit {}",
        response.len(),
        limit(query, transport)
    );
    let msg = Message::from_octets(response).expect("the response has a header");
    let header = msg.header();
    assert!(header.qr(), "QR not set");
    assert_eq!(header.id(), u16::from_be_bytes([query[0], query[1]]), "ID");
    assert_eq!(
        u16::from(header.rcode().to_int()),
        answered.rcode & 0xF,
        "the header's RCODE is what answer() reported"
    );
    // The question is echoed as sent (case included), or left out when it could not be read.
    let question_end = usize::from(answered.question_end);
    assert_eq!(
        &response[12..question_end],
        &query[12..question_end],
        "the echoed question"
    );
    assert_eq!(
        msg.header_counts().qdcount(),
        u16::from(question_end > 12),
        "QDCOUNT"
    );
    let mut questions = msg.question();
    let qname = questions
        .next()
        .map(|q| q.expect("the response's question parses").into_qname());
    assert_eq!(
        questions.pos(),
        question_end,
        "the question ends where answer() said"
    );
    let (_, answer, authority, additional) = msg.sections().expect("the sections parse");
    if header.tc() {
        assert_eq!(
            msg.header_counts().ancount(),
            0,
            "a truncated response holds no answer"
        );
    }
    let mut opt = 0;
    for (n, section) in [answer, authority, additional].into_iter().enumerate() {
        for record in section {
            let record = record.expect("every record parses");
            if record.rtype() == Rtype::OPT {
                opt += 1;
            }
            if n == 0 {
                // No CNAME chains, no wildcards: every answer is owned by the query name.
                let qname = qname.as_ref().expect("answers only with a question");
                assert!(
                    record.owner().name_eq(qname),
                    "answer owned by {}",
                    record.owner()
                );
            }
            record
                .to_record::<AllRecordData<&[u8], ParsedName<&[u8]>>>()
                .expect("every record's data parses")
                .expect("every record is one of the known types");
        }
    }
    assert!(opt <= 1, "{opt} OPT records");
}

fuzz_target!(|data: &[u8]| {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut out = Vec::with_capacity(4096);
    let peers: [IpAddr; 2] = [
        "192.0.2.1".parse().unwrap(),
        "2001:db8:1::1".parse().unwrap(),
    ];
    for (i, answerer) in ANSWERERS.iter().enumerate() {
        for transport in [Transport::Udp, Transport::Tcp] {
            let peer = peers[(i + usize::from(transport == Transport::Tcp)) % 2];
            let answered = answerer.answer(data, peer, transport, &mut rng, &mut out);
            match answered {
                None => assert!(out.is_empty(), "nothing answered, yet bytes written"),
                Some(a) => {
                    assert!(data.len() >= 12, "answered a message without a header");
                    assert!(data[2] & 0x80 == 0, "answered a response");
                    // Where a truncated response ends lies inside the response.
                    assert!(usize::from(a.question_end) <= out.len());
                    check(data, &out, transport, a);
                    let _ = a.class_name(data);
                }
            }
        }
    }
});
