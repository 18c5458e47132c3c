//! TCP limits against a running server: the per-client cap, the total lifetime, and a client
//! that never reads its replies.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{Q, TestServer, parse, query, tcp};
use domain::base::iana::{Rcode, Rtype};
use signpost_dns::ServerConfig;

use common::ONE_PROFILE as PROFILES;

fn server(config: ServerConfig) -> TestServer {
    let config = ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        workers: 1,
        ..config
    };
    TestServer::start_config(PROFILES, vec![common::zone("tm.test")], config)
}

fn framed(msg: &[u8]) -> Vec<u8> {
    [&(msg.len() as u16).to_be_bytes()[..], msg].concat()
}

/// A connection from `source` (any 127.0.0.0/8 address) that has been answered once.
fn answered_connection(source: &str, server: SocketAddr) -> Option<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from: SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&from.into()).unwrap();
    socket.connect(&server.into()).unwrap();
    let mut s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(&framed(&query("contoso.tm.test", Rtype::A, Q::default())))
        .ok()?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut reply).ok()?;
    (parse(reply).rcode() == Rcode::NOERROR).then_some(s)
}

#[test]
fn one_client_cannot_take_more_than_its_share_of_connections() {
    let s = server(ServerConfig {
        max_tcp_connections_per_client: 2,
        ..ServerConfig::default()
    });
    let a = answered_connection("127.0.0.1", s.addr).expect("first connection");
    let b = answered_connection("127.0.0.1", s.addr).expect("second connection");
    assert!(
        answered_connection("127.0.0.1", s.addr).is_none(),
        "a third from the same client is closed"
    );
    let _other = answered_connection("127.0.0.2", s.addr).expect("another client is served");
    drop((a, b));
    // Its slots come back once its connections close.
    let deadline = Instant::now() + Duration::from_secs(3);
    while answered_connection("127.0.0.1", s.addr).is_none() {
        assert!(Instant::now() < deadline, "slots never returned");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_busy_connection_is_closed_at_the_end_of_its_lifetime() {
    let s = server(ServerConfig {
        tcp_lifetime: Duration::from_secs(1),
        ..ServerConfig::default()
    });
    let mut c = answered_connection("127.0.0.1", s.addr).unwrap();
    let started = Instant::now();
    let q = framed(&query("contoso.tm.test", Rtype::A, Q::default()));
    let mut buf = [0u8; 512];
    let closed = loop {
        assert!(started.elapsed() < Duration::from_secs(5), "never closed");
        if c.write_all(&q).is_err() {
            break started.elapsed();
        }
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break started.elapsed(),
            Ok(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    assert!(closed < Duration::from_secs(3), "closed after {closed:?}");
    // The server itself is fine.
    assert_eq!(
        parse(tcp(
            s.addr,
            &query("contoso.tm.test", Rtype::A, Q::default())
        ))
        .rcode(),
        Rcode::NOERROR
    );
}

#[test]
fn a_client_that_never_reads_is_dropped_after_the_idle_timeout() {
    let s = server(ServerConfig {
        tcp_idle_timeout: Duration::from_secs(1),
        max_tcp_connections: 1,
        ..ServerConfig::default()
    });
    let mut slow = TcpStream::connect(s.addr).unwrap();
    slow.set_nonblocking(true).unwrap();
    // Pipeline queries until the socket buffers on both sides are full: the server is blocked
    // writing replies nobody reads.
    let q = framed(&query("contoso.tm.test", Rtype::A, Q::default()));
    let burst: Vec<u8> = q.iter().copied().cycle().take(q.len() * 1000).collect();
    let started = Instant::now();
    let mut stalled_since = None;
    loop {
        match slow.write(&burst) {
            Ok(_) => stalled_since = None,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let since = *stalled_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(200) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => break, // already closed
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never stalled");
    }
    // The one connection slot is free again within the idle timeout (plus slack).
    let deadline = Instant::now() + Duration::from_secs(4);
    loop {
        if answered_connection("127.0.0.1", s.addr).is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slow reader still holds the only slot"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(slow);
}
