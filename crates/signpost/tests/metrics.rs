//! Prometheus metrics over real sockets: the counters move by exactly the queries sent (UDP and
//! TCP), they survive a recompile, statuses and API requests show, a live scrape passes
//! `promtool check metrics`, and with tokens a scrape needs one.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::Duration;

use common::{Server, http, temp_dir};
use domain::base::iana::{Class, Rtype};
use domain::base::{MessageBuilder, Name};

/// The value of the series `series` (name and labels, as exposed) in `text`; 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

fn scrape(server: &Server) -> String {
    let r = http(server.api, "GET", "/metrics", &[], None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        r.headers
    );
    r.text
}

/// One query over TCP (length-prefixed, RFC 1035 4.2.2); returns the RCODE.
fn query_tcp(addr: SocketAddr, name: &str, qtype: Rtype) -> u8 {
    let mut b = MessageBuilder::new_vec().question();
    b.push((Name::<Vec<u8>>::from_str(name).unwrap(), qtype, Class::IN))
        .unwrap();
    let query = b.finish();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&(query.len() as u16).to_be_bytes()).unwrap();
    s.write_all(&query).unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut reply = vec![0; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut reply).unwrap();
    reply[3] & 0x0F
}

fn put_web(server: &Server, ttl: u32) -> u16 {
    let profile = serde_json::json!({
        "properties": {
            "trafficRoutingMethod": "Priority",
            "dnsConfig": {"relativeName": "web", "ttl": ttl},
            "endpoints": [
                {"name": "first", "type": "externalEndpoints",
                 "properties": {"target": "127.0.0.1", "alwaysServe": "Enabled"}},
                {"name": "second", "type": "externalEndpoints",
                 "properties": {"target": "127.0.0.2", "alwaysServe": "Enabled"}}
            ]
        }
    });
    http(
        server.api,
        "PUT",
        "/api/v1/profiles/web",
        &[],
        Some(&profile),
    )
    .status
}

