//! The spec's "DNS behaviour", checked with real queries over UDP and TCP against a running server.

mod common;

use common::{Q, TestServer, parse, query, tcp, tcp_many, udp};
use domain::base::iana::{Rcode, Rtype};

const PROFILES: &str = r#"
profiles:
  - name: contoso
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: contoso, ttl: 30 }
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: contoso-us.cloudapp.net, priority: 1 } }
        - { name: eu, type: externalEndpoints, properties: { target: contoso-eu.cloudapp.net, priority: 2 } }
  - name: partners
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: partners, ttl: 45 }
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: 192.0.2.10 } }
  - name: v6only
    properties:
      trafficRoutingMethod: Weighted
      dnsConfig: { relativeName: v6only, ttl: 20 }
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: "2001:db8::10" } }
  - name: multi
    properties:
      trafficRoutingMethod: MultiValue
      maxReturn: 3
      dnsConfig: { relativeName: multi, ttl: 60 }
      endpoints:
        - { name: a1, type: externalEndpoints, properties: { target: 192.0.2.1 } }
        - { name: a2, type: externalEndpoints, properties: { target: 192.0.2.2 } }
        - { name: b1, type: externalEndpoints, properties: { target: "2001:db8::1" } }
  - name: off
    properties:
      profileStatus: Disabled
      trafficRoutingMethod: Priority
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: off.example.com } }
  - name: alloff
    properties:
      trafficRoutingMethod: Priority
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: x.example.com, endpointStatus: Disabled } }
  - name: dotted
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: api.eu, ttl: 30 }
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: api-eu.example.com } }
  - name: office
    properties:
      trafficRoutingMethod: Subnet
      dnsConfig: { relativeName: office, ttl: 30 }
      endpoints:
        - name: hq
          type: externalEndpoints
          properties: { target: hq.example.com, subnets: [ { first: 10.1.0.0, scope: 16 } ] }
        - name: v6
          type: externalEndpoints
          properties: { target: v6.example.com, subnets: [ { first: "2001:db8:1::", scope: 48 } ] }
        - name: rest
          type: externalEndpoints
          properties: { target: rest.example.com }
"#;

fn server() -> TestServer {
    TestServer::start(PROFILES)
}

#[test]
fn fqdn_endpoint_answers_cname_for_every_type() {
    let s = server();
    for t in [
        Rtype::A,
        Rtype::AAAA,
        Rtype::CNAME,
        Rtype::TXT,
        Rtype::MX,
        Rtype::ANY,
    ] {
        let r = parse(udp(s.addr, &query("contoso.tm.test", t, Q::default())).unwrap());
        assert_eq!(r.rcode(), Rcode::NOERROR, "{t}");
        assert!(r.aa(), "authoritative for {t}");
        assert_eq!(r.answers(), vec!["CNAME contoso-us.cloudapp.net."], "{t}");
        assert_eq!(r.answer_ttls(), vec![30]);
    }
}

#[test]
fn ip_endpoint_answers_its_family_and_nodata_otherwise() {
    let s = server();
    let r = parse(udp(s.addr, &query("partners.tm.test", Rtype::A, Q::default())).unwrap());
    assert_eq!(r.answers(), vec!["A 192.0.2.10"]);
    assert_eq!(r.answer_ttls(), vec![45]);
    assert_eq!(r.owners(), vec!["partners.tm.test"]);
    for t in [Rtype::AAAA, Rtype::CNAME, Rtype::TXT] {
        let r = parse(udp(s.addr, &query("partners.tm.test", t, Q::default())).unwrap());
        assert_eq!(r.rcode(), Rcode::NOERROR);
        assert!(r.answers().is_empty(), "NODATA for {t}");
        assert_eq!(r.authority().len(), 1);
        assert!(
            r.authority()[0].starts_with("SOA ns1.tm.test. hostmaster.tm.test. 7 "),
            "{:?}",
            r.authority()
        );
    }
    let r = parse(udp(s.addr, &query("v6only.tm.test", Rtype::AAAA, Q::default())).unwrap());
    assert_eq!(r.answers(), vec!["AAAA 2001:db8::10"]);
    let r = parse(udp(s.addr, &query("partners.tm.test", Rtype::ANY, Q::default())).unwrap());
    assert_eq!(
        r.answers(),
        vec!["A 192.0.2.10"],
        "ANY: both families, of which it has one"
    );
}

