//! UDP worker supervision: a worker that panics is logged, counted and restarted on its socket.
//! The fault is injected for real through the `fault-injection` feature (a query holding
//! `udp::FAULT_LABEL` panics the worker that reads it).

mod common;

use common::{Q, TestServer, ask_from, client_sockets, parse, query};
use domain::base::iana::Rtype;

use common::ONE_PROFILE as PROFILES;

#[test]
fn a_panicking_worker_is_restarted_on_its_socket() {
    let s = TestServer::start(PROFILES);
    let socks = client_sockets(64);
    let poison = query(
        "signpost-fault-injection-panic.tm.test",
        Rtype::A,
        Q::default(),
    );
    for sock in &socks {
        sock.send_to(&poison, s.addr).unwrap();
    }
    // Every source port, and so every worker, still gets answers.
    let q = query("contoso.tm.test", Rtype::A, Q::default());
    for (i, sock) in socks.iter().enumerate() {
        let reply =
            ask_from(sock, s.addr, &q, 5).unwrap_or_else(|| panic!("source port {i}: no answer"));
        assert_eq!(
            parse(reply).answers(),
            vec!["CNAME contoso-us.cloudapp.net."]
        );
    }
    // Both workers read poison (a batch holds up to 32 datagrams, so each panics at least once).
    assert!(
        s.worker_restarts() >= 2,
        "restarts counted: {}",
        s.worker_restarts()
    );
}
