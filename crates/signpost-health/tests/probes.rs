//! Probes against real local servers: HTTP, HTTPS with a certificate made here, plain TCP, and the
//! ways endpoints fail (wrong status, hang, refuse, reset, TLS failure, slow body, name failure).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signpost_health::probe::run;
use signpost_health::{Failure, ProbeSpec, Resolver, Success};
use signpost_model::{MonitorProtocol, StatusCodeRange};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How a test HTTP server behaves.
#[derive(Clone)]
enum Behaviour {
    /// Respond with this status and body.
    Respond(u16, &'static str),
    /// Accept and never answer.
    Hang,
    /// Send the headers, then the body one byte every 300 ms.
    SlowBody(&'static str),
}

/// A server on 127.0.0.1; the requests it received are kept.
struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

async fn http_server(behaviour: Behaviour, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let behaviour = behaviour.clone();
            let seen = seen.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(config) => {
                        let Ok(stream) = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await
                        else {
                            return;
                        };
                        serve(stream, behaviour, seen).await;
                    }
                    None => serve(tcp, behaviour, seen).await,
                }
            });
        }
    });
    Server { addr, requests }
}

async fn serve<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
    b: Behaviour,
    seen: Arc<Mutex<Vec<String>>>,
) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    seen.lock()
        .unwrap()
        .push(String::from_utf8_lossy(&req).into_owned());
    match b {
        Behaviour::Respond(code, body) => {
            let head = format!(
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nLocation: http://elsewhere.test/\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(body.as_bytes()).await;
            let _ = s.shutdown().await;
        }
        Behaviour::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
        Behaviour::SlowBody(body) => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes()).await;
            for b in body.bytes() {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if s.write_all(&[b]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A server that resets every connection right after reading the request.
async fn resetting_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp.write_all(b"HTTP/1.1 20").await;
            // SO_LINGER 0 makes the close a reset (RST), mid-response: what this test wants.
            #[allow(deprecated)]
            let _ = tcp.set_linger(Some(Duration::ZERO));
            drop(tcp);
        }
    });
    addr
}

fn tls_config() -> (Arc<rustls::ServerConfig>, Vec<u8>) {
    let cert = rcgen::generate_simple_self_signed(vec!["app.test".to_string()]).unwrap();
    let der = cert.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![rustls::pki_types::CertificateDer::from(der.clone())],
        key,
    )
    .unwrap();
    (Arc::new(config), der)
}

fn spec(protocol: MonitorProtocol, addr: SocketAddr) -> ProbeSpec {
    ProbeSpec {
        protocol,
        host: addr.ip().to_string(),
        port: addr.port(),
        path: "/health".into(),
        host_header: "app.test".into(),
        headers: vec![],
        expected_status: vec![StatusCodeRange { min: 200, max: 200 }],
        body_match: None,
        validate_certificates: false,
        timeout: Duration::from_secs(1),
    }
}

async fn probe(s: &ProbeSpec) -> Result<Success, Failure> {
    run(s, &Resolver::System).await.outcome
}

#[tokio::test]
async fn healthy_http_sends_path_host_and_headers() {
    let server = http_server(Behaviour::Respond(200, "ok"), None).await;
    let mut s = spec(MonitorProtocol::Http, server.addr);
    s.headers = vec![("X-Probe".into(), "signpost".into())];
    assert_eq!(probe(&s).await, Ok(Success::Http(200)));
    let req = server.requests.lock().unwrap()[0].to_ascii_lowercase();
    assert!(req.starts_with("get /health http/1.1\r\n"), "{req}");
    assert!(req.contains("host: app.test\r\n"), "{req}");
    assert!(req.contains("x-probe: signpost\r\n"), "{req}");
}

