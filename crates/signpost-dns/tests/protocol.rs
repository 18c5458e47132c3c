//! Protocol details that outside DNS test suites (genreport, Zonemaster, a differential battery
//! against NSD and Knot) found wrong, each checked against a running server over UDP and TCP.

mod common;

use common::{Q, TestServer, parse, query, tcp, udp};
use domain::base::iana::{Rcode, Rtype, TsigRcode};
use domain::base::{Message, ParsedName};
use domain::rdata::Tsig;

const PROFILES: &str = r#"
profiles:
  - name: contoso
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: contoso, ttl: 30 }
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: contoso-us.cloudapp.net, priority: 1 } }
  - name: inzone
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: deep.inzone, ttl: 30 }
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: app.test } }
  - name: addr
    properties:
      trafficRoutingMethod: Priority
      dnsConfig: { relativeName: addr, ttl: 30 }
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: 192.0.2.10 } }
"#;

fn server() -> TestServer {
    TestServer::start(PROFILES)
}

/// Both transports' answers to `msg`.
fn both(s: &TestServer, msg: &[u8]) -> [Vec<u8>; 2] {
    [udp(s.addr, msg).expect("a UDP reply"), tcp(s.addr, msg)]
}

/// A header with `opcode` and the given counts, nothing else.
fn header(id: u16, opcode: u8, qd: u16, ar: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.push(opcode << 3 | 1); // RD
    m.push(0);
    for c in [qd, 0, 0, ar] {
        m.extend_from_slice(&c.to_be_bytes());
    }
    m
}

/// An empty OPT record advertising 1232 octets.
const OPT: [u8; 11] = [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0];

/// A TSIG record as a client with key `key.example.` would sign with (the MAC is junk: we have
/// no keys, so it is never checked).
fn tsig_record(original_id: u16) -> Vec<u8> {
    let mut r = b"\x03key\x07example\x00".to_vec();
    r.extend_from_slice(&[0, 250, 0, 255, 0, 0, 0, 0]);
    let mut rdata = b"\x0bhmac-sha256\x00".to_vec();
    rdata.extend_from_slice(&[0, 0, 0x65, 0x4a, 0x3b, 0x2c]); // time signed
    rdata.extend_from_slice(&300u16.to_be_bytes()); // fudge
    rdata.extend_from_slice(&32u16.to_be_bytes());
    rdata.extend_from_slice(&[0xAB; 32]);
    rdata.extend_from_slice(&original_id.to_be_bytes());
    rdata.extend_from_slice(&[0, 0, 0, 0]); // error, other length
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(&rdata);
    r
}

/// `base` with `records` appended to its additional section.
fn with_additional(mut base: Vec<u8>, records: &[&[u8]]) -> Vec<u8> {
    let ar = u16::from_be_bytes([base[10], base[11]]) + records.len() as u16;
    base[10..12].copy_from_slice(&ar.to_be_bytes());
    for r in records {
        base.extend_from_slice(r);
    }
    base
}

#[test]
fn an_unknown_opcode_is_notimp_before_the_question_is_looked_at() {
    let s = server();
    for opcode in 1..=15u8 {
        // Header only: no question to check the count of.
        for reply in both(&s, &header(0x4242, opcode, 0, 0)) {
            let r = parse(reply);
            assert_eq!(r.rcode(), Rcode::NOTIMP, "opcode {opcode}");
            assert_eq!(r.msg.header().id(), 0x4242);
            assert_eq!(r.msg.header().opcode().to_int(), opcode);
            assert!(r.msg.header().qr());
        }
    }
    // With a readable question, the question is echoed.
    let mut q = query("contoso.tm.test", Rtype::A, Q::default());
    q[2] = (q[2] & 0x87) | (4 << 3); // NOTIFY
    for reply in both(&s, &q) {
        let r = parse(reply);
        assert_eq!(r.rcode(), Rcode::NOTIMP);
        assert_eq!(
            r.msg.first_question().unwrap().qname().to_string(),
            "contoso.tm.test"
        );
    }
}

#[test]
fn zone_transfers_are_refused() {
    let s = server();
    for qtype in [Rtype::AXFR, Rtype::IXFR] {
        for name in ["tm.test", "contoso.tm.test"] {
            for reply in both(&s, &query(name, qtype, Q::default())) {
                let r = parse(reply);
                assert_eq!(r.rcode(), Rcode::REFUSED, "{qtype} {name}");
                assert!(r.answers().is_empty() && r.authority().is_empty());
            }
        }
    }
}

#[test]
fn a_signed_query_gets_notauth_with_an_unsigned_badkey_tsig() {
    let s = server();
    let q = query(
        "contoso.tm.test",
        Rtype::A,
        Q {
            id: 0x1234,
            edns: Some(1232),
            ..Q::default()
        },
    );
    let signed = with_additional(q, &[&tsig_record(0x1234)]);
    for reply in both(&s, &signed) {
        let msg = Message::from_octets(reply).unwrap();
        assert_eq!(msg.header().rcode(), Rcode::NOTAUTH);
        assert_eq!(msg.header().id(), 0x1234);
        assert_eq!(msg.header_counts().ancount(), 0);
        assert!(msg.opt().is_some(), "the query's OPT is answered");
        let last = msg
            .additional()
            .unwrap()
            .last()
            .expect("an additional record")
            .unwrap();
        assert_eq!(last.rtype(), Rtype::TSIG, "TSIG is the last record");
        let tsig = last.to_record::<Tsig<_, ParsedName<_>>>().unwrap().unwrap();
        assert_eq!(tsig.owner().to_string(), "key.example");
        assert_eq!(tsig.data().algorithm().to_string(), "hmac-sha256");
        assert_eq!(tsig.data().error(), TsigRcode::BADKEY);
        assert!(tsig.data().mac_slice().is_empty(), "unsigned: no MAC");
        assert_eq!(tsig.data().original_id(), 0x1234);
        assert_eq!(tsig.data().fudge(), 300);
    }
}

