//! ALIAS records through the real binary: the apex of a hosted zone is an ALIAS to a Priority
//! profile (IP endpoints) and follows its failover; an ALIAS to a profile with a name endpoint
//! answers that name's addresses, resolved through `--probe-resolver` (a tiny DNS server this
//! test runs on loopback); an ALIAS to an outside name answers its addresses and follows a change
//! of them without any reload; ECS routes a Geographic profile through an ALIAS with the scope
//! echoed; the TTL is the smallest of the ALIAS's, the profile's and the records'; an
//! unresolvable target is SERVFAIL; A records beside an ALIAS win.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::{Arc, Mutex};

use common::{Server, Stub, temp_dir, two_listeners, wait_until};
use domain::base::iana::{Class, Rcode, Rtype};
use domain::base::opt::ClientSubnet;
use domain::base::{Message, MessageBuilder, Ttl};
use domain::rdata::A;

/// Names the tiny resolver knows: addresses and TTL; any other name is NXDOMAIN.
type Names = Arc<Mutex<HashMap<String, (Vec<Ipv4Addr>, u32)>>>;

/// A tiny DNS server on loopback answering A queries from `names` (AAAA: no data).
fn tiny_resolver(names: Names) -> std::net::SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                return;
            };
            let Ok(query) = Message::from_octets(buf[..n].to_vec()) else {
                continue;
            };
            let Some(Ok(q)) = query.question().next() else {
                continue;
            };
            let name = q
                .qname()
                .to_string()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            let known = names.lock().unwrap().get(&name).cloned();
            let rcode = if known.is_some() {
                Rcode::NOERROR
            } else {
                Rcode::NXDOMAIN
            };
            let mut answer = MessageBuilder::new_vec()
                .start_answer(&query, rcode)
                .unwrap();
            if let Some((addrs, ttl)) = known
                && q.qtype() == Rtype::A
            {
                for a in addrs {
                    answer
                        .push((q.qname(), Class::IN, Ttl::from_secs(ttl), A::new(a)))
                        .unwrap();
                }
            }
            let _ = sock.send_to(answer.as_slice(), peer);
        }
    });
    addr
}

/// A one-network GeoIP database: `net` is in `country` (Europe).
fn database(net: &str, country: &str) -> Vec<u8> {
    let mut w = mmdb_writer::Writer::new("Signpost-Test-Country");
    let mut record = BTreeMap::new();
    record.insert(
        "country",
        BTreeMap::from([("iso_code", country.to_string())]),
    );
    record.insert("continent", BTreeMap::from([("code", "EU".to_string())]));
    w.insert(net.parse::<ipnet::IpNet>().unwrap(), &record)
        .unwrap();
    w.to_bytes().unwrap()
}

fn profiles(port: u16) -> String {
    let app = common::failover_profile("app", 10, port, ["192.0.2.1", "192.0.2.2"]);
    format!(
        r#"
profiles:
{app}  - name: named
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: {{ relativeName: named, ttl: 30 }}
      endpoints:
        - {{ name: backend, type: externalEndpoints, properties: {{ target: backend.names.test, alwaysServe: Enabled }} }}
  - name: geo
    properties:
      trafficRoutingMethod: Geographic
      dnsConfig: {{ relativeName: geo, ttl: 60 }}
      endpoints:
        - {{ name: de, type: externalEndpoints, properties: {{ target: 192.0.2.10, geoMapping: [DE], alwaysServe: Enabled }} }}
        - {{ name: world, type: externalEndpoints, properties: {{ target: 192.0.2.20, geoMapping: [WORLD], alwaysServe: Enabled }} }}
"#
    )
}

const ZONE: &str = "\
$TTL 300
@        IN SOA ns1 hostmaster 2026120201 3600 600 604800 60
         IN NS  ns1
@    300 IN ALIAS app.tm.test.
ns1      IN A   192.0.2.53
named 20 IN ALIAS named.tm.test.
ext      IN ALIAS ext.names.test.
geo      IN ALIAS geo.tm.test.
short  3 IN ALIAS app.tm.test.
broken   IN ALIAS missing.names.test.
both     IN ALIAS app.tm.test.
both     IN A   192.0.2.81
";

/// The ECS scope of a response, if it carries ECS.
fn scope(msg: &Message<Vec<u8>>) -> Option<u8> {
    msg.opt()?
        .opt()
        .iter::<ClientSubnet>()
        .filter_map(Result::ok)
        .map(|c| c.scope_prefix_len())
        .next()
}