#[tokio::test]
async fn a_status_outside_the_ranges_fails_and_redirects_are_not_followed() {
    let server = http_server(Behaviour::Respond(500, ""), None).await;
    assert_eq!(
        probe(&spec(MonitorProtocol::Http, server.addr)).await,
        Err(Failure::Status { code: 500 })
    );
    let server = http_server(Behaviour::Respond(301, ""), None).await;
    let mut s = spec(MonitorProtocol::Http, server.addr);
    assert_eq!(probe(&s).await, Err(Failure::Status { code: 301 }));
    s.expected_status = vec![
        StatusCodeRange { min: 200, max: 299 },
        StatusCodeRange { min: 300, max: 399 },
    ];
    assert_eq!(
        probe(&s).await,
        Ok(Success::Http(301)),
        "a custom range accepts the redirect itself"
    );
    assert_eq!(
        server.requests.lock().unwrap().len(),
        2,
        "the Location was never followed"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_on_time() {
    let server = http_server(Behaviour::Hang, None).await;
    let started = Instant::now();
    assert_eq!(
        probe(&spec(MonitorProtocol::Http, server.addr)).await,
        Err(Failure::Timeout)
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[tokio::test]
async fn refused_and_reset_connections() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    assert_eq!(
        probe(&spec(MonitorProtocol::Http, closed)).await,
        Err(Failure::Refused)
    );
    assert_eq!(
        probe(&spec(MonitorProtocol::Tcp, closed)).await,
        Err(Failure::Refused)
    );
    let resetting = resetting_server().await;
    assert_eq!(
        probe(&spec(MonitorProtocol::Http, resetting)).await,
        Err(Failure::Reset)
    );
}

#[tokio::test]
async fn tcp_probe_is_healthy_when_connected() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let s = spec(MonitorProtocol::Tcp, listener.local_addr().unwrap());
    assert_eq!(probe(&s).await, Ok(Success::Connected));
}

#[tokio::test]
async fn https_does_not_validate_by_default_and_validates_on_demand() {
    let (config, _) = tls_config();
    let server = http_server(Behaviour::Respond(200, "ok"), Some(config)).await;
    let mut s = spec(MonitorProtocol::Https, server.addr);
    assert_eq!(
        probe(&s).await,
        Ok(Success::Http(200)),
        "self-signed accepted, as Azure does"
    );
    s.validate_certificates = true;
    match probe(&s).await {
        Err(Failure::Tls { detail }) => {
            assert!(detail.to_lowercase().contains("certificate"), "{detail}")
        }
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

#[tokio::test]
async fn https_against_a_plain_http_server_is_a_tls_failure() {
    // A plain HTTP server answers a TLS ClientHello with an HTTP error, as nginx does.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let got = probe(&spec(MonitorProtocol::Https, addr)).await;
    assert!(matches!(got, Err(Failure::Tls { .. })), "{got:?}");
}

#[tokio::test]
async fn a_slow_body_matters_only_when_the_body_is_checked() {
    let server = http_server(Behaviour::SlowBody("all systems go"), None).await;
    let mut s = spec(MonitorProtocol::Http, server.addr);
    assert_eq!(
        probe(&s).await,
        Ok(Success::Http(200)),
        "the status line decides"
    );
    s.body_match = Some("go".into());
    assert_eq!(
        probe(&s).await,
        Err(Failure::Timeout),
        "the body takes longer than the timeout"
    );
}

#[tokio::test]
async fn body_match() {
    let server = http_server(Behaviour::Respond(200, "{\"status\":\"healthy\"}"), None).await;
    let mut s = spec(MonitorProtocol::Http, server.addr);
    s.body_match = Some("\"healthy\"".into());
    assert_eq!(probe(&s).await, Ok(Success::Http(200)));
    s.body_match = Some("\"ready\"".into());
    assert_eq!(probe(&s).await, Err(Failure::BodyMismatch));
}

#[tokio::test]
async fn names_resolve_with_the_configured_resolver_or_fail_clearly() {
    let server = http_server(Behaviour::Respond(200, ""), None).await;
    // A real DNS server for the name: Signpost's own, answering app.tm.test with 127.0.0.1.
    let file = signpost_model::set::parse_profiles_file(
        "profiles:\n  - name: app\n    properties:\n      trafficRoutingMethod: Priority\n      endpoints:\n        - { name: a, type: externalEndpoints, properties: { target: 127.0.0.1 } }\n",
        false,
    )
    .unwrap();
    let set = signpost_model::ProfileSet::from_docs(&file.profiles, &Default::default()).unwrap();
    let routing = signpost_routing::RoutingTable::compile(&set, &signpost_routing::AllHealthy);
    let zones = [signpost_dns::ZoneConfig::new("tm.test", vec![])];
    let snapshot = Arc::new(arc_swap::ArcSwap::from_pointee(
        signpost_dns::Snapshot::build(&zones, routing, 1).unwrap(),
    ));
    let config = signpost_dns::ServerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        workers: 1,
        ..Default::default()
    };
    let dns = signpost_dns::DnsServer::start(&config, snapshot).unwrap();
    let resolver = Resolver::Server(dns.local_addrs()[0]);
    let mut s = spec(MonitorProtocol::Http, server.addr);
    s.host = "app.tm.test".into();
    assert_eq!(run(&s, &resolver).await.outcome, Ok(Success::Http(200)));
    s.host = "missing.tm.test".into();
    match run(&s, &resolver).await.outcome {
        Err(Failure::NameResolution { detail }) => assert!(detail.contains("NXDOMAIN"), "{detail}"),
        other => panic!("expected a name resolution failure, got {other:?}"),
    }
    // A resolver that is not there.
    let nobody = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert!(matches!(
        run(&s, &Resolver::Server(nobody)).await.outcome,
        Err(Failure::NameResolution { .. })
    ));
    dns.shutdown();
}

#[tokio::test]
async fn every_probe_is_a_fresh_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(Mutex::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            *c.lock().unwrap() += 1;
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = tcp.read(&mut buf).await;
                // Offer keep-alive; the prober must still reconnect.
                let _ = tcp
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n",
                    )
                    .await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
        }
    });
    let s = spec(MonitorProtocol::Http, addr);
    for _ in 0..3 {
        assert_eq!(probe(&s).await, Ok(Success::Http(200)));
    }
    assert_eq!(*count.lock().unwrap(), 3);
}

/// `--probe-source`: the connection leaves from the given address (any of 127.0.0.0/8 here), for
/// TCP and HTTP probes alike; a source of the other family is a plain failure.
#[tokio::test]
async fn probes_connect_from_the_probe_source() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let peers = Arc::new(Mutex::new(Vec::new()));
    let seen = peers.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, peer)) = listener.accept().await {
            seen.lock().unwrap().push(peer.ip());
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    let source = "127.0.0.7".parse().unwrap();
    for protocol in [MonitorProtocol::Tcp, MonitorProtocol::Http] {
        let r = signpost_health::probe::run_from(
            &spec(protocol, addr),
            &Resolver::System,
            Some(source),
        )
        .await;
        assert!(r.outcome.is_ok(), "{protocol:?}: {:?}", r.outcome);
    }
    assert_eq!(*peers.lock().unwrap(), vec![source, source]);
    let v6 = "::1".parse().unwrap();
    let r = signpost_health::probe::run_from(
        &spec(MonitorProtocol::Tcp, addr),
        &Resolver::System,
        Some(v6),
    )
    .await;
    assert!(
        matches!(&r.outcome, Err(Failure::Other { detail }) if detail.contains("address family")),
        "{:?}",
        r.outcome
    );
}
