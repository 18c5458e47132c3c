//! The health engine at its target load: 10,000 endpoints probed over HTTP every 10 s against
//! local responders, reporting the engine's CPU share, its memory, and how evenly probe starts are
//! spread over the interval.
//!
//! Run: `cargo bench -p signpost-health --bench monitor` (15 s warm-up, then a 60 s window; set
//! `SIGNPOST_BENCH_SECS` to change the window and `SIGNPOST_BENCH_WARMUP_SECS` the warm-up for a
//! quicker run). Without `--bench` (as `cargo test --all-targets` runs it) a 200-endpoint smoke run
//! of a few seconds is made instead.
//!
//! The HTTP responder runs in a child process (this binary re-executed with `--responder`), so its
//! CPU is not charged to the engine. It answers every request with an empty 200 and closes, counts
//! accepted connections per wall-clock second and prints `SECOND COUNT` lines, which give the
//! spread of probe starts (a probe connects as it starts). The engine runs as `signpost serve`
//! runs it: a multi-threaded tokio runtime with 2 workers, default `MonitorSettings`.
//!
//! CPU is `utime + stime` of this whole process from `/proc/self/stat` over the window (the bench's
//! own threads sleep meanwhile); memory is `VmRSS` and `VmHWM` from `/proc/self/status`. Loopback
//! TCP does part of the peer's receive work in the sender's context, so the kernel share on either
//! side includes some of the other's.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use signpost_health::{Monitor, MonitorSettings, ProbeSpec, ProbeStatus, Target};
use signpost_model::{MonitorProtocol, StatusCodeRange};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// What one run does.
struct Plan {
    profiles: usize,
    endpoints_per_profile: usize,
    interval: Duration,
    warmup: Duration,
    window: Duration,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--responder") {
        responder();
        return;
    }
    let secs = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{name}: {v:?}")))
            .unwrap_or(default)
    };
    let plan = if args.iter().any(|a| a == "--bench") {
        Plan {
            profiles: 50,
            endpoints_per_profile: 200,
            interval: Duration::from_secs(10),
            warmup: Duration::from_secs(secs("SIGNPOST_BENCH_WARMUP_SECS", 15)),
            window: Duration::from_secs(secs("SIGNPOST_BENCH_SECS", 60)),
        }
    } else {
        Plan {
            profiles: 2,
            endpoints_per_profile: 100,
            interval: Duration::from_secs(1),
            warmup: Duration::from_secs(2),
            window: Duration::from_secs(3),
        }
    };
    run(&plan);
}

// ---------------------------------------------------------------------------------------------
// The engine side.

