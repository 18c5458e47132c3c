//! The probe cap saturated by endpoints that hang (accept the connection, never answer): the
//! scaled-down form of 5,000 hanging and 5,000 healthy endpoints at a 10 s interval (see
//! `benches/saturation.rs` for the full scale). Here 32 hanging endpoints with a 1 s timeout would
//! need 32 permits of a cap of 8; before the cap had lanes, every other probe queued behind them
//! (by arithmetic, 32 x 1 s over 8 permits: healthy endpoints probed about every 4 s instead of every
//! second, a failing one detected late; the test fails on that code).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signpost_health::{Monitor, MonitorSettings, ProbeSpec, ProbeStatus, Target};
use signpost_model::{MonitorProtocol, StatusCodeRange};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const INTERVAL: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(1);
const CAP: usize = 8;
const HANGING: usize = 32;
const HEALTHY: usize = 16;

/// When each `Host` was probed.
type Arrivals = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

/// Reads one request head; returns its `Host` header (lower-cased), `None` on EOF or error.
async fn read_head(tcp: &mut tokio::net::TcpStream) -> Option<String> {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&req).to_ascii_lowercase();
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_string())
}

/// Answers `code` (read at each connection; 0: read the request and never answer), recording when
/// each `Host` was probed.
async fn server(ip: &str, code: Arc<AtomicU16>, arrivals: Arrivals) -> SocketAddr {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let code = code.load(Ordering::SeqCst);
            let arrivals = arrivals.clone();
            tokio::spawn(async move {
                let Some(host) = read_head(&mut tcp).await else {
                    return;
                };
                arrivals
                    .lock()
                    .unwrap()
                    .entry(host)
                    .or_default()
                    .push(Instant::now());
                if code == 0 {
                    // Hang until the prober gives up and closes.
                    let _ = tcp.read(&mut [0u8; 1]).await;
                    return;
                }
                let _ = tcp
                    .write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            });
        }
    });
    addr
}

fn target(name: &str, addr: SocketAddr, tolerated: u8) -> Target {
    Target {
        key: ("p".into(), name.into()),
        spec: ProbeSpec {
            protocol: MonitorProtocol::Http,
            host: addr.ip().to_string(),
            port: addr.port(),
            path: "/".into(),
            host_header: format!("{name}.test"),
            headers: vec![],
            expected_status: vec![StatusCodeRange { min: 200, max: 200 }],
            body_match: None,
            validate_certificates: false,
            timeout: TIMEOUT,
        },
        interval: INTERVAL,
        tolerated_failures: tolerated,
        recovery_threshold: 1,
    }
}

fn status(m: &Monitor, name: &str) -> ProbeStatus {
    m.states()[&("p".to_string(), name.to_string())].status
}

async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_endpoints_that_fill_the_cap_starve_no_one() {
    let arrivals: Arrivals = Arc::default();
    // Hanging and healthy endpoints on addresses of their own (loopback is all of 127.0.0.0/8).
    let hang = server("127.0.0.2", Arc::new(AtomicU16::new(0)), arrivals.clone()).await;
    let healthy = server("127.0.0.3", Arc::new(AtomicU16::new(200)), arrivals.clone()).await;
    let to_500 = Arc::new(AtomicU16::new(200));
    let to_hang = Arc::new(AtomicU16::new(200));
    let fails = server("127.0.0.4", to_500.clone(), arrivals.clone()).await;
    let hangs = server("127.0.0.5", to_hang.clone(), arrivals.clone()).await;

    let mut targets: Vec<Target> = (0..HANGING)
        .map(|i| target(&format!("hang{i}"), hang, 0))
        .collect();
    // No failure tolerated: a single failed probe of a healthy endpoint would show as Degraded.
    targets.extend((0..HEALTHY).map(|i| target(&format!("ok{i}"), healthy, 0)));
    targets.push(target("fails", fails, 1));
    targets.push(target("hangs", hangs, 1));
    let settings = MonitorSettings {
        max_in_flight: CAP,
        ..MonitorSettings::default()
    };
    let mut m = Monitor::new(settings, HashMap::new());
    m.reconcile(targets);

    // Warm-up: the hanging endpoints' first probes fill the whole cap (nothing is known about them
    // yet); after their first timeout they are Degraded and confined to the down lane.
    wait_until(Duration::from_secs(15), "warm-up", || {
        (0..HANGING).all(|i| status(&m, &format!("hang{i}")) == ProbeStatus::Degraded)
            && (0..HEALTHY).all(|i| status(&m, &format!("ok{i}")) == ProbeStatus::Online)
            && status(&m, "fails") == ProbeStatus::Online
            && status(&m, "hangs") == ProbeStatus::Online
    })
    .await;

    // The window: the cap stays saturated by the hanging endpoints (they would need 32 permits).
    let skipped0 = m.skipped();
    let t0 = Instant::now();
    to_500.store(500, Ordering::SeqCst);
    to_hang.store(0, Ordering::SeqCst);
    // Detected within interval x (tolerated + 1) + timeout = 3 s, plus 1 s of slack.
    let bound = INTERVAL * 2 + TIMEOUT + Duration::from_secs(1);
    let fails_after = wait_until(bound, "the failing endpoint Degraded", || {
        status(&m, "fails") == ProbeStatus::Degraded
    })
    .await;
    let hangs_after = wait_until(
        bound - fails_after,
        "the newly hanging endpoint Degraded",
        || status(&m, "hangs") == ProbeStatus::Degraded,
    )
    .await
        + fails_after;
    let window = Duration::from_secs(5);
    tokio::time::sleep(window.saturating_sub(t0.elapsed())).await;
    let t1 = Instant::now();

    // Every healthy endpoint was probed on schedule throughout: no slot missed.
    let arrivals = arrivals.lock().unwrap();
    for i in 0..HEALTHY {
        let host = format!("ok{i}.test");
        let mut times: Vec<Instant> = arrivals[&host]
            .iter()
            .copied()
            .filter(|t| *t >= t0 && *t <= t1)
            .collect();
        times.sort();
        let mut edges = vec![t0];
        edges.extend(times.iter().copied());
        edges.push(t1);
        let worst = edges.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(
            worst < INTERVAL * 2,
            "{host}: {} probes in {:?}, a gap of {worst:?}",
            times.len(),
            t1 - t0
        );
        assert_eq!(status(&m, &format!("ok{i}")), ProbeStatus::Online, "{host}");
    }
    assert!(
        m.events()
            .iter()
            .all(|e| !(e.endpoint.starts_with("ok") && e.to == ProbeStatus::Degraded)),
        "a healthy endpoint went Degraded: {:?}",
        m.events()
    );
    let skipped = m.skipped();
    assert_eq!(
        skipped.answering, skipped0.answering,
        "probes of answering endpoints were skipped in the window"
    );
    assert!(
        skipped.down > skipped0.down,
        "the cap was not saturated: {skipped:?}"
    );
    eprintln!(
        "failing endpoint Degraded after {fails_after:?}, newly hanging one after {hangs_after:?}; skipped {skipped:?}"
    );
}