#[test]
fn alias_records_answer_with_the_targets_addresses() {
    let dir = temp_dir("alias");
    let names: Names = Arc::new(Mutex::new(HashMap::from([
        (
            "backend.names.test".to_string(),
            (
                vec![
                    Ipv4Addr::new(198, 51, 100, 7),
                    Ipv4Addr::new(198, 51, 100, 8),
                ],
                60,
            ),
        ),
        (
            "ext.names.test".to_string(),
            (vec![Ipv4Addr::new(203, 0, 113, 9)], 5),
        ),
    ])));
    let resolver = tiny_resolver(names.clone());
    let (a, b, port) = two_listeners();
    let primary = Stub::start(a);
    let _secondary = Stub::start(b);
    let profiles_file = dir.join("profiles.yaml");
    common::write(&profiles_file, &profiles(port));
    let zone_file = dir.join("contoso.test.zone");
    common::write(&zone_file, ZONE);
    let db = dir.join("geo.mmdb");
    std::fs::write(&db, database("203.0.113.0/24", "DE")).unwrap();
    let s = Server::start(
        &dir,
        &[
            "--zone",
            "tm.test",
            "--profiles",
            profiles_file.to_str().unwrap(),
            "--hosted-zone",
            &format!("contoso.test={}", zone_file.display()),
            "--probe-resolver",
            &resolver.to_string(),
            "--geoip",
            db.to_str().unwrap(),
        ],
    );

    // The apex: the Priority profile's first endpoint, under the apex, with min(300, 10).
    assert_eq!(s.ask("contoso.test", Rtype::A), ["A 192.0.2.1"]);
    let answer = s.query("contoso.test", Rtype::A);
    assert!(answer.header().aa());
    assert_eq!(s.ttls("contoso.test", Rtype::A), [10]);
    assert_eq!(s.ttls("short.contoso.test", Rtype::A), [3], "min(3, 10)");
    // No IPv6 endpoint: NODATA with the SOA. The ALIAS record itself is served as type 65401.
    let aaaa = s.query("contoso.test", Rtype::AAAA);
    assert_eq!(aaaa.header().rcode(), Rcode::NOERROR);
    assert_eq!(aaaa.header_counts().ancount(), 0);
    assert_eq!(aaaa.header_counts().nscount(), 1);
    assert_eq!(
        s.query("contoso.test", Rtype::from_int(65401))
            .header_counts()
            .ancount(),
        1
    );
    assert_eq!(
        s.ask("contoso.test", Rtype::MX),
        Vec::<String>::new(),
        "other types: NODATA"
    );
    // A records of its own win over the ALIAS.
    assert_eq!(s.ask("both.contoso.test", Rtype::A), ["A 192.0.2.81"]);

    // A name endpoint: that name's addresses, resolved in the background through the
    // --probe-resolver; TTL min(ALIAS 20, profile 30, records 60).
    wait_until("the name endpoint's addresses", || {
        s.ask("named.contoso.test", Rtype::A) == ["A 198.51.100.7", "A 198.51.100.8"]
    });
    assert_eq!(s.ttls("named.contoso.test", Rtype::A), [20, 20]);

    // An outside target: its addresses, TTL min(300, 5); a change of them is picked up by the
    // background refresh (clamped to at least 5 s) without reloading anything.
    wait_until("the outside target's address", || {
        s.ask("ext.contoso.test", Rtype::A) == ["A 203.0.113.9"]
    });
    assert_eq!(s.ttls("ext.contoso.test", Rtype::A), [5]);
    names.lock().unwrap().insert(
        "ext.names.test".to_string(),
        (vec![Ipv4Addr::new(203, 0, 113, 10)], 5),
    );
    wait_until("the refreshed address", || {
        s.ask("ext.contoso.test", Rtype::A) == ["A 203.0.113.10"]
    });

    // Unresolvable (NXDOMAIN at the resolver): SERVFAIL, as PowerDNS answers.
    s.wait_log("missing.names.test");
    assert_eq!(s.ask("broken.contoso.test", Rtype::A), ["SERVFAIL"]);

    // ECS through an ALIAS: routed for the client's subnet, the scope echoed as the profile's
    // own answer echoes it.
    let de = s.query_ecs("geo.contoso.test", "203.0.113.0");
    let world = s.query_ecs("geo.contoso.test", "198.51.100.0");
    assert_eq!(
        s.ask_ecs("geo.contoso.test", "203.0.113.0"),
        ["A 192.0.2.10"]
    );
    assert_eq!(
        s.ask_ecs("geo.contoso.test", "198.51.100.0"),
        ["A 192.0.2.20"]
    );
    assert_eq!(s.ask_ecs("geo.tm.test", "203.0.113.0"), ["A 192.0.2.10"]);
    assert_eq!(
        scope(&de),
        scope(&s.query_ecs("geo.tm.test", "203.0.113.0"))
    );
    assert_eq!(
        scope(&world),
        scope(&s.query_ecs("geo.tm.test", "198.51.100.0"))
    );
    assert!(scope(&de).is_some_and(|s| s > 0), "{:?}", scope(&de));

    // Failover: the primary's health server stops; the apex follows the profile.
    primary.stop();
    wait_until("the apex to follow the failover", || {
        s.ask("contoso.test", Rtype::A) == ["A 192.0.2.2"]
    });
    let _ = std::fs::remove_dir_all(dir);
}