/// The responder process, killed and reaped when dropped (also while unwinding from a panic).
struct Responder {
    child: Child,
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(plan: &Plan) {
    let endpoints = plan.profiles * plan.endpoints_per_profile;
    let clk_tck = clock_ticks_per_second();

    // The child also exits when its stdin closes, should this process die without unwinding.
    let mut responder = Responder {
        child: Command::new(std::env::current_exe().expect("current_exe"))
            .arg("--responder")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the responder"),
    };
    let mut lines = BufReader::new(responder.child.stdout.take().expect("child stdout")).lines();
    let first = lines
        .next()
        .expect("responder exited before reporting its port")
        .expect("read the responder's port");
    let port: u16 = first
        .strip_prefix("port ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from the responder: {first:?}"));
    let accepts: Arc<Mutex<BTreeMap<u64, u64>>> = Arc::default();
    let reader = {
        let accepts = Arc::clone(&accepts);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut it = line.split_whitespace().map(str::parse::<u64>);
                if let (Some(Ok(sec)), Some(Ok(n))) = (it.next(), it.next()) {
                    *accepts
                        .lock()
                        .expect("accepts lock")
                        .entry(sec)
                        .or_default() += n;
                }
            }
        })
    };

    // As `signpost serve` builds it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("signpost")
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (rss_before, _) = memory_kib();

    let targets: Vec<Target> = (0..endpoints)
        .map(|i| Target {
            key: (
                format!("profile{}", i / plan.endpoints_per_profile),
                format!("endpoint{}", i % plan.endpoints_per_profile),
            ),
            spec: ProbeSpec {
                protocol: MonitorProtocol::Http,
                host: "127.0.0.1".into(),
                port,
                path: "/".into(),
                host_header: format!("ep{i}.bench.test"),
                headers: Vec::new(),
                expected_status: vec![StatusCodeRange { min: 200, max: 200 }],
                body_match: None,
                validate_certificates: false,
                timeout: Duration::from_secs(5),
            },
            interval: plan.interval,
            tolerated_failures: 3,
            recovery_threshold: 1,
        })
        .collect();

    let m = runtime.block_on(async {
        let mut monitor = Monitor::new(MonitorSettings::default(), HashMap::new());
        monitor.reconcile(targets);
        let probes = monitor.probes();
        tokio::time::sleep(plan.warmup).await;

        let cpu0 = cpu_ticks();
        let probes0 = *probes.borrow();
        let wall0 = unix_secs_f64();
        let t0 = Instant::now();
        tokio::time::sleep(plan.window).await;
        let cpu1 = cpu_ticks();
        let probes1 = *probes.borrow();
        let wall1 = unix_secs_f64();
        let elapsed = t0.elapsed().as_secs_f64();
        let (rss, hwm) = memory_kib();

        let states = monitor.states();
        let online = states
            .values()
            .filter(|s| s.status == ProbeStatus::Online)
            .count();
        let last_failed = states
            .values()
            .filter(|s| s.last.as_ref().is_some_and(|(_, r)| !r.is_success()))
            .count();
        let max_latency_ms = states
            .values()
            .filter_map(|s| s.last.as_ref().map(|(_, r)| r.latency_ms))
            .max()
            .unwrap_or(0);
        drop(monitor);
        Measured {
            user_s: (cpu1.0 - cpu0.0) as f64 / clk_tck as f64,
            system_s: (cpu1.1 - cpu0.1) as f64 / clk_tck as f64,
            elapsed,
            wall0,
            wall1,
            probes_window: probes1 - probes0,
            probes_total: probes1,
            rss,
            hwm,
            online,
            last_failed,
            max_latency_ms,
        }
    });
    drop(runtime);

    // Let the responder report the window's last second, then stop it.
    std::thread::sleep(Duration::from_millis(1500));
    drop(responder);
    let _ = reader.join();

    // Whole wall-clock seconds inside the window.
    let first_sec = m.wall0.ceil() as u64;
    let end_sec = m.wall1.floor() as u64;
    let accepts = accepts.lock().expect("accepts lock");
    let per_sec: Vec<u64> = (first_sec..end_sec)
        .map(|s| accepts.get(&s).copied().unwrap_or(0))
        .collect();
    let spread = Spread::of(&per_sec);

    let expected_rate = endpoints as f64 / plan.interval.as_secs_f64();
    let cpu_s = m.user_s + m.system_s;
    let cpu_pct = 100.0 * cpu_s / m.elapsed;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "signpost-health monitor: {endpoints} HTTP endpoints, interval {} s, warm-up {} s, window {:.1} s, CLK_TCK {clk_tck}",
        plan.interval.as_secs_f64(),
        plan.warmup.as_secs_f64(),
        m.elapsed
    );
    println!("{:<42} {:>14}", "metric", "value");
    let row = |name: &str, value: String| println!("{name:<42} {value:>14}");
    row(
        "engine CPU, % of one core (utime+stime)",
        format!("{cpu_pct:.2}"),
    );
    row(
        "  of which user (utime), %",
        format!("{:.2}", 100.0 * m.user_s / m.elapsed),
    );
    row(
        "  of which kernel (stime), %",
        format!("{:.2}", 100.0 * m.system_s / m.elapsed),
    );
    row("engine CPU seconds in window", format!("{cpu_s:.2}"));
    row(
        "CPU per probe, us",
        format!("{:.1}", 1e6 * cpu_s / m.probes_window.max(1) as f64),
    );
    row(
        "VmRSS before targets and monitor, MiB",
        format!("{:.1}", mib(rss_before)),
    );
    row("VmRSS at end of window, MiB", format!("{:.1}", mib(m.rss)));
    row("VmHWM, MiB", format!("{:.1}", mib(m.hwm)));
    row("probes completed in window", m.probes_window.to_string());
    row(
        "probes completed per second",
        format!("{:.1}", m.probes_window as f64 / m.elapsed),
    );
    row("probes completed in total", m.probes_total.to_string());
    row(
        "connections accepted in window (responder)",
        per_sec.iter().sum::<u64>().to_string(),
    );
    row("seconds bucketed", per_sec.len().to_string());
    row("probe starts/s, min", spread.min.to_string());
    row("probe starts/s, mean", format!("{:.1}", spread.mean));
    row("probe starts/s, max", spread.max.to_string());
    row(
        "probe starts/s, coefficient of variation",
        format!("{:.2}%", 100.0 * spread.cv),
    );
    row(
        "endpoints Online at end",
        format!("{}/{endpoints}", m.online),
    );
    row(
        "endpoints whose last probe failed",
        m.last_failed.to_string(),
    );
    row("slowest last probe, ms", m.max_latency_ms.to_string());
    println!(
        "summary: {endpoints} endpoints / {} s: engine CPU {cpu_pct:.2}% of a core, RSS {:.1} MiB (HWM {:.1} MiB), probe starts {}..{} per s (mean {:.1}, expected {expected_rate:.0}, CV {:.2}%), {} probes in {:.0} s, {}/{endpoints} Online",
        plan.interval.as_secs_f64(),
        mib(m.rss),
        mib(m.hwm),
        spread.min,
        spread.max,
        spread.mean,
        100.0 * spread.cv,
        m.probes_window,
        m.elapsed,
        m.online,
    );
    assert_eq!(m.online, endpoints, "every endpoint should be Online");
}

