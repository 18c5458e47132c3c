//! Response rate limiting and DNS Cookies against a running server over real sockets.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::{Q, TestServer, parse, query};
use domain::base::MessageBuilder;
use domain::base::iana::{Class, Rcode, Rtype};
use domain::base::opt::cookie::{ClientCookie, Cookie, ServerCookie};
use domain::base::{Message, Name};
use signpost_dns::{RrlConfig, ServerConfig};

use common::ONE_PROFILE as PROFILES;

fn server(rrl: Option<RrlConfig>) -> TestServer {
    let config = ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        workers: 2,
        rrl,
        ..ServerConfig::default()
    };
    TestServer::start_config(PROFILES, vec![common::zone("tm.test")], config)
}

fn limited() -> Option<RrlConfig> {
    Some(RrlConfig {
        responses_per_second: 10,
        slip: 2,
        ..RrlConfig::default()
    })
}

/// A query for contoso.tm.test with EDNS and, when given, a COOKIE option.
fn cookie_query(id: u16, cookie: Option<&Cookie>) -> Vec<u8> {
    let mut b = MessageBuilder::new_vec();
    b.header_mut().set_id(id);
    let mut b = b.question();
    let name = Name::<Vec<u8>>::from_chars("contoso.tm.test".chars()).unwrap();
    b.push((&name, Rtype::A, Class::IN)).unwrap();
    let mut b = b.additional();
    b.opt(|opt| {
        opt.set_udp_payload_size(1232);
        if let Some(c) = cookie {
            opt.push(c)?;
        }
        Ok(())
    })
    .unwrap();
    b.finish()
}

fn socket(from: &str) -> UdpSocket {
    let s = UdpSocket::bind(format!("{from}:0")).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s
}

/// Sends `msg` `n` times from `sock`, then collects the replies: (full answers, truncated).
fn flood(sock: &UdpSocket, to: SocketAddr, msg: &[u8], n: usize) -> (usize, usize) {
    for _ in 0..n {
        sock.send_to(msg, to).unwrap();
    }
    let (mut full, mut truncated) = (0, 0);
    let mut buf = vec![0u8; 4096];
    while let Ok((len, _)) = sock.recv_from(&mut buf) {
        let r = parse(buf[..len].to_vec());
        if r.tc() {
            assert!(r.answers().is_empty());
            truncated += 1;
        } else {
            assert_eq!(r.rcode(), Rcode::NOERROR);
            full += 1;
        }
    }
    (full, truncated)
}

#[test]
fn a_flood_from_one_address_is_limited_while_others_are_served() {
    let s = server(limited());
    let attacker = socket("127.0.0.1");
    let q = query("contoso.tm.test", Rtype::A, Q::default());
    let (full, truncated) = flood(&attacker, s.addr, &q, 300);
    // One source port lands on one worker, whose share is 5 per second with a one-second burst.
    assert!(full <= 10, "{full} full answers");
    assert!(full >= 5, "the burst is answered: {full}");
    assert!(
        (100..=160).contains(&truncated),
        "every second limited response slips: {truncated}"
    );
    let (dropped, slipped) = s.snapshot_counts();
    assert_eq!(slipped as usize, truncated);
    assert!(dropped as usize >= 300 - full - truncated - 5, "{dropped}");
    // Meanwhile a client in another /24 gets every answer.
    let other = socket("127.0.1.1");
    assert_eq!(flood(&other, s.addr, &q, 5), (5, 0));
}

#[test]
fn without_rrl_nothing_is_limited() {
    let s = server(None);
    let sock = socket("127.0.0.1");
    let q = query("contoso.tm.test", Rtype::A, Q::default());
    let (full, truncated) = flood(&sock, s.addr, &q, 200);
    assert_eq!((full, truncated), (200, 0));
}

#[test]
fn cookies_are_answered_and_a_valid_server_cookie_bypasses_rrl() {
    let s = server(limited());
    let sock = socket("127.0.0.1");
    let client = ClientCookie::from_octets([7, 6, 5, 4, 3, 2, 1, 0]);
    let first = Cookie::new(client, None);
    sock.send_to(&cookie_query(1, Some(&first)), s.addr)
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    let reply = Message::from_octets(buf[..n].to_vec()).unwrap();
    let cookie = reply
        .opt()
        .and_then(|o| o.opt().cookie())
        .expect("a COOKIE option in the reply");
    assert_eq!(cookie.client(), client, "the client cookie is echoed");
    let server: &ServerCookie = cookie.server().expect("a server cookie");
    let standard = server
        .try_to_standard()
        .expect("RFC 9018's 16-octet format");
    assert_eq!(standard.version(), 1);
    // Presenting it, the same address is never limited.
    let with_server = cookie_query(2, Some(&cookie));
    let (full, truncated) = flood(&sock, s.addr, &with_server, 100);
    assert_eq!((full, truncated), (100, 0));
    // A forged server cookie is no pass.
    let forged = Cookie::new(client, Some(ServerCookie::from_octets(&[1; 16])));
    let (full, _) = flood(
        &socket("127.0.2.1"),
        s.addr,
        &cookie_query(3, Some(&forged)),
        100,
    );
    assert!(full <= 10, "forged cookie limited: {full}");
}
