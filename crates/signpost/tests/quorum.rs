//! Health from several vantage points: three nodes on a real three-member etcd, each probing from
//! its own source address (`--probe-source` 127.0.0.2, .3, .4), decide every endpoint's status by
//! the majority of their views. An endpoint that fails only the probes of one node is not failed
//! over (and the status shows the dissent); failing for two, every node fails over; a node killed
//! with `kill -9` leaves with its lease, and the quorum is taken over the nodes left.

mod common;
#[path = "../../signpost-store/tests/etcd_cluster/mod.rs"]
mod etcd_cluster;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, cli, http, stdout, temp_dir};
use domain::base::iana::Rtype;
use etcd_cluster::EtcdCluster;
use serde_json::Value;

/// An HTTP health endpoint on 127.0.0.1 that answers 503 to probes from the addresses in
/// `failing`, 200 to the others.
fn health_endpoint() -> (u16, Arc<Mutex<HashSet<IpAddr>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let failing: Arc<Mutex<HashSet<IpAddr>>> = Arc::default();
    let shared = Arc::clone(&failing);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let failing = Arc::clone(&shared);
            std::thread::spawn(move || {
                let from = stream.peer_addr().map(|a| a.ip()).ok();
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let down = from.is_some_and(|ip| failing.lock().unwrap().contains(&ip));
                let status = if down {
                    "503 Service Unavailable"
                } else {
                    "200 OK"
                };
                let _ = stream.write_all(
                    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                );
            });
        }
    });
    (port, failing)
}

/// `web`: `primary` (127.0.0.1, probed over HTTP every second, no failure tolerated), else
/// `backup` (127.0.0.9, always served).
fn profile(port: u16) -> Value {
    serde_json::json!({
        "properties": {
            "trafficRoutingMethod": "Priority",
            "dnsConfig": {"relativeName": "web", "ttl": 5},
            "monitorConfig": {"protocol": "HTTP", "port": port, "path": "/health",
                              "intervalInSeconds": 1, "timeoutInSeconds": 1,
                              "toleratedNumberOfFailures": 0},
            "endpoints": [
                {"name": "primary", "type": "externalEndpoints",
                 "properties": {"target": "127.0.0.1", "priority": 1}},
                {"name": "backup", "type": "externalEndpoints",
                 "properties": {"target": "127.0.0.9", "priority": 2, "alwaysServe": "Enabled"}}
            ]
        }
    })
}

const PRIMARY: &str = "A 127.0.0.1";
const BACKUP: &str = "A 127.0.0.9";

/// `primary`'s entry in a node's status view.
fn primary(node: &Server) -> Value {
    let r = http(node.api, "GET", "/api/v1/profiles/web/status", &[], None);
    if r.status != 200 {
        return Value::Null;
    }
    r.body["endpoints"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["name"] == "primary").cloned())
        .unwrap_or(Value::Null)
}

/// The recent health events of `web` as `node` reports them.
fn events_of(node: &Server) -> Vec<Value> {
    let r = http(node.api, "GET", "/api/v1/profiles/web/status", &[], None);
    r.body["events"].as_array().cloned().unwrap_or_default()
}