#[test]
fn multivalue_answers_the_queried_family() {
    let s = server();
    let r = parse(udp(s.addr, &query("multi.tm.test", Rtype::A, Q::default())).unwrap());
    let mut a = r.a();
    a.sort();
    assert_eq!(a, vec!["192.0.2.1", "192.0.2.2"]);
    let r = parse(udp(s.addr, &query("multi.tm.test", Rtype::AAAA, Q::default())).unwrap());
    assert_eq!(r.a(), vec!["2001:db8::1"]);
    let r = parse(udp(s.addr, &query("multi.tm.test", Rtype::ANY, Q::default())).unwrap());
    assert_eq!(r.a().len(), 3);
    let r = parse(udp(s.addr, &query("multi.tm.test", Rtype::CNAME, Q::default())).unwrap());
    assert!(r.answers().is_empty());
    assert_eq!(r.rcode(), Rcode::NOERROR);
}

#[test]
fn unknown_names_are_nxdomain_with_the_soa_and_negative_ttl() {
    let s = server();
    for name in ["nothere.tm.test", "x.contoso.tm.test", "a.b.c.tm.test"] {
        let r = parse(udp(s.addr, &query(name, Rtype::A, Q::default())).unwrap());
        assert_eq!(r.rcode(), Rcode::NXDOMAIN, "{name}");
        assert!(r.aa());
        assert_eq!(r.authority().len(), 1);
        assert!(r.authority()[0].starts_with("SOA "));
        assert_eq!(r.authority_ttls(), vec![30], "min(SOA TTL, SOA minimum)");
    }
}

#[test]
fn disabled_profiles_and_profiles_without_enabled_endpoints_are_nxdomain() {
    let s = server();
    for name in ["off.tm.test", "alloff.tm.test"] {
        let r = parse(udp(s.addr, &query(name, Rtype::A, Q::default())).unwrap());
        assert_eq!(r.rcode(), Rcode::NXDOMAIN, "{name}");
    }
}

#[test]
fn dotted_relative_names_and_their_empty_non_terminals() {
    let s = server();
    let r = parse(udp(s.addr, &query("api.eu.tm.test", Rtype::A, Q::default())).unwrap());
    assert_eq!(r.answers(), vec!["CNAME api-eu.example.com."]);
    let r = parse(udp(s.addr, &query("eu.tm.test", Rtype::A, Q::default())).unwrap());
    assert_eq!(r.rcode(), Rcode::NOERROR, "an empty non-terminal is NODATA");
    assert!(r.answers().is_empty());
}

#[test]
fn outside_the_zone_is_refused_without_aa() {
    let s = server();
    for name in ["example.com", "tm.test.evil", "test"] {
        let r = parse(udp(s.addr, &query(name, Rtype::A, Q::default())).unwrap());
        assert_eq!(r.rcode(), Rcode::REFUSED, "{name}");
        assert!(!r.aa());
    }
}

#[test]
fn apex_has_soa_and_ns_with_glue() {
    let s = server();
    let r = parse(udp(s.addr, &query("tm.test", Rtype::SOA, Q::default())).unwrap());
    assert_eq!(r.answers().len(), 1);
    assert!(
        r.answers()[0].starts_with("SOA ns1.tm.test. hostmaster.tm.test. 7 3600 600 604800 30")
    );
    let r = parse(udp(s.addr, &query("tm.test", Rtype::NS, Q::default())).unwrap());
    assert_eq!(r.answers(), vec!["NS ns1.tm.test."]);
    assert_eq!(r.additional(), vec!["A 127.0.0.1"]);
    let r = parse(udp(s.addr, &query("ns1.tm.test", Rtype::A, Q::default())).unwrap());
    assert_eq!(r.answers(), vec!["A 127.0.0.1"]);
    let r = parse(udp(s.addr, &query("tm.test", Rtype::A, Q::default())).unwrap());
    assert!(r.answers().is_empty());
    assert_eq!(r.rcode(), Rcode::NOERROR);
    // RFC 8482: ANY at the apex gets one RRset, not everything.
    let r = parse(udp(s.addr, &query("tm.test", Rtype::ANY, Q::default())).unwrap());
    assert_eq!(r.answers().len(), 1);
}

#[test]
fn several_zones_serve_every_profile() {
    let s = TestServer::start_with(
        PROFILES,
        vec![common::zone("tm.test"), common::zone("tm.example.net")],
        "127.0.0.1:0",
    );
    let r = parse(
        udp(
            s.addr,
            &query("contoso.tm.example.net", Rtype::A, Q::default()),
        )
        .unwrap(),
    );
    assert_eq!(r.answers(), vec!["CNAME contoso-us.cloudapp.net."]);
    let r = parse(udp(s.addr, &query("tm.example.net", Rtype::SOA, Q::default())).unwrap());
    assert!(r.answers()[0].starts_with("SOA ns1.tm.example.net."));
}

