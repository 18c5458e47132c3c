//! Probes against hostile endpoints (real local servers that misbehave on purpose): headers one
//! byte a second, an endless body, 10 MB of headers, a TLS handshake that never gets an answer, a
//! redirect loop. Each probe must end within its timeout (plus slack) with the right failure,
//! buffer a bounded amount, and leave a healthy endpoint probed meanwhile unaffected.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signpost_health::http::{BODY_LIMIT, HEAD_LIMIT};
use signpost_health::probe::run;
use signpost_health::{Failure, Monitor, MonitorSettings, ProbeResult, ProbeSpec, Resolver};
use signpost_health::{ProbeStatus, Success, Target};
use signpost_model::{MonitorProtocol, StatusCodeRange};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SLACK: Duration = Duration::from_secs(1);

/// How a hostile server misbehaves once it has read the request (or, for TLS, the ClientHello).
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// A valid response head, one byte a second.
    SlowHeaders,
    /// `200`, then chunks of body for ever, as fast as the client takes them.
    EndlessBody,
    /// `200`, then 10 MB of header lines.
    HugeHeaders,
    /// A complete `200` head of about this many bytes, then an empty body.
    Head(usize),
    /// Accepts TCP, reads the ClientHello, never answers it.
    StallTls,
    /// `302` to the very same URL, every time.
    RedirectLoop,
}

/// What a hostile server saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    /// Bytes written before the client went away.
    written: AtomicU64,
    /// When the client went away (the server's write failed or its read saw EOF).
    closed: Mutex<Option<Instant>>,
}

async fn hostile(how: Hostile) -> (SocketAddr, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let s = s.clone();
            tokio::spawn(misbehave(tcp, how, s));
        }
    });
    (addr, seen)
}

async fn misbehave(mut tcp: TcpStream, how: Hostile, seen: Arc<Seen>) {
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    // A TLS ClientHello has no blank line: for StallTls one read is enough.
    while !matches!(how, Hostile::StallTls) && !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    if matches!(how, Hostile::StallTls) && tcp.read(&mut buf).await.unwrap_or(0) == 0 {
        return;
    }
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let (mut rd, mut wr) = tcp.split();
    // Misbehave until the client goes away, noticing at once (not at the next write).
    tokio::select! {
        _ = behave(&mut wr, how, &got, &seen) => drain(&mut rd).await,
        _ = drain(&mut rd) => {}
    }
    *seen.closed.lock().unwrap() = Some(Instant::now());
}

/// Reads until EOF or an error.
async fn drain<R: tokio::io::AsyncRead + Unpin>(rd: &mut R) {
    let mut buf = [0u8; 4096];
    while matches!(rd.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// Writes what `how` sends (counting the bytes), then returns.
async fn behave<W: tokio::io::AsyncWrite + Unpin>(
    wr: &mut W,
    how: Hostile,
    request: &[u8],
    seen: &Seen,
) -> std::io::Result<()> {
    let mut send = async |bytes: &[u8]| {
        wr.write_all(bytes).await?;
        seen.written.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        Ok::<_, std::io::Error>(())
    };
    match how {
        Hostile::SlowHeaders => {
            for b in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" {
                send(&[*b]).await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Hostile::EndlessBody => {
            send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await?;
            let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
            loop {
                send(chunk.as_bytes()).await?;
            }
        }
        Hostile::HugeHeaders => {
            send(b"HTTP/1.1 200 OK\r\n").await?;
            let line = format!("X-Padding: {}\r\n", "a".repeat(1000));
            for _ in 0..10_000 {
                send(line.as_bytes()).await?;
            }
            send(b"Content-Length: 0\r\n\r\n").await?;
        }
        Hostile::Head(size) => {
            let mut head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n".to_vec();
            let line = format!("X-Padding: {}\r\n", "a".repeat(1000));
            while head.len() + line.len() < size {
                head.extend_from_slice(line.as_bytes());
            }
            head.extend_from_slice(b"\r\n");
            send(&head).await?;
        }
        Hostile::StallTls => {}
        Hostile::RedirectLoop => {
            let path = String::from_utf8_lossy(request)
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            let response = format!(
                "HTTP/1.1 302 Found\r\nLocation: http://app.test{path}\r\nContent-Length: 0\r\n\r\n"
            );
            send(response.as_bytes()).await?;
        }
    }
    Ok(())
}

/// A server answering every request with `200` and a short body.
async fn healthy_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    addr
}

fn spec(protocol: MonitorProtocol, addr: SocketAddr, timeout: Duration) -> ProbeSpec {
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
        timeout,
    }
}

/// Runs `hostile` while a healthy endpoint is probed back to back; every healthy probe must
/// succeed quickly. Returns the hostile probe's result and how long it took.
async fn alongside_healthy(hostile: ProbeSpec) -> (ProbeResult, Duration) {
    let healthy = spec(
        MonitorProtocol::Http,
        healthy_server().await,
        Duration::from_secs(1),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let checker = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut probes = 0;
            while !stop.load(Ordering::SeqCst) {
                let r = run(&healthy, &Resolver::System).await;
                assert_eq!(
                    r.outcome,
                    Ok(Success::Http(200)),
                    "the healthy endpoint failed"
                );
                assert!(
                    r.latency_ms < 500,
                    "a healthy probe took {} ms",
                    r.latency_ms
                );
                probes += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            probes
        })
    };
    let started = Instant::now();
    let result = run(&hostile, &Resolver::System).await;
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let probes = checker.await.expect("the healthy prober panicked");
    assert!(
        probes >= 1,
        "no healthy probe completed alongside ({took:?})"
    );
    (result, took)
}