/// Each node's view of `primary` as `node`'s status view shows it, sorted by node name.
fn views(node: &Server) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = primary(node)["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            (
                n["node"].as_str().unwrap_or_default().to_string(),
                n["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn eventually(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_fleet_decides_health_by_majority() {
    if !etcd_cluster::available() {
        return;
    }
    let etcd = EtcdCluster::start();
    let (port, failing) = health_endpoint();
    let urls = etcd.client_urls.join(",");
    let names = ["n1", "n2", "n3"];
    let sources = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    let mut nodes: Vec<Option<Server>> = names
        .iter()
        .zip(sources)
        .map(|(name, source)| {
            let dir = temp_dir(&format!("quorum-{name}"));
            Some(Server::start(
                &dir,
                &[
                    "--zone",
                    "tm.test",
                    "--etcd",
                    &urls,
                    "--node-name",
                    name,
                    "--probe-source",
                    source,
                ],
            ))
        })
        .collect();
    let live = |nodes: &[Option<Server>]| -> Vec<usize> {
        (0..nodes.len()).filter(|&i| nodes[i].is_some()).collect()
    };
    let r = http(
        nodes[0].as_ref().unwrap().api,
        "PUT",
        "/api/v1/profiles/web",
        &[],
        Some(&profile(port)),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);

    // Every node sees every node's view: all Online.
    let all_online = pairs(&[("n1", "Online"), ("n2", "Online"), ("n3", "Online")]);
    for n in nodes.iter().flatten() {
        eventually(
            "every node sees three Online views",
            Duration::from_secs(20),
            || views(n) == all_online,
        );
        assert_eq!(n.ask("web.tm.test", Rtype::A), [PRIMARY]);
    }

    // The nodes API lists the three, each connected and serving the same revision.
    let listed = http(
        nodes[1].as_ref().unwrap().api,
        "GET",
        "/api/v1/nodes",
        &[],
        None,
    );
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["store"], "etcd");
    assert_eq!(listed.body["healthQuorum"], "majority");
    let fleet = listed.body["nodes"].as_array().unwrap();
    let mut listed_names: Vec<&str> = fleet.iter().map(|n| n["name"].as_str().unwrap()).collect();
    listed_names.sort();
    assert_eq!(listed_names, names);
    assert_eq!(fleet[0]["name"], "n2", "this node first");
    assert_eq!(fleet[0]["self"], true);
    for n in fleet {
        assert_eq!(n["etcdConnected"], true, "{n}");
        assert_eq!(n["appliedRevision"], fleet[0]["appliedRevision"], "{n}");
        assert!(n["appliedRevision"].as_u64().unwrap() > 0);
    }
    let sources_listed: HashSet<&str> = fleet
        .iter()
        .map(|n| n["probeSource"].as_str().unwrap())
        .collect();
    assert_eq!(sources_listed, HashSet::from(sources));
    let table = stdout(&cli(nodes[0].as_ref().unwrap(), &["nodes"]));
    for name in names {
        assert!(
            table.contains(name),
            "signpost nodes lists {name}:\n{table}"
        );
    }
    assert!(table.contains("n1 (this node)"), "{table}");

    // Failing for n1's probes only: n1 dissents, nobody fails over.
    failing.lock().unwrap().insert("127.0.0.2".parse().unwrap());
    let dissent = pairs(&[("n1", "Degraded"), ("n2", "Online"), ("n3", "Online")]);
    for n in nodes.iter().flatten() {
        eventually(
            "every node sees n1's dissent",
            Duration::from_secs(10),
            || {
                assert_eq!(
                    n.ask("web.tm.test", Rtype::A),
                    [PRIMARY],
                    "one vantage point alone must not fail the endpoint over"
                );
                views(n) == dissent
            },
        );
        assert_eq!(primary(n)["endpointMonitorStatus"], "Online", "the verdict");
    }
    // Probes keep running for a few more rounds: still nobody fails over.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        for n in nodes.iter().flatten() {
            assert_eq!(n.ask("web.tm.test", Rtype::A), [PRIMARY]);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let events = events_of(nodes[2].as_ref().unwrap());
    assert!(
        events.iter().any(|e| e["kind"] == "dissent"
            && e["node"] == "n1"
            && e["endpoint"] == "primary"
            && e["to"] == "Degraded"
            && e["from"] == "Online"),
        "an event says that n1 disagrees: {events:?}"
    );
    let table = stdout(&cli(nodes[2].as_ref().unwrap(), &["status", "web"]));
    assert!(
        table.contains("n1 Degraded") && table.contains("n3 Online"),
        "signpost status shows each node's view:\n{table}"
    );

    // Failing for two of three: every node fails over.
    failing.lock().unwrap().insert("127.0.0.3".parse().unwrap());
    for n in nodes.iter().flatten() {
        eventually("every node fails over", Duration::from_secs(10), || {
            n.ask("web.tm.test", Rtype::A) == [BACKUP]
        });
        assert_eq!(primary(n)["endpointMonitorStatus"], "Degraded");
    }
    let events = events_of(nodes[2].as_ref().unwrap());
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "verdict" && e["to"] == "Degraded"),
        "an event records the verdict: {events:?}"
    );

    // n2 (one of the two that see it fail) is killed: its view expires with its lease, and of
    // the two nodes left one says Degraded, which is not a majority: both fail back.
    let killed = Instant::now();
    nodes[1].take(); // Drop sends SIGKILL.
    for &i in &live(&nodes) {
        let n = nodes[i].as_ref().unwrap();
        eventually("the nodes left fail back", Duration::from_secs(30), || {
            n.ask("web.tm.test", Rtype::A) == [PRIMARY]
        });
        assert_eq!(
            views(n),
            pairs(&[("n1", "Degraded"), ("n3", "Online")]),
            "n2's view is gone"
        );
        let listed = http(n.api, "GET", "/api/v1/nodes", &[], None);
        let mut left: Vec<&str> = listed.body["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["n1", "n3"]);
    }
    eprintln!("n2's view expired {:?} after kill -9", killed.elapsed());

    // A clean stop (SIGTERM) revokes the lease: n3 is gone from n1's fleet at once, not one lease
    // TTL (10 s) later.
    let n3 = nodes[2].as_ref().unwrap();
    let stopped = Instant::now();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &n3.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let n1 = nodes[0].as_ref().unwrap();
    eventually("n3 leaves n1's fleet", Duration::from_secs(5), || {
        let listed = http(n1.api, "GET", "/api/v1/nodes", &[], None);
        listed.body["nodes"]
            .as_array()
            .is_some_and(|n| n.len() == 1)
    });
    eprintln!("n3 left {:?} after SIGTERM", stopped.elapsed());
    assert_eq!(views(n1), pairs(&[("n1", "Degraded")]));
    eventually(
        "n1, alone, follows its own view",
        Duration::from_secs(10),
        || n1.ask("web.tm.test", Rtype::A) == [BACKUP],
    );

    // etcd is gone altogether: n1 still probes and still publishes what it finds (the store is
    // read off the control loop, so waiting for etcd never holds up a health change).
    let mut etcd = etcd;
    for i in 0..3 {
        etcd.kill_member(i);
    }
    std::thread::sleep(Duration::from_secs(1));
    failing.lock().unwrap().clear();
    let recovered = Instant::now();
    eventually(
        "n1 fails back with etcd gone",
        Duration::from_secs(10),
        || n1.ask("web.tm.test", Rtype::A) == [PRIMARY],
    );
    eprintln!(
        "n1 failed back {:?} after the endpoint recovered, etcd down",
        recovered.elapsed()
    );
}
