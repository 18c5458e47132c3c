//! `--log-format json`: every line the server writes is one JSON object, and a health event is one
//! line whose fields (profile, endpoint, from, to, reason) a log shipper can index.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::temp_dir;
use serde_json::Value;

#[test]
fn json_logs_are_one_object_per_line_with_the_event_fields() {
    let dir = temp_dir("json-logs");
    // The shipped example probes 127.0.0.1:8053, where this test's API does not listen: its
    // endpoints there go Degraded within one interval.
    let mut child = Command::new(env!("CARGO_BIN_EXE_signpost"))
        .current_dir(&dir)
        .args([
            "--log-format",
            "json",
            "serve",
            "--zone",
            "tm.test",
            "--dns-listen",
            "127.0.0.1:0",
            "--api-listen",
            "127.0.0.1:0",
            "--dns-workers",
            "1",
            "--probe-resolver",
            "127.0.0.1:9",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut loaded, mut event) = (None, None);
    while (loaded.is_none() || event.is_none()) && Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string(), "{v}");
        match v["fields"]["message"].as_str() {
            Some("configuration loaded") => loaded = Some(v),
            Some("endpoint status changed") => event = Some(v),
            _ => {}
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let loaded = loaded.expect("a 'configuration loaded' line");
    assert!(
        loaded["fields"]["profiles"].as_u64().is_some_and(|n| n > 0),
        "{loaded}"
    );
    let event = event.expect("a health event line");
    let f = &event["fields"];
    for field in ["profile", "endpoint", "from", "to", "reason"] {
        assert!(f[field].is_string(), "the event carries {field}: {event}");
    }
    assert_eq!(f["to"], "Degraded", "{event}");
    let _ = std::fs::remove_dir_all(&dir);
}
