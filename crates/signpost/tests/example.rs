//! The shipped example (`examples/profiles.yaml`, what an empty store is seeded with) shows health
//! working on a bare machine: every probe stays on loopback, and after start-up some endpoints
//! are Online, the two meant to be down are Degraded, and no profile fails open.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Server, cli, stderr, stdout, temp_dir};
use domain::base::iana::Rtype;
use serde_json::Value;
use signpost_model::{EndpointKind, Limits, ProfileSet};

/// The port every example probe uses: the API's default listen port (127.0.0.1:8053).
const EXAMPLE_PROBE_PORT: u16 = 8053;

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/profiles.yaml")
}

fn loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.octets()[0] == 127,
        IpAddr::V6(a) => a == std::net::Ipv6Addr::LOCALHOST,
    }
}

#[test]
fn every_probe_of_the_example_stays_on_loopback() {
    let set = ProfileSet::load(&example_path(), &Limits::default()).unwrap();
    let targets = signpost_health::targets::targets(&set);
    // Every endpoint that can be probed is (nothing is hidden behind alwaysServe or Disabled),
    // and the example has one profile per routing method.
    let probed_endpoints: usize = set
        .profiles()
        .iter()
        .flat_map(|p| &p.endpoints)
        .filter(|e| e.kind != EndpointKind::Nested)
        .count();
    assert_eq!(targets.len(), probed_endpoints);
    let mut methods: Vec<&str> = set
        .profiles()
        .iter()
        .map(|p| p.routing_method.as_str())
        .collect();
    methods.sort_unstable();
    assert_eq!(
        methods,
        [
            "Geographic",
            "MultiValue",
            "Performance",
            "Priority",
            "Subnet",
            "Weighted"
        ]
    );
    for t in &targets {
        let (profile, endpoint) = &t.key;
        let host = t.spec.host.as_str();
        match host.parse::<IpAddr>() {
            Ok(ip) => assert!(
                loopback(ip),
                "{profile}/{endpoint} is probed at {ip}, off this machine"
            ),
            // A name goes to the system resolver (DNS packets off the machine), unless it is
            // one /etc/hosts answers.
            Err(_) => assert_eq!(
                host, "localhost",
                "{profile}/{endpoint} is probed at the name {host:?}, which needs a resolver"
            ),
        }
        assert_eq!(
            t.spec.port, EXAMPLE_PROBE_PORT,
            "{profile}/{endpoint}: probes go to Signpost's own API port"
        );
    }
    // Both outcomes are shown: probes where the API listens, and probes where nothing does.
    assert!(targets.iter().any(|t| t.spec.host == "127.0.0.1"));
    assert!(targets.iter().any(|t| t.spec.host == "127.0.0.2"));
}

/// A loopback TCP port free at the time of asking.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `signpost --output json status` as (profile, endpoint) -> (status, last probe), and whether
/// any profile fails open.
fn statuses(s: &Server) -> (Vec<(String, String, String)>, bool) {
    let o = cli(s, &["--output", "json", "status"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let all: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let mut rows = Vec::new();
    let mut fail_open = false;
    for p in all.as_array().unwrap() {
        fail_open |= p["failOpen"] == Value::Bool(true);
        for e in p["endpoints"].as_array().unwrap() {
            rows.push((
                p["name"].as_str().unwrap().to_string(),
                e["name"].as_str().unwrap().to_string(),
                e["endpointMonitorStatus"].as_str().unwrap().to_string(),
            ));
        }
    }
    (rows, fail_open)
}

#[test]
fn a_fresh_server_seeded_with_the_example_shows_online_and_degraded_endpoints() {
    // The example seeded from ./examples/profiles.yaml, as `signpost serve` does in a checkout;
    // the only change is the probe port, to this test's own (free) API port instead of 8053.
    let dir = temp_dir("example");
    let text = std::fs::read_to_string(example_path()).unwrap();
    let port = free_port();
    let needle = format!("port: {EXAMPLE_PROBE_PORT}");
    assert_eq!(text.matches(&needle).count(), 6, "one monitorConfig each");
    std::fs::create_dir_all(dir.join("examples")).unwrap();
    std::fs::write(
        dir.join("examples/profiles.yaml"),
        text.replace(&needle, &format!("port: {port}")),
    )
    .unwrap();
    let api = format!("127.0.0.1:{port}");
    let s = Server::start(
        &dir,
        &["--zone", "trafficmanager.example", "--api-listen", &api],
    );

    let down = [("contoso", "us-east"), ("partners", "a2")];
    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        let (rows, fail_open) = statuses(&s);
        assert!(!fail_open, "no example profile fails open: {rows:?}");
        let settled = rows.iter().all(|(p, e, status)| {
            let want = if down.contains(&(p.as_str(), e.as_str())) {
                "Degraded"
            } else {
                "Online"
            };
            status == want
        });
        if settled {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "the example did not settle into its Online/Degraded mix: {rows:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(rows.len(), 14, "{rows:?}");

    // What the README's quick start shows.
    let text = stdout(&cli(&s, &["status"]));
    assert!(!text.contains("FAIL-OPEN"), "{text}");
    for (p, e, want) in [
        ("contoso", "us-east", "Degraded          connection refused"),
        ("contoso", "eu-west", "Online            HTTP 200"),
        ("partners", "a2", "Degraded          connection refused"),
        ("partners", "a1", "Online            connected"),
        ("shop", "everyone-else", "Online            not probed"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(p) && l.contains(&format!(" {e} ")) && l.contains(want)),
            "no line for {p}/{e} with {want:?}:\n{text}"
        );
    }
    assert_eq!(
        s.ask("contoso.trafficmanager.example", Rtype::A),
        ["CNAME contoso-eu.cloudapp.net."],
        "us-east is down: failover to eu-west"
    );
    let mut partners = s.ask("partners.trafficmanager.example", Rtype::A);
    partners.sort(); // MultiValue shuffles the order per query
    assert_eq!(
        partners,
        ["A 127.0.0.1", "A 127.0.0.3"],
        "a2 is down: left out"
    );
    assert_eq!(
        s.ask("partners.trafficmanager.example", Rtype::AAAA),
        ["AAAA ::1"]
    );
    assert_eq!(
        s.ask("shop.trafficmanager.example", Rtype::A),
        ["CNAME contoso-eu.cloudapp.net."],
        "WORLD is the nested contoso"
    );
    assert_eq!(
        s.ask("intranet.trafficmanager.example", Rtype::A),
        ["CNAME public.intranet.example.com."]
    );
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}
