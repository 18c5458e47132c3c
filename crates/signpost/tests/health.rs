//! Health through the real binary: failover when a region goes down, the all-down policies, the
//! status command, and last known health surviving `kill -9`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{BIN, Server, Stub, temp_dir, two_listeners, write};
use domain::base::iana::Rtype;

fn profiles(port: u16) -> String {
    let app = common::failover_profile(
        "app",
        1,
        port,
        ["primary.example.com", "secondary.example.com"],
    );
    format!(
        r#"
profiles:
{app}  - name: closed
    properties:
      trafficRoutingMethod: Priority
      allDownPolicy: servFail
      monitorConfig: {{ protocol: TCP, port: {port}, intervalInSeconds: 1, timeoutInSeconds: 1, toleratedNumberOfFailures: 0 }}
      endpoints:
        - {{ name: only, type: externalEndpoints, properties: {{ target: only.example.com, probeTarget: 127.0.0.9 }} }}
  - name: nodata
    properties:
      trafficRoutingMethod: Priority
      allDownPolicy: noData
      monitorConfig: {{ protocol: TCP, port: {port}, intervalInSeconds: 1, timeoutInSeconds: 1, toleratedNumberOfFailures: 0 }}
      endpoints:
        - {{ name: only, type: externalEndpoints, properties: {{ target: only.example.com, probeTarget: 127.0.0.9 }} }}
  - name: open
    properties:
      trafficRoutingMethod: Priority
      monitorConfig: {{ protocol: TCP, port: {port}, intervalInSeconds: 1, timeoutInSeconds: 1, toleratedNumberOfFailures: 0 }}
      endpoints:
        - {{ name: only, type: externalEndpoints, properties: {{ target: only.example.com, probeTarget: 127.0.0.9 }} }}
"#
    )
}

fn eventually(s: &Server, name: &str, want: &[&str], limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = s.ask(name, Rtype::A);
        if got == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{name}: expected {want:?}, still {got:?} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn fails_over_reports_and_remembers_across_kill_9() {
    let dir = temp_dir("health");
    let data = dir.join("data");
    let file = dir.join("profiles.yaml");
    let (a, b, port) = two_listeners();
    let primary = Stub::start(a);
    let _secondary = Stub::start(b);
    write(&file, &profiles(port));
    let args = [
        "--zone",
        "tm.test",
        "--profiles",
        file.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let s = Server::start(&dir, &args);
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME primary.example.com."]
    );

    // All-down policies: nothing listens on 127.0.0.9.
    eventually(&s, "closed.tm.test", &["SERVFAIL"], Duration::from_secs(5));
    eventually(&s, "nodata.tm.test", &[], Duration::from_secs(5));
    eventually(
        &s,
        "open.tm.test",
        &["CNAME only.example.com."],
        Duration::from_secs(1),
    );
    s.wait_log("FAIL-OPEN");

    // The primary region goes down: within interval x (tolerated + 1) + timeout the answer moves.
    let stopped = Instant::now();
    primary.stop();
    eventually(
        &s,
        "app.tm.test",
        &["CNAME secondary.example.com."],
        Duration::from_secs(4),
    );
    let moved = stopped.elapsed();
    let line = s.wait_log("Degraded");
    assert!(line.contains("endpoint status changed"), "{line}");

    // The status command shows it.
    std::thread::sleep(Duration::from_millis(200));
    let out = Command::new(BIN)
        .args(["status", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = table
        .lines()
        .find(|l| l.contains("primary"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.contains("Degraded") && row.contains("connection refused"),
        "{row}"
    );
    assert!(table.contains("(FAIL-OPEN)"), "{table}");
    // Online -> Degraded, or CheckingEndpoint -> Degraded if its first probe came after the stop.
    assert!(
        table
            .lines()
            .any(|l| l.contains("app/primary:") && l.contains("-> Degraded (connection refused)")),
        "{table}"
    );

    // kill -9, restart on the same data directory: the very first answer avoids the dead primary.
    drop(s);
    let s = Server::start(&dir, &args);
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME secondary.example.com."]
    );
    eprintln!("failover took {moved:?}");
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}