#[test]
fn a_tsig_that_is_not_the_last_record_is_formerr() {
    let s = server();
    let q = query("contoso.tm.test", Rtype::A, Q::default());
    let misplaced = with_additional(q, &[&tsig_record(0), &OPT]);
    for reply in both(&s, &misplaced) {
        assert_eq!(parse(reply).rcode(), Rcode::FORMERR);
    }
}

#[test]
fn glue_that_does_not_fit_is_dropped_without_tc() {
    let mut zone = common::zone("tm.test");
    zone.nameservers = (1..=6)
        .map(|i| signpost_dns::NameServer {
            name: format!("ns{i}.tm.test"),
            addresses: vec![
                format!("127.0.0.{i}").parse().unwrap(),
                format!("fd00:5eed::{i}").parse().unwrap(),
            ],
        })
        .collect();
    // Long enough names that six NS fit in 512 octets but their glue does not.
    for ns in &mut zone.nameservers {
        ns.name = ns
            .name
            .replace(".tm.test", ".a-long-label-to-fill-the-message.tm.test");
    }
    let s = TestServer::start_with(PROFILES, vec![zone], "127.0.0.1:0");
    let r = parse(udp(s.addr, &query("tm.test", Rtype::NS, Q::default())).unwrap());
    assert!(!r.tc(), "TC is for answers that do not fit, not for glue");
    assert_eq!(r.answers().len(), 6, "every NS record");
    assert!(r.additional().len() < 12, "some glue was dropped");
    let r = parse(tcp(s.addr, &query("tm.test", Rtype::NS, Q::default())));
    assert_eq!(r.additional().len(), 12, "all glue over TCP");
}

#[test]
fn names_in_records_are_compressed_against_the_question() {
    let s = server();
    // header 12 + question 13; SOA: owner pointer 2, fixed 10, MNAME "ns1"+pointer 6, RNAME
    // "hostmaster"+pointer 13, timers 20.
    let soa = udp(s.addr, &query("tm.test", Rtype::SOA, Q::default())).unwrap();
    assert_eq!(soa.len(), 12 + 13 + 2 + 10 + 6 + 13 + 20);
    let r = parse(soa);
    assert!(
        r.answers()[0].starts_with("SOA ns1.tm.test. hostmaster.tm.test. "),
        "{:?}",
        r.answers()
    );
    // The apex sits at a different offset for every question; the pointers follow it.
    for name in ["nope.tm.test", "x.y.z.TM.test", "INZONE.tm.TEST"] {
        let r = parse(udp(s.addr, &query(name, Rtype::TXT, Q::default())).unwrap());
        // The names take the question's case, through the pointers.
        assert!(
            r.authority()[0]
                .to_ascii_lowercase()
                .starts_with("soa ns1.tm.test. hostmaster.tm.test. "),
            "{name}: {:?}",
            r.authority()
        );
    }
    // A CNAME target sharing the zone's suffix: "app" plus a pointer to "test".
    let q = query("deep.inzone.tm.test", Rtype::A, Q::default());
    let reply = udp(s.addr, &q).unwrap();
    assert_eq!(reply.len(), q.len() + 2 + 10 + 4 + 2);
    assert_eq!(parse(reply).answers(), vec!["CNAME app.test."]);
}

#[test]
fn rejections_carry_opt_when_the_query_had_one() {
    let s = server();
    // NOTIMP, header and OPT only.
    let notimp = with_additional(header(7, 2, 0, 0), &[&OPT]);
    // FORMERR: two questions are not allowed, OPT still readable after them.
    let mut two = query(
        "contoso.tm.test",
        Rtype::A,
        Q {
            edns: Some(1232),
            ..Q::default()
        },
    );
    let question = two[12..12 + 17 + 4].to_vec();
    two.splice(12 + 21..12 + 21, question);
    two[5] = 2;
    // REFUSED: outside the zone.
    let refused = query(
        "example.org",
        Rtype::A,
        Q {
            edns: Some(1232),
            ..Q::default()
        },
    );
    for (msg, rcode) in [
        (notimp, Rcode::NOTIMP),
        (two, Rcode::FORMERR),
        (refused, Rcode::REFUSED),
    ] {
        for reply in both(&s, &msg) {
            let r = parse(reply);
            assert_eq!(r.rcode(), rcode);
            assert!(r.msg.opt().is_some(), "{rcode}: OPT answered");
        }
    }
    // A malformed OPT (two of them) is FORMERR without OPT.
    let bad = with_additional(
        query("contoso.tm.test", Rtype::A, Q::default()),
        &[&OPT, &OPT],
    );
    let r = parse(udp(s.addr, &bad).unwrap());
    assert_eq!(r.rcode(), Rcode::FORMERR);
    assert!(r.msg.opt().is_none());
}

#[test]
fn query_type_opt_is_answered_like_any_other_type() {
    let s = server();
    let r = parse(udp(s.addr, &query("addr.tm.test", Rtype::OPT, Q::default())).unwrap());
    assert_eq!(r.rcode(), Rcode::NOERROR);
    assert!(r.answers().is_empty(), "NODATA");
    assert_eq!(r.authority().len(), 1, "with the SOA");
    let r = parse(udp(s.addr, &query("nothing.tm.test", Rtype::OPT, Q::default())).unwrap());
    assert_eq!(r.rcode(), Rcode::NXDOMAIN);
}
