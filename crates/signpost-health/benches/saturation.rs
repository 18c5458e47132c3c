//! The probe cap saturated by hanging endpoints, at full scale: 5,000 endpoints that accept the
//! connection and never answer, 5,000 healthy ones, all probed over HTTP every 10 s (timeout 5 s,
//! 3 failures tolerated) with the default `MonitorSettings` (a cap of 1,024 probes in flight; the
//! hanging endpoints alone would need about 2,500). Two more endpoints start healthy and, once the
//! hanging ones are all Degraded, one starts answering 500 and the other starts hanging.
//!
//! It reports how long the 5,000 take to be found Degraded from a cold start, then over a window
//! (60 s): whether every healthy endpoint was probed on schedule (the longest gap between two
//! probe starts of one endpoint, as seen by the responder), how many are Online, how long the two
//! newly failing endpoints took to be Degraded against the bound interval x (tolerated + 1) +
//! timeout = 45 s, and the probes skipped per lane.
//!
//! Run: `bench/health-saturation.sh` (raises the descriptor limit, then `cargo bench -p
//! signpost-health --bench saturation`). `SIGNPOST_BENCH_SECS` sets the window,
//! `SIGNPOST_BENCH_TIMEOUT_SECS` the probe timeout. Without `--bench` (as `cargo test
//! --all-targets` runs it) a scaled-down run of a few seconds is made instead (200 + 200
//! endpoints, a cap of 64, a 1 s interval).
//!
//! The responders run in this process on a runtime of their own (2 threads); the engine on a
//! 2-worker runtime as `signpost serve` builds it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signpost_health::{Monitor, MonitorSettings, ProbeSpec, ProbeStatus, Target};
use signpost_model::{MonitorProtocol, StatusCodeRange};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What one run does.
struct Plan {
    hanging: usize,
    healthy: usize,
    interval: Duration,
    timeout: Duration,
    tolerated: u8,
    cap: usize,
    warmup_limit: Duration,
    window: Duration,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{name}: {v:?}")))
            .unwrap_or(default)
    };
    let plan = if args.iter().any(|a| a == "--bench") {
        Plan {
            hanging: 5000,
            healthy: 5000,
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(secs("SIGNPOST_BENCH_TIMEOUT_SECS", 5)),
            tolerated: 3,
            cap: MonitorSettings::default().max_in_flight,
            warmup_limit: Duration::from_secs(900),
            window: Duration::from_secs(secs("SIGNPOST_BENCH_SECS", 60)),
        }
    } else {
        Plan {
            hanging: 200,
            healthy: 200,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            tolerated: 0,
            cap: 64,
            warmup_limit: Duration::from_secs(30),
            window: Duration::from_secs(3),
        }
    };
    run(&plan);
}

/// Probe starts of one healthy endpoint during the window.
#[derive(Clone, Copy, Default)]
struct Starts {
    count: u32,
    last: Option<Instant>,
    max_gap: Duration,
}

/// What the responders share with the bench.
struct Responders {
    hanging: SocketAddr,
    healthy: SocketAddr,
    to_500: (SocketAddr, Arc<AtomicU16>),
    to_hang: (SocketAddr, Arc<AtomicU16>),
    recording: Arc<AtomicBool>,
    starts: Arc<Mutex<Vec<Starts>>>,
}

/// Reads a request head; the number in its `Host` (`h123.bench.test`), if any.
async fn read_head(tcp: &mut tokio::net::TcpStream) -> Option<Option<usize>> {
    let mut buf = [0u8; 4096];
    let mut len = 0;
    loop {
        match tcp.read(&mut buf[len..]).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => len += n,
        }
        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") || len == buf.len() {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf[..len]).to_ascii_lowercase();
    Some(
        text.lines()
            .find_map(|l| l.strip_prefix("host: h"))
            .and_then(|h| h.split('.').next())
            .and_then(|n| n.parse().ok()),
    )
}

/// A listener on `ip` answering `code` (0: read the request, never answer, wait for the close).
async fn responder(
    ip: [u8; 4],
    code: Arc<AtomicU16>,
    recording: Arc<AtomicBool>,
    starts: Option<Arc<Mutex<Vec<Starts>>>>,
) -> SocketAddr {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("SO_REUSEADDR");
    socket.bind((ip, 0).into()).expect("bind loopback");
    let listener = socket.listen(4096).expect("listen");
    let addr = listener.local_addr().expect("local_addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            };
            let code = code.load(Ordering::Relaxed);
            let (recording, starts) = (recording.clone(), starts.clone());
            tokio::spawn(async move {
                let Some(host) = read_head(&mut tcp).await else {
                    return;
                };
                if let (Some(starts), Some(i), true) =
                    (starts, host, recording.load(Ordering::Relaxed))
                {
                    let now = Instant::now();
                    let mut starts = starts.lock().expect("starts lock");
                    let s = &mut starts[i];
                    if let Some(last) = s.last {
                        s.max_gap = s.max_gap.max(now - last);
                    }
                    s.count += 1;
                    s.last = Some(now);
                }
                if code == 0 {
                    let _ = tcp.read(&mut [0u8; 1]).await;
                    return;
                }
                let _ = tcp
                    .write_all(
                        format!(
                            "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        )
                        .as_bytes(),
                    )
                    .await;
            });
        }
    });
    addr
}