#[test]
fn question_is_echoed_byte_for_byte() {
    let s = server();
    let q = query(
        "CoNtOsO.Tm.TeSt",
        Rtype::A,
        Q {
            id: 4242,
            ..Q::default()
        },
    );
    let resp = udp(s.addr, &q).unwrap();
    let qlen = 12 + "CoNtOsO.Tm.TeSt".len() + 2 + 4;
    assert_eq!(&resp[12..qlen], &q[12..qlen]);
    assert_eq!(&resp[..2], &4242u16.to_be_bytes());
    let r = parse(resp);
    assert_eq!(r.answers(), vec!["CNAME contoso-us.cloudapp.net."]);
}

#[test]
fn over_tcp_the_same_answers_and_pipelining_keeps_order() {
    let s = server();
    let r = parse(tcp(
        s.addr,
        &query("contoso.tm.test", Rtype::A, Q::default()),
    ));
    assert_eq!(r.answers(), vec!["CNAME contoso-us.cloudapp.net."]);
    let names = [
        "contoso.tm.test",
        "partners.tm.test",
        "nothere.tm.test",
        "multi.tm.test",
    ];
    let queries: Vec<Vec<u8>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            query(
                n,
                Rtype::A,
                Q {
                    id: 100 + i as u16,
                    ..Q::default()
                },
            )
        })
        .collect();
    let replies = tcp_many(s.addr, &queries);
    for (i, reply) in replies.into_iter().enumerate() {
        let r = parse(reply);
        assert_eq!(r.msg.header().id(), 100 + i as u16);
    }
}

#[test]
fn oversized_udp_answers_are_truncated_and_complete_over_tcp() {
    let s = TestServer::start_with(
        PROFILES,
        vec![common::many_nameservers("tm.test", 15)],
        "127.0.0.1:0",
    );
    let q = query("tm.test", Rtype::NS, Q::default());
    let r = parse(udp(s.addr, &q).unwrap());
    assert!(r.tc(), "15 long NS names exceed 512 octets");
    assert!(r.answers().is_empty());
    assert_eq!(
        r.msg.first_question().unwrap().qname().to_string(),
        "tm.test"
    );
    // With EDNS and a large enough payload size it fits over UDP.
    let r = parse(
        udp(
            s.addr,
            &query(
                "tm.test",
                Rtype::NS,
                Q {
                    edns: Some(1232),
                    ..Q::default()
                },
            ),
        )
        .unwrap(),
    );
    assert!(!r.tc());
    assert_eq!(r.answers().len(), 15);
    // An EDNS payload below 512 is read as 512.
    let r = parse(
        udp(
            s.addr,
            &query(
                "tm.test",
                Rtype::NS,
                Q {
                    edns: Some(100),
                    ..Q::default()
                },
            ),
        )
        .unwrap(),
    );
    assert!(r.tc());
    assert!(
        r.msg.opt().is_some(),
        "a truncated EDNS answer still carries OPT"
    );
    // The resolver's retry over TCP gets everything.
    let r = parse(tcp(s.addr, &q));
    assert!(!r.tc());
    assert_eq!(r.answers().len(), 15);
}

#[test]
fn edns_is_answered_with_our_payload_size_and_do_copied() {
    let s = server();
    let r = parse(
        udp(
            s.addr,
            &query(
                "contoso.tm.test",
                Rtype::A,
                Q {
                    edns: Some(4096),
                    dnssec_ok: true,
                    ..Q::default()
                },
            ),
        )
        .unwrap(),
    );
    let opt = r.msg.opt().expect("OPT in the response");
    assert_eq!(opt.udp_payload_size(), 1232);
    assert!(opt.dnssec_ok());
    assert_eq!(opt.version(), 0);
    let r = parse(udp(s.addr, &query("contoso.tm.test", Rtype::A, Q::default())).unwrap());
    assert!(r.msg.opt().is_none(), "no OPT without EDNS in the query");
}

#[test]
fn unknown_edns_version_is_badvers() {
    let s = server();
    let r = parse(
        udp(
            s.addr,
            &query(
                "contoso.tm.test",
                Rtype::A,
                Q {
                    edns: Some(1232),
                    edns_version: 1,
                    ..Q::default()
                },
            ),
        )
        .unwrap(),
    );
    assert_eq!(r.opt_rcode(), Some(16), "BADVERS");
    assert!(r.answers().is_empty());
    assert_eq!(r.msg.opt().unwrap().version(), 0);
}

