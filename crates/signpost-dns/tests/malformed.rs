//! Malformed packets get FORMERR or silence, never a crash or a stall.

mod common;

use common::{Q, TestServer, parse, query, udp};
use domain::base::iana::{Rcode, Rtype};

use common::ONE_PROFILE as PROFILES;

fn still_answers(s: &TestServer) {
    let r = parse(
        udp(s.addr, &query("contoso.tm.test", Rtype::A, Q::default()))
            .expect("server still answers"),
    );
    assert_eq!(r.answers(), vec!["CNAME contoso-us.cloudapp.net."]);
}

fn header(qd: u16, an: u16, ar: u16) -> Vec<u8> {
    let mut h = vec![0xAB, 0xCD, 0x01, 0x00];
    for c in [qd, an, 0, ar] {
        h.extend_from_slice(&c.to_be_bytes());
    }
    h
}

#[test]
fn format_errors_get_formerr() {
    let s = TestServer::start(PROFILES);
    let name = b"\x07contoso\x02tm\x04test\x00";
    let question = [&name[..], &[0, 1, 0, 1]].concat();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no question", header(0, 0, 0)),
        (
            "two questions",
            [header(2, 0, 0), question.clone(), question.clone()].concat(),
        ),
        (
            "question cut short",
            [header(1, 0, 0), name[..6].to_vec()].concat(),
        ),
        (
            "label runs past the end",
            [header(1, 0, 0), b"\x3fabc".to_vec()].concat(),
        ),
        (
            "compression pointer in the question",
            [header(1, 0, 0), vec![0xC0, 0x0C, 0, 1, 0, 1]].concat(),
        ),
        (
            "answer count with no answer",
            [header(1, 1, 0), question.clone()].concat(),
        ),
        (
            "additional count with no record",
            [header(1, 0, 1), question.clone()].concat(),
        ),
        (
            "ECS with an unknown family",
            [
                header(1, 0, 1),
                question.clone(),
                vec![0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 4, 0, 9, 0, 0],
            ]
            .concat(),
        ),
        (
            "ECS address longer than its prefix",
            [
                header(1, 0, 1),
                question.clone(),
                vec![
                    0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 12, 0, 8, 0, 8, 0, 1, 8, 0, 10, 1, 2, 3,
                ],
            ]
            .concat(),
        ),
        (
            "option running past the OPT record",
            [
                header(1, 0, 1),
                question.clone(),
                vec![0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 4, 0, 8, 0, 40],
            ]
            .concat(),
        ),
    ];
    for (what, packet) in cases {
        let reply = udp(s.addr, &packet).unwrap_or_else(|| panic!("{what}: no reply"));
        let r = parse(reply);
        assert_eq!(r.rcode(), Rcode::FORMERR, "{what}");
        assert_eq!(&r.msg.as_slice()[..2], &[0xAB, 0xCD], "{what}: id echoed");
        assert!(r.msg.header().qr(), "{what}");
    }
    still_answers(&s);
}

#[test]
fn responses_runts_and_unknown_opcodes() {
    let s = TestServer::start(PROFILES);
    for runt in [vec![], vec![1], vec![0; 11]] {
        assert!(
            udp(s.addr, &runt).is_none(),
            "no reply to {} octets",
            runt.len()
        );
    }
    let mut response = query("contoso.tm.test", Rtype::A, Q::default());
    response[2] |= 0x80;
    assert!(
        udp(s.addr, &response).is_none(),
        "responses are never answered"
    );
    let mut notify = query("contoso.tm.test", Rtype::SOA, Q::default());
    notify[2] = (notify[2] & 0x87) | (4 << 3);
    assert_eq!(parse(udp(s.addr, &notify).unwrap()).rcode(), Rcode::NOTIMP);
    still_answers(&s);
}

#[test]
fn random_garbage_never_stops_the_server() {
    let s = TestServer::start(PROFILES);
    let socks = common::client_sockets(64);
    let mut rng = fastrand::Rng::with_seed(0x5167_9057);
    let valid = query(
        "contoso.tm.test",
        Rtype::A,
        Q {
            edns: Some(1232),
            ecs: Some(("10.0.0.0".parse().unwrap(), 8)),
            ..Q::default()
        },
    );
    for i in 0..3000 {
        let packet: Vec<u8> = if i % 2 == 0 {
            (0..rng.usize(0..600)).map(|_| rng.u8(..)).collect()
        } else {
            // Mutate a valid query: flip bytes, cut it, or extend it.
            let mut p = valid.clone();
            for _ in 0..rng.usize(1..6) {
                let at = rng.usize(0..p.len());
                p[at] = rng.u8(..);
            }
            p.truncate(rng.usize(0..=p.len()));
            p
        };
        socks[i % socks.len()].send_to(&packet, s.addr).unwrap();
    }
    // Every worker still answers: ask from every source port.
    let q = query(
        "contoso.tm.test",
        Rtype::A,
        Q {
            id: 0x5eed,
            ..Q::default()
        },
    );
    for (i, sock) in socks.iter().enumerate() {
        let reply = common::ask_from(sock, s.addr, &q, 3)
            .unwrap_or_else(|| panic!("no answer to source port {i}"));
        assert_eq!(
            parse(reply).answers(),
            vec!["CNAME contoso-us.cloudapp.net."]
        );
    }
    assert_eq!(s.worker_restarts(), 0, "garbage never panics a worker");
    // And over TCP, a connection sending garbage lengths is simply closed.
    use std::io::Write;
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    c.write_all(&[0xFF, 0xFF, 1, 2, 3]).unwrap();
    drop(c);
    let r = parse(common::tcp(
        s.addr,
        &query("contoso.tm.test", Rtype::A, Q::default()),
    ));
    assert_eq!(r.rcode(), Rcode::NOERROR);
}