async fn start_responders(healthy: usize) -> Responders {
    let recording = Arc::new(AtomicBool::new(false));
    let starts = Arc::new(Mutex::new(vec![Starts::default(); healthy]));
    let fixed = |c: u16| Arc::new(AtomicU16::new(c));
    // Each kind on an address of its own: loopback is all of 127.0.0.0/8.
    let hanging = responder([127, 0, 1, 1], fixed(0), recording.clone(), None).await;
    let healthy = responder(
        [127, 0, 2, 1],
        fixed(200),
        recording.clone(),
        Some(starts.clone()),
    )
    .await;
    let c500 = fixed(200);
    let to_500 = responder([127, 0, 3, 1], c500.clone(), recording.clone(), None).await;
    let chang = fixed(200);
    let to_hang = responder([127, 0, 3, 2], chang.clone(), recording.clone(), None).await;
    Responders {
        hanging,
        healthy,
        to_500: (to_500, c500),
        to_hang: (to_hang, chang),
        recording,
        starts,
    }
}

fn target(plan: &Plan, profile: &str, name: String, addr: SocketAddr) -> Target {
    Target {
        key: (profile.into(), name.clone()),
        spec: ProbeSpec {
            protocol: MonitorProtocol::Http,
            host: addr.ip().to_string(),
            port: addr.port(),
            path: "/".into(),
            host_header: format!("{name}.bench.test"),
            headers: Vec::new(),
            expected_status: vec![StatusCodeRange { min: 200, max: 200 }],
            body_match: None,
            validate_certificates: false,
            timeout: plan.timeout,
        },
        interval: plan.interval,
        tolerated_failures: plan.tolerated,
        recovery_threshold: 1,
    }
}