struct Measured {
    user_s: f64,
    system_s: f64,
    elapsed: f64,
    wall0: f64,
    wall1: f64,
    probes_window: u64,
    probes_total: u64,
    rss: u64,
    hwm: u64,
    online: usize,
    last_failed: usize,
    max_latency_ms: u64,
}

struct Spread {
    min: u64,
    max: u64,
    mean: f64,
    cv: f64,
}

impl Spread {
    fn of(counts: &[u64]) -> Self {
        if counts.is_empty() {
            return Self {
                min: 0,
                max: 0,
                mean: 0.0,
                cv: 0.0,
            };
        }
        let n = counts.len() as f64;
        let mean = counts.iter().sum::<u64>() as f64 / n;
        let var = counts
            .iter()
            .map(|&c| (c as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        Self {
            min: *counts.iter().min().expect("not empty"),
            max: *counts.iter().max().expect("not empty"),
            mean,
            cv: if mean > 0.0 { var.sqrt() / mean } else { 0.0 },
        }
    }
}

/// (`utime`, `stime`) of this process, in clock ticks.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // The command name may hold spaces: fields are counted after its closing parenthesis, where
    // field 3 (state) is the first; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("stat format") + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields[n - 3].parse::<u64>().expect("stat field");
    (field(14), field(15))
}

/// `AT_CLKTCK` from the auxiliary vector (no libc here), 100 if not found.
fn clock_ticks_per_second() -> u64 {
    const AT_CLKTCK: u64 = 17;
    const WORD: usize = std::mem::size_of::<usize>();
    let auxv = std::fs::read("/proc/self/auxv").unwrap_or_default();
    let words: Vec<u64> = auxv
        .chunks_exact(WORD)
        .map(|c| {
            let mut b = [0u8; WORD];
            b.copy_from_slice(c);
            usize::from_ne_bytes(b) as u64
        })
        .collect();
    words
        .chunks_exact(2)
        .find(|kv| kv[0] == AT_CLKTCK)
        .map_or(100, |kv| kv[1])
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

fn unix_secs_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

// ---------------------------------------------------------------------------------------------
// The responder process.

/// Serves `200 OK` on 127.0.0.1, prints `port N` and then, every wall-clock second,
/// `SECOND CONNECTIONS_ACCEPTED`; exits when its stdin closes.
fn responder() {
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let accepted = Arc::new(AtomicU64::new(0));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("responder runtime");
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind(([127, 0, 0, 1], 0).into())
            .expect("bind 127.0.0.1");
        let listener = socket.listen(4096).expect("listen");
        let port = listener.local_addr().expect("local_addr").port();
        {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "port {port}")
                .and_then(|()| out.flush())
                .is_err()
            {
                std::process::exit(0);
            }
        }
        {
            let accepted = Arc::clone(&accepted);
            std::thread::spawn(move || report_per_second(&accepted));
        }
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                // Out of descriptors, say: back off briefly.
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            };
            accepted.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut len = 0;
                loop {
                    match stream.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => len += n,
                    }
                    if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                    if len == buf.len() {
                        return;
                    }
                }
                let _ = stream.write_all(RESPONSE).await;
            });
        }
    });
}

/// Prints the connections accepted during each whole wall-clock second, just after it ends.
fn report_per_second(accepted: &AtomicU64) {
    let mut out = std::io::stdout();
    loop {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970");
        std::thread::sleep(Duration::from_nanos(
            1_000_000_000 - u64::from(now.subsec_nanos()),
        ));
        let ended = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs()
            - 1;
        let n = accepted.swap(0, Ordering::Relaxed);
        if writeln!(out, "{ended} {n}")
            .and_then(|()| out.flush())
            .is_err()
        {
            std::process::exit(0);
        }
    }
}
