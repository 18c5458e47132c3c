//! The scheduler with real servers and real time: failover detection, recovery, isolation from
//! hanging endpoints, reconciliation that leaves untouched endpoints alone, and which endpoints are
//! probed at all.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use signpost_health::targets::targets;
use signpost_health::{Monitor, MonitorSettings, ProbeSpec, ProbeStatus, Target};
use signpost_model::{Limits, MonitorProtocol, ProfileSet, StatusCodeRange};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// An HTTP server answering with whatever status `code` holds (0: accept and hang).
async fn switchable_server(code: Arc<AtomicU16>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let code = code.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = tcp.read(&mut buf).await;
                if code == 0 {
                    tokio::time::sleep(Duration::from_secs(60)).await;
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

fn target(
    name: &str,
    addr: SocketAddr,
    interval_ms: u64,
    timeout_ms: u64,
    tolerated: u8,
    recovery: u8,
) -> Target {
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
            timeout: Duration::from_millis(timeout_ms),
        },
        interval: Duration::from_millis(interval_ms),
        tolerated_failures: tolerated,
        recovery_threshold: recovery,
    }
}

fn status(m: &Monitor, name: &str) -> ProbeStatus {
    m.states()[&("p".to_string(), name.to_string())].status
}

async fn wait_for(m: &Monitor, name: &str, want: ProbeStatus, limit: Duration) -> Duration {
    let start = Instant::now();
    while status(m, name) != want {
        assert!(
            start.elapsed() < limit,
            "{name} still {:?} after {limit:?}",
            status(m, name)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn degrades_after_tolerated_failures_and_recovers_after_one_success() {
    let code = Arc::new(AtomicU16::new(200));
    let addr = switchable_server(code.clone()).await;
    let mut m = Monitor::new(MonitorSettings::default(), HashMap::new());
    let changes = m.changes();
    m.reconcile(vec![target("web", addr, 300, 250, 2, 1)]);
    assert_eq!(status(&m, "web"), ProbeStatus::Checking);
    wait_for(&m, "web", ProbeStatus::Online, Duration::from_secs(2)).await;
    code.store(500, Ordering::SeqCst);
    // Three failures (2 tolerated + 1) at 300 ms: Degraded after 0.6-1.2 s, not before the third.
    let took = wait_for(&m, "web", ProbeStatus::Degraded, Duration::from_secs(3)).await;
    assert!(
        took >= Duration::from_millis(500),
        "degraded too early: {took:?}"
    );
    let state = &m.states()[&("p".to_string(), "web".to_string())];
    assert_eq!(state.consecutive_failures, 3);
    code.store(200, Ordering::SeqCst);
    wait_for(&m, "web", ProbeStatus::Online, Duration::from_secs(2)).await;
    let events = m.events();
    let path: Vec<(ProbeStatus, ProbeStatus)> = events.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        path,
        vec![
            (ProbeStatus::Checking, ProbeStatus::Online),
            (ProbeStatus::Online, ProbeStatus::Degraded),
            (ProbeStatus::Degraded, ProbeStatus::Online)
        ]
    );
    assert_eq!(events[1].reason, "HTTP status 500");
    assert!(
        events[2].reason.starts_with("HTTP 200"),
        "{}",
        events[2].reason
    );
    assert!(
        changes.has_changed().unwrap(),
        "status changes are published"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_threshold_holds_a_flapping_endpoint_down() {
    let code = Arc::new(AtomicU16::new(500));
    let addr = switchable_server(code.clone()).await;
    let mut m = Monitor::new(MonitorSettings::default(), HashMap::new());
    m.reconcile(vec![target("web", addr, 200, 150, 0, 3)]);
    wait_for(&m, "web", ProbeStatus::Degraded, Duration::from_secs(2)).await;
    code.store(200, Ordering::SeqCst);
    let took = wait_for(&m, "web", ProbeStatus::Online, Duration::from_secs(3)).await;
    assert!(
        took >= Duration::from_millis(400),
        "three successes at 200 ms cannot take {took:?}"
    );
}

/// 50 endpoints that accept and never answer do not delay the detection of one that fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_endpoints_do_not_delay_others() {
    let hang = switchable_server(Arc::new(AtomicU16::new(0))).await;
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut targets: Vec<Target> = (0..50)
        .map(|i| target(&format!("hang{i}"), hang, 1000, 5000, 0, 1))
        .collect();
    targets.push(target("down", closed, 1000, 5000, 0, 1));
    let mut m = Monitor::new(MonitorSettings::default(), HashMap::new());
    m.reconcile(targets);
    // First probe within one interval (jitter), refused at once: Degraded well under 2 s.
    wait_for(
        &m,
        "down",
        ProbeStatus::Degraded,
        Duration::from_millis(1800),
    )
    .await;
    assert!((0..50).all(|i| status(&m, &format!("hang{i}")) == ProbeStatus::Checking));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_leaves_unchanged_endpoints_alone() {
    let addr = switchable_server(Arc::new(AtomicU16::new(200))).await;
    let mut m = Monitor::new(MonitorSettings::default(), HashMap::new());
    m.reconcile(vec![
        target("a", addr, 200, 150, 0, 1),
        target("b", addr, 200, 150, 0, 1),
    ]);
    wait_for(&m, "a", ProbeStatus::Online, Duration::from_secs(2)).await;
    wait_for(&m, "b", ProbeStatus::Online, Duration::from_secs(2)).await;
    let before = m.states()[&("p".to_string(), "a".to_string())].since_ms;
    let mut b = target("b", addr, 200, 150, 0, 1);
    b.spec.path = "/other".into();
    m.reconcile(vec![target("a", addr, 200, 150, 0, 1), b]);
    assert_eq!(
        status(&m, "b"),
        ProbeStatus::Checking,
        "a changed probe starts afresh"
    );
    assert_eq!(status(&m, "a"), ProbeStatus::Online);
    assert_eq!(
        m.states()[&("p".to_string(), "a".to_string())].since_ms,
        before
    );
    m.reconcile(vec![target("a", addr, 200, 150, 0, 1)]);
    assert_eq!(m.len(), 1);
    assert!(
        !m.states().contains_key(&("p".to_string(), "b".to_string())),
        "a removed endpoint is forgotten"
    );
}

#[test]
fn only_enabled_monitored_endpoints_of_enabled_profiles_are_probed() {
    let yaml = r#"
profiles:
  - name: p
    properties:
      trafficRoutingMethod: Priority
      monitorConfig: { protocol: HTTPS, port: 8443, path: /hc, customHeaders: [ { name: X-A, value: profile }, { name: X-B, value: profile } ] }
      endpoints:
        - { name: probed, type: externalEndpoints, properties: { target: app.example.com, customHeaders: [ { name: x-b, value: endpoint } ] } }
        - { name: off, type: externalEndpoints, properties: { target: off.example.com, endpointStatus: Disabled } }
        - { name: always, type: externalEndpoints, properties: { target: always.example.com, alwaysServe: Enabled } }
        - { name: elsewhere, type: externalEndpoints, properties: { target: other.example.com, probeTarget: 10.0.0.7, customHeaders: [ { name: Host, value: vanity.example.com } ] } }
        - { name: child, type: nestedEndpoints, properties: { targetResourceId: q } }
  - name: q
    properties:
      trafficRoutingMethod: Priority
      monitorConfig: { protocol: TCP, port: 22 }
      endpoints:
        - { name: ssh, type: externalEndpoints, properties: { target: "2001:db8::1" } }
  - name: disabled
    properties:
      profileStatus: Disabled
      trafficRoutingMethod: Priority
      endpoints:
        - { name: x, type: externalEndpoints, properties: { target: x.example.com } }
"#;
    let file = signpost_model::set::parse_profiles_file(yaml, false).unwrap();
    let set = ProfileSet::from_docs(&file.profiles, &Limits::default()).unwrap();
    let t = targets(&set);
    let keys: Vec<String> = t
        .iter()
        .map(|t| format!("{}/{}", t.key.0, t.key.1))
        .collect();
    assert_eq!(keys, vec!["p/probed", "p/elsewhere", "q/ssh"]);
    let probed = &t[0].spec;
    assert_eq!(
        (probed.host.as_str(), probed.port, probed.path.as_str()),
        ("app.example.com", 8443, "/hc")
    );
    assert_eq!(
        probed.host_header, "app.example.com",
        "Host is the endpoint target"
    );
    assert_eq!(
        probed.headers,
        vec![
            ("X-A".to_string(), "profile".to_string()),
            ("x-b".to_string(), "endpoint".to_string())
        ]
    );
    let elsewhere = &t[1].spec;
    assert_eq!(
        elsewhere.host, "10.0.0.7",
        "probeTarget is where the probe goes"
    );
    assert_eq!(
        elsewhere.host_header, "vanity.example.com",
        "a custom Host header wins"
    );
    assert!(
        !elsewhere
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"))
    );
    assert_eq!(t[2].spec.identity(), "TCP://2001:db8::1:22/");
}