#[test]
fn ecs_picks_the_subnet_endpoint_and_reports_the_scope() {
    let s = server();
    let ecs = |addr: &str, prefix: u8| Q {
        edns: Some(1232),
        ecs: Some((addr.parse().unwrap(), prefix)),
        ..Q::default()
    };
    let r = parse(
        udp(
            s.addr,
            &query("office.tm.test", Rtype::A, ecs("10.1.2.0", 24)),
        )
        .unwrap(),
    );
    assert_eq!(r.answers(), vec!["CNAME hq.example.com."]);
    assert_eq!(
        r.ecs(),
        Some(("10.1.2.0".parse().unwrap(), 24, 16)),
        "the /16 range decided"
    );
    let r = parse(
        udp(
            s.addr,
            &query("office.tm.test", Rtype::A, ecs("10.1.0.0", 12)),
        )
        .unwrap(),
    );
    assert_eq!(
        r.ecs().unwrap().2,
        16,
        "the answer depends on 16 bits though the client sent 12 (RFC 7871 7.2.1)"
    );
    let r = parse(
        udp(
            s.addr,
            &query("office.tm.test", Rtype::A, ecs("10.0.0.0", 12)),
        )
        .unwrap(),
    );
    assert_eq!(r.answers(), vec!["CNAME rest.example.com."]);
    assert_eq!(
        r.ecs().unwrap().2,
        16,
        "10.0.0.0/12 holds 10.1.0.0/16, which answers differently"
    );
    let r = parse(
        udp(
            s.addr,
            &query("office.tm.test", Rtype::A, ecs("192.0.2.0", 24)),
        )
        .unwrap(),
    );
    assert_eq!(r.answers(), vec!["CNAME rest.example.com."]);
    assert_eq!(
        r.ecs(),
        Some(("192.0.2.0".parse().unwrap(), 24, 1)),
        "128.0.0.0/1 holds no range"
    );
    let r = parse(
        udp(
            s.addr,
            &query("office.tm.test", Rtype::AAAA, ecs("2001:db8:1:2::", 64)),
        )
        .unwrap(),
    );
    assert_eq!(r.answers(), vec!["CNAME v6.example.com."]);
    assert_eq!(r.ecs().unwrap().2, 48);
    // Methods that ignore the client address say so with scope 0.
    let r = parse(
        udp(
            s.addr,
            &query("contoso.tm.test", Rtype::A, ecs("10.1.2.0", 24)),
        )
        .unwrap(),
    );
    assert_eq!(r.ecs(), Some(("10.1.2.0".parse().unwrap(), 24, 0)));
    // Without ECS the resolver's own address (127.0.0.1) decides: the fallback.
    let r = parse(udp(s.addr, &query("office.tm.test", Rtype::A, Q::default())).unwrap());
    assert_eq!(r.answers(), vec!["CNAME rest.example.com."]);
}

#[test]
fn ipv6_listener_answers() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        // CI machines have ::1; a machine without it must say so to skip.
        assert!(
            std::env::var_os("SIGNPOST_SKIP_IPV6").is_some(),
            "no IPv6 loopback (::1) here: set SIGNPOST_SKIP_IPV6=1 to skip the IPv6 tests"
        );
        eprintln!("no IPv6 loopback here; skipping as SIGNPOST_SKIP_IPV6 asks");
        return;
    }
    let s = TestServer::start_with(PROFILES, vec![common::zone("tm.test")], "[::1]:0");
    let r = parse(udp(s.addr, &query("contoso.tm.test", Rtype::A, Q::default())).unwrap());
    assert_eq!(r.answers(), vec!["CNAME contoso-us.cloudapp.net."]);
    let r = parse(tcp(
        s.addr,
        &query("contoso.tm.test", Rtype::A, Q::default()),
    ));
    assert_eq!(r.answers(), vec!["CNAME contoso-us.cloudapp.net."]);
}

#[test]
fn a_new_snapshot_takes_effect_on_the_next_query() {
    let s = server();
    let swapped = PROFILES.replace("priority: 1 }", "priority: 3 }");
    s.publish(&swapped);
    let r = parse(udp(s.addr, &query("contoso.tm.test", Rtype::A, Q::default())).unwrap());
    assert_eq!(r.answers(), vec!["CNAME contoso-eu.cloudapp.net."]);
}

#[test]
fn on_a_wildcard_address_replies_leave_from_the_address_asked() {
    let s = TestServer::start_with(PROFILES, vec![common::zone("tm.test")], "0.0.0.0:0");
    // A connected socket only accepts datagrams from the address it sent to.
    for dst in ["127.0.0.1", "127.0.0.5", "127.1.2.3"] {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        sock.connect((dst, s.addr.port())).unwrap();
        sock.send(&query("contoso.tm.test", Rtype::A, Q::default()))
            .unwrap();
        let mut buf = vec![0; 1500];
        let n = sock
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no reply from {dst}: {e}"));
        buf.truncate(n);
        assert_eq!(
            parse(buf).answers(),
            vec!["CNAME contoso-us.cloudapp.net."],
            "{dst}"
        );
    }
}