#[test]
fn counters_move_by_exactly_the_queries_sent() {
    let dir = temp_dir("metrics");
    let server = Server::start(&dir, &["--zone", "tm.test"]);
    assert_eq!(put_web(&server, 30), 201);
    common::wait_until("the profile is served", || {
        server.ask("web.tm.test", Rtype::A) == ["A 127.0.0.1"]
    });
    let before = scrape(&server);

    for _ in 0..5 {
        server.query("web.tm.test", Rtype::A);
    }
    for _ in 0..3 {
        server.query("web.tm.test", Rtype::AAAA); // NODATA: an address of the other family
    }
    for _ in 0..2 {
        server.query("nosuch.tm.test", Rtype::A);
    }
    server.query("www.example.org", Rtype::TXT); // no zone of ours: REFUSED
    for _ in 0..2 {
        assert_eq!(query_tcp(server.addr, "web.tm.test", Rtype::A), 0);
    }
    let after = scrape(&server);
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        delta(r#"signpost_dns_responses_total{profile="web",qtype="A",rcode="NOERROR"}"#),
        7.0,
        "5 over UDP, 2 over TCP:\n{after}"
    );
    assert_eq!(
        delta(r#"signpost_dns_responses_total{profile="web",qtype="AAAA",rcode="NOERROR"}"#),
        3.0
    );
    assert_eq!(
        delta(r#"signpost_dns_responses_total{profile="",qtype="A",rcode="NXDOMAIN"}"#),
        2.0
    );
    assert_eq!(
        delta(r#"signpost_dns_responses_total{profile="",qtype="TXT",rcode="REFUSED"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"signpost_dns_answers_total{profile="web",endpoint="first"}"#),
        7.0,
        "every A answer named the first endpoint"
    );
    assert_eq!(
        value(
            &after,
            r#"signpost_dns_answers_total{profile="web",endpoint="second"}"#
        ),
        0.0
    );
    assert_eq!(
        value(
            &after,
            r#"signpost_endpoint_status{profile="web",endpoint="first",status="Unmonitored"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            r#"signpost_endpoint_status{profile="web",endpoint="first",status="Online"}"#
        ),
        0.0
    );
    assert_eq!(
        value(&after, r#"signpost_profile_fail_open{profile="web"}"#),
        0.0
    );
    assert_eq!(
        value(
            &after,
            r#"signpost_api_requests_total{route="/api/v1/profiles/{name}",method="PUT",status="201"}"#
        ),
        1.0
    );
    assert!(value(&after, "signpost_config_revision") >= 1.0);
    assert!(value(&after, "signpost_snapshot_publish_seconds_count") >= 2.0);

    // A recompile (a new TTL) keeps the counts: slots are kept by name.
    let serial = value(&after, "signpost_snapshot_serial");
    assert_eq!(put_web(&server, 60), 200);
    common::wait_until("the recompile", || {
        value(&scrape(&server), "signpost_snapshot_serial") > serial
    });
    server.query("web.tm.test", Rtype::A);
    let later = scrape(&server);
    assert_eq!(
        value(
            &later,
            r#"signpost_dns_responses_total{profile="web",qtype="A",rcode="NOERROR"}"#
        ) - value(
            &after,
            r#"signpost_dns_responses_total{profile="web",qtype="A",rcode="NOERROR"}"#
        ),
        1.0
    );

    // What Prometheus' own checker says about a live scrape.
    promtool(&["check", "metrics"], &later);
}

/// PUTs profile `down`, whose only endpoint is probed every second on a port where nothing
/// listens: every probe is refused.
fn put_refused_profile(server: &Server) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let profile = serde_json::json!({
        "properties": {
            "trafficRoutingMethod": "Priority",
            "dnsConfig": {"relativeName": "down", "ttl": 30},
            "monitorConfig": {"protocol": "TCP", "port": port, "intervalInSeconds": 1,
                              "timeoutInSeconds": 1, "toleratedNumberOfFailures": 0},
            "endpoints": [{"name": "only", "type": "externalEndpoints",
                           "properties": {"target": "127.0.0.1"}}]
        }
    });
    let r = http(
        server.api,
        "PUT",
        "/api/v1/profiles/down",
        &[],
        Some(&profile),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
}

#[test]
fn probe_durations_are_observed_by_result() {
    let dir = temp_dir("metrics-probes");
    let server = Server::start(&dir, &["--zone", "tm.test"]);
    put_refused_profile(&server);
    common::wait_until(
        "a refused probe is observed and the endpoint is Degraded",
        || {
            let text = scrape(&server);
            value(
                &text,
                r#"signpost_probe_duration_seconds_count{profile="down",endpoint="only",result="refused"}"#,
            ) >= 1.0
                && value(
                    &text,
                    r#"signpost_endpoint_status{profile="down",endpoint="only",status="Degraded"}"#,
                ) == 1.0
        },
    );
    let text = scrape(&server);
    assert_eq!(
        value(&text, r#"signpost_profile_fail_open{profile="down"}"#),
        1.0,
        "its only endpoint is down: the profile serves it anyway"
    );
}

#[test]
fn with_tokens_a_scrape_needs_a_reader_token() {
    let dir = temp_dir("metrics-auth");
    let reader = "reader-token-0123456789";
    let server = Server::start_env(
        &dir,
        &["--zone", "tm.test"],
        &[
            ("SIGNPOST_ADMIN_TOKEN", "admin-token-0123456789"),
            ("SIGNPOST_READER_TOKEN", reader),
        ],
    );
    assert_eq!(http(server.api, "GET", "/metrics", &[], None).status, 401);
    let bearer = format!("Bearer {reader}");
    let r = http(
        server.api,
        "GET",
        "/metrics",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(r.status, 200);
    assert!(
        r.text
            .contains("# TYPE signpost_dns_responses_total counter"),
        "{}",
        r.text
    );
}

/// Runs `promtool ARGS` with `input` on standard input; panics with its output unless it passes.
fn promtool(args: &[&str], input: &str) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/install-deps.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_grafana_dashboard_queries_parse_and_name_metrics_that_exist() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contrib/grafana-dashboard.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");

    // Every expression is valid PromQL once Grafana's variables are filled in: as recording
    // rules, `promtool check rules` parses them.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        let filled = e
            .replace("$__rate_interval", "1m")
            .replace("$instance", ".*")
            .replace("$profile", ".*");
        rules.push_str(&format!(
            "      - record: dashboard:expr{i}\n        expr: {}\n",
            serde_json::to_string(&filled).unwrap()
        ));
    }
    let dir = temp_dir("metrics-dashboard");
    let file = dir.join("rules.yaml");
    std::fs::write(&file, rules).unwrap();
    promtool(&["check", "rules", file.to_str().unwrap()], "");

    // Every metric they name is exposed by a live server (families without a sample yet are
    // not listed: one API request and one probe make sure every family has one).
    let server = Server::start(&dir, &["--zone", "tm.test"]);
    put_refused_profile(&server);
    common::wait_until("a probe is observed", || {
        scrape(&server).contains("# TYPE signpost_probe_duration_seconds histogram")
    });
    let text = scrape(&server);
    let exposed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for e in &exprs {
        for name in e
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("signpost_"))
        {
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            assert!(
                exposed.contains(&base),
                "the dashboard queries {name}, which /metrics does not expose ({exposed:?})"
            );
        }
    }
}