/// The client closed the connection by `limit` after the probe began.
async fn closed_within(seen: &Seen, started: Instant, limit: Duration) {
    let deadline = Instant::now() + limit + SLACK;
    loop {
        if let Some(at) = *seen.closed.lock().unwrap() {
            assert!(
                at - started < limit + SLACK,
                "closed after {:?}",
                at - started
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the probe never closed its connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_one_byte_a_second_time_out_on_time() {
    let (addr, seen) = hostile(Hostile::SlowHeaders).await;
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let (r, took) = alongside_healthy(spec(MonitorProtocol::Http, addr, timeout)).await;
    assert_eq!(r.outcome, Err(Failure::Timeout));
    assert!(
        took >= timeout - Duration::from_millis(50) && took < timeout + SLACK,
        "{took:?}"
    );
    closed_within(&seen, started, timeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_read_only_for_body_match_and_only_its_prefix() {
    let timeout = Duration::from_secs(3);
    // Without bodyMatch the status decides and the body is never read.
    let (addr, seen) = hostile(Hostile::EndlessBody).await;
    let started = Instant::now();
    let (r, took) = alongside_healthy(spec(MonitorProtocol::Http, addr, timeout)).await;
    assert_eq!(r.outcome, Ok(Success::Http(200)));
    assert!(took < timeout, "{took:?}");
    closed_within(&seen, started, timeout).await;
    // With bodyMatch the first BODY_LIMIT bytes are read, the text is not there: a mismatch, well
    // before the timeout, and the connection is closed rather than drained.
    let (addr, seen) = hostile(Hostile::EndlessBody).await;
    let mut s = spec(MonitorProtocol::Http, addr, timeout);
    s.body_match = Some("never sent".into());
    let started = Instant::now();
    let (r, took) = alongside_healthy(s).await;
    assert_eq!(r.outcome, Err(Failure::BodyMismatch));
    assert!(took < timeout, "{took:?}");
    closed_within(&seen, started, timeout).await;
    let written = seen.written.load(Ordering::SeqCst);
    eprintln!(
        "endless body: {written} bytes written before the prober closed (it reads {BODY_LIMIT})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_of_headers_fail_fast_as_malformed() {
    let (addr, seen) = hostile(Hostile::HugeHeaders).await;
    // A long timeout: the probe must fail on the size limit, not on time.
    let timeout = Duration::from_secs(5);
    let started = Instant::now();
    let (r, took) = alongside_healthy(spec(MonitorProtocol::Http, addr, timeout)).await;
    match &r.outcome {
        Err(Failure::Malformed { detail }) => assert!(detail.contains("too large"), "{detail}"),
        other => panic!("expected a malformed response, got {other:?}"),
    }
    assert!(took < Duration::from_secs(1), "{took:?}");
    closed_within(&seen, started, Duration::from_secs(1)).await;
}

/// The head limit itself, on heads that do arrive whole: just under it is a response, just over
/// it is malformed (a head that never ends is bounded by the read buffer instead, above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_head_over_the_limit_is_malformed() {
    let timeout = Duration::from_secs(5);
    let (under, _) = hostile(Hostile::Head(HEAD_LIMIT - 2048)).await;
    let r = run(
        &spec(MonitorProtocol::Http, under, timeout),
        &Resolver::System,
    )
    .await;
    assert_eq!(r.outcome, Ok(Success::Http(200)));
    let (over, _) = hostile(Hostile::Head(HEAD_LIMIT + 8192)).await;
    let r = run(
        &spec(MonitorProtocol::Http, over, timeout),
        &Resolver::System,
    )
    .await;
    assert!(
        matches!(&r.outcome, Err(Failure::Malformed { .. })),
        "{:?}",
        r.outcome
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_handshake_that_never_completes_times_out_on_time() {
    let (addr, seen) = hostile(Hostile::StallTls).await;
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let (r, took) = alongside_healthy(spec(MonitorProtocol::Https, addr, timeout)).await;
    assert_eq!(r.outcome, Err(Failure::Timeout));
    assert!(
        took >= timeout - Duration::from_millis(50) && took < timeout + SLACK,
        "{took:?}"
    );
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        1,
        "the ClientHello arrived"
    );
    closed_within(&seen, started, timeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_is_one_request_and_a_status_failure() {
    let (addr, seen) = hostile(Hostile::RedirectLoop).await;
    let timeout = Duration::from_secs(2);
    let (r, took) = alongside_healthy(spec(MonitorProtocol::Http, addr, timeout)).await;
    assert_eq!(r.outcome, Err(Failure::Status { code: 302 }));
    assert!(took < timeout, "{took:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        1,
        "the Location was followed"
    );
}

/// All five at once under the scheduler, next to a healthy endpoint: each hostile one ends
/// Degraded with its own failure, the healthy one is probed every interval and stays Online.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_endpoints_under_the_monitor_delay_no_one() {
    let interval = Duration::from_millis(500);
    let timeout = Duration::from_millis(1500);
    let target = |name: &str, protocol, addr: SocketAddr| Target {
        key: ("p".into(), name.into()),
        spec: {
            let mut s = spec(protocol, addr, timeout);
            if name == "endless" {
                s.body_match = Some("never sent".into());
            }
            s
        },
        interval,
        tolerated_failures: 0,
        recovery_threshold: 1,
    };
    let mut targets = Vec::new();
    for (name, how, protocol) in [
        ("slow", Hostile::SlowHeaders, MonitorProtocol::Http),
        ("endless", Hostile::EndlessBody, MonitorProtocol::Http),
        ("huge", Hostile::HugeHeaders, MonitorProtocol::Http),
        ("tls", Hostile::StallTls, MonitorProtocol::Https),
        ("redirect", Hostile::RedirectLoop, MonitorProtocol::Http),
    ] {
        targets.push(target(name, protocol, hostile(how).await.0));
    }
    targets.push(target("ok", MonitorProtocol::Http, healthy_server().await));
    let mut m = Monitor::new(MonitorSettings::default(), Default::default());
    m.reconcile(targets);
    let key = |n: &str| ("p".to_string(), n.to_string());
    let started = Instant::now();
    let names = ["slow", "endless", "huge", "tls", "redirect"];
    loop {
        let states = m.states();
        if names
            .iter()
            .all(|n| states[&key(n)].status == ProbeStatus::Degraded)
        {
            break;
        }
        assert!(
            started.elapsed() < interval + timeout + SLACK,
            "not all Degraded: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A few more intervals of hostility: the healthy endpoint keeps its schedule and status.
    let probes = m.probes();
    let before = *probes.borrow();
    tokio::time::sleep(interval * 4).await;
    let states = m.states();
    assert_eq!(states[&key("ok")].status, ProbeStatus::Online);
    assert!(
        m.events()
            .iter()
            .filter(|e| e.endpoint == "ok")
            .all(|e| e.to == ProbeStatus::Online),
        "{:?}",
        m.events()
    );
    assert!(
        *probes.borrow() - before >= 4,
        "too few probes completed: {}",
        *probes.borrow() - before
    );
    let failure = |n: &str| states[&key(n)].last.as_ref().unwrap().1.outcome.clone();
    assert_eq!(failure("slow"), Err(Failure::Timeout));
    assert_eq!(failure("endless"), Err(Failure::BodyMismatch));
    assert!(matches!(failure("huge"), Err(Failure::Malformed { .. })));
    assert_eq!(failure("tls"), Err(Failure::Timeout));
    assert_eq!(failure("redirect"), Err(Failure::Status { code: 302 }));
}