fn run(plan: &Plan) {
    let responder_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("responder")
        .enable_all()
        .build()
        .expect("responder runtime");
    let r = responder_rt.block_on(start_responders(plan.healthy));
    // As `signpost serve` builds it.
    let engine = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("signpost")
        .enable_all()
        .build()
        .expect("tokio runtime");

    let mut targets: Vec<Target> = (0..plan.hanging)
        .map(|i| target(plan, "hang", format!("x{i}"), r.hanging))
        .collect();
    targets.extend((0..plan.healthy).map(|i| target(plan, "ok", format!("h{i}"), r.healthy)));
    targets.push(target(plan, "flip", "to500".into(), r.to_500.0));
    targets.push(target(plan, "flip", "tohang".into(), r.to_hang.0));
    let settings = MonitorSettings {
        max_in_flight: plan.cap,
        ..MonitorSettings::default()
    };
    let key = |p: &str, e: &str| (p.to_string(), e.to_string());

    engine.block_on(async {
        let mut m = Monitor::new(settings, HashMap::new());
        let t_start = Instant::now();
        m.reconcile(targets);

        // Warm-up: from a cold start until every hanging endpoint is Degraded and every other
        // one Online.
        let warmup = loop {
            let states = m.states();
            let hanging_down = states
                .iter()
                .filter(|(k, s)| k.0 == "hang" && s.status == ProbeStatus::Degraded)
                .count();
            let others_online = states
                .iter()
                .filter(|(k, s)| k.0 != "hang" && s.status == ProbeStatus::Online)
                .count();
            if hanging_down == plan.hanging && others_online == plan.healthy + 2 {
                break t_start.elapsed();
            }
            assert!(
                t_start.elapsed() < plan.warmup_limit,
                "warm-up: {hanging_down}/{} hanging Degraded, {others_online}/{} others Online after {:?}",
                plan.hanging,
                plan.healthy + 2,
                t_start.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };

        // The window.
        let skipped0 = m.skipped();
        let probes = m.probes();
        let probes0 = *probes.borrow();
        let (rss0, _) = memory_kib();
        r.recording.store(true, Ordering::SeqCst);
        let t0 = Instant::now();
        r.to_500.1.store(500, Ordering::SeqCst);
        r.to_hang.1.store(0, Ordering::SeqCst);
        let (mut to500_after, mut tohang_after) = (None, None);
        while t0.elapsed() < plan.window {
            let states = m.states();
            if to500_after.is_none() && states[&key("flip", "to500")].status == ProbeStatus::Degraded {
                to500_after = Some(t0.elapsed());
            }
            if tohang_after.is_none() && states[&key("flip", "tohang")].status == ProbeStatus::Degraded
            {
                tohang_after = Some(t0.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        r.recording.store(false, Ordering::SeqCst);
        let t1 = Instant::now();
        let elapsed = (t1 - t0).as_secs_f64();
        let probes_window = *probes.borrow() - probes0;
        let skipped = m.skipped();
        let (rss, hwm) = memory_kib();

        let states = m.states();
        let online = (0..plan.healthy)
            .filter(|i| states[&key("ok", &format!("h{i}"))].status == ProbeStatus::Online)
            .count();
        let healthy_degraded_events = m
            .events()
            .iter()
            .filter(|e| e.profile == "ok" && e.to == ProbeStatus::Degraded)
            .count();
        let starts = r.starts.lock().expect("starts lock").clone();
        // The longest stretch without a probe start, the window's edges included.
        let worst_gap = starts
            .iter()
            .map(|s| match s.last {
                None => t1 - t0,
                Some(last) => s.max_gap.max(t1 - last),
            })
            .max()
            .unwrap_or_default();
        let min_count = starts.iter().map(|s| s.count).min().unwrap_or(0);
        let bound = plan.interval * (u32::from(plan.tolerated) + 1) + plan.timeout;
        let show = |d: Option<Duration>| d.map_or("not Degraded".into(), |d| format!("{:.1} s", d.as_secs_f64()));

        let mib = |kib: u64| kib as f64 / 1024.0;
        println!(
            "signpost-health saturation: {} hanging + {} healthy HTTP endpoints, interval {} s, timeout {} s, {} tolerated, cap {}",
            plan.hanging,
            plan.healthy,
            plan.interval.as_secs_f64(),
            plan.timeout.as_secs_f64(),
            plan.tolerated,
            plan.cap
        );
        let row = |name: &str, value: String| println!("{name:<58} {value:>16}");
        row("warm-up: all hanging Degraded, all others Online after", format!("{:.1} s", warmup.as_secs_f64()));
        row("window", format!("{elapsed:.1} s"));
        row("healthy Online at end", format!("{online}/{}", plan.healthy));
        row("healthy endpoints' Degraded events (whole run)", healthy_degraded_events.to_string());
        row("longest gap between probe starts of one healthy endpoint", format!("{:.2} s", worst_gap.as_secs_f64()));
        row("fewest probe starts of one healthy endpoint in window", min_count.to_string());
        row("endpoint turned to 500 Degraded after", show(to500_after));
        row("endpoint turned hanging Degraded after", show(tohang_after));
        row("bound: interval x (tolerated + 1) + timeout", format!("{:.1} s", bound.as_secs_f64()));
        row("probes completed in window, per second", format!("{:.1}", probes_window as f64 / elapsed));
        row(
            "skipped in window: answering / hanging / down",
            format!(
                "{} / {} / {}",
                skipped.answering - skipped0.answering,
                skipped.hanging - skipped0.hanging,
                skipped.down - skipped0.down
            ),
        );
        row("VmRSS at window start / end, MiB", format!("{:.1} / {:.1}", mib(rss0), mib(rss)));
        row("VmHWM, MiB", format!("{:.1}", mib(hwm)));
        println!(
            "summary: healthy {online}/{} Online, longest gap {:.2} s (interval {} s), 500 Degraded after {}, hanging after {} (bound {} s), {} answering probes skipped",
            plan.healthy,
            worst_gap.as_secs_f64(),
            plan.interval.as_secs_f64(),
            show(to500_after),
            show(tohang_after),
            bound.as_secs_f64(),
            skipped.answering - skipped0.answering,
        );
        assert_eq!(online, plan.healthy, "every healthy endpoint Online");
        assert_eq!(healthy_degraded_events, 0, "no healthy endpoint ever Degraded");
        assert!(worst_gap < plan.interval * 3 / 2, "healthy probes late: {worst_gap:?}");
        // Slack for the 100 ms polling above and for scheduling on a busy machine.
        let slack = Duration::from_secs(1);
        assert!(to500_after.is_some_and(|d| d <= bound + slack), "500 detection");
        assert!(tohang_after.is_some_and(|d| d <= bound + slack), "hang detection");
        drop(m);
    });
    drop(engine);
    drop(responder_rt);
}

/// (`VmRSS`, `VmHWM`) of this process, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let get = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}
