//! Operator overrides through the real binary, over real sockets: force-down and force-up change
//! DNS answers whatever the probes say, an override with `--for` ends by itself, one survives a
//! restart (and a profiles file being applied again), clear-override restores the probes' say,
//! and bad requests name the field. The CLI verbs run end to end against a live server.

mod common;
#[path = "../../signpost-store/tests/etcd_cluster/mod.rs"]
mod etcd_cluster;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{BIN, Server, Stub, cli, http, stderr, stdout, temp_dir, two_listeners, write};
use domain::base::iana::Rtype;
use serde_json::{Value, json};

/// `app`: Priority, primary probed at 127.0.0.2, secondary at 127.0.0.3, one probe a second.
fn profiles(port: u16, ttl: u32) -> String {
    let app = common::failover_profile(
        "app",
        ttl,
        port,
        ["primary.example.com", "secondary.example.com"],
    );
    format!("profiles:\n{app}")
}

const PRIMARY: &str = "CNAME primary.example.com.";
const SECONDARY: &str = "CNAME secondary.example.com.";

/// A server on `app` with both stubs given, its data under `dir`; returns the serve arguments.
fn args(dir: &std::path::Path, port: u16) -> Vec<String> {
    let file = dir.join("profiles.yaml");
    if !file.exists() {
        write(&file, &profiles(port, 1));
    }
    [
        "--zone",
        "tm.test",
        "--profiles",
        file.to_str().unwrap(),
        "--data-dir",
        dir.join("data").to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn start(dir: &std::path::Path, args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(dir, &args)
}

/// Asks until the answer is `want`, or panics after `limit`; returns how long it took.
fn eventually(s: &Server, want: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = s.ask("app.tm.test", Rtype::A);
        if got == [want] {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "expected {want:?}, still {got:?} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const OVERRIDE: &str = "/api/v1/profiles/app/externalEndpoints/primary/override";

/// The `/status` entry of endpoint `name` of `app`.
fn endpoint_status(s: &Server, name: &str) -> Value {
    let r = http(s.api, "GET", "/api/v1/profiles/app/status", &[], None);
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
        .unwrap()
}

fn explain_steps(s: &Server) -> Vec<String> {
    let r = http(
        s.api,
        "GET",
        "/api/v1/profiles/app/explain?clientIp=192.0.2.1",
        &[],
        None,
    );
    r.body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// force-down moves the answer to the next endpoint (probes still Online and shown), status,
/// explain, the list and `signpost status` say so, applying the profiles file again keeps it,
/// and clear-override restores the answer.
#[test]
fn force_down_moves_the_answer_until_cleared() {
    let dir = temp_dir("ovr-down");
    let (a, b, port) = two_listeners();
    let _primary = Stub::start(a);
    let _secondary = Stub::start(b);
    let args = args(&dir, port);
    let s = start(&dir, &args);
    assert_eq!(s.ask("app.tm.test", Rtype::A), [PRIMARY]);
    common::wait_until("the primary's first probe", || {
        endpoint_status(&s, "primary")["lastProbe"]["healthy"] == json!(true)
    });

    let out = cli(
        &s,
        &[
            "endpoint",
            "force-down",
            "app",
            "PRIMARY",
            "--reason",
            "disk replacement",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("until cleared"), "{}", stdout(&out));
    eventually(&s, SECONDARY, Duration::from_secs(5));
    let line = s.wait_log("override set");
    assert!(
        line.contains("profile=app")
            && line.contains("endpoint=primary")
            && line.contains("state=Degraded")
            && line.contains("disk replacement"),
        "{line}"
    );

    // Status: the effective status, the override, and the probe's own view.
    let e = endpoint_status(&s, "primary");
    assert_eq!(e["endpointMonitorStatus"], "Degraded", "{e}");
    assert_eq!(e["servedNow"], false, "{e}");
    assert_eq!(e["override"]["state"], "Degraded", "{e}");
    assert_eq!(e["override"]["reason"], "disk replacement", "{e}");
    assert!(e["override"].get("expiresAt").is_none(), "{e}");
    assert_eq!(e["lastProbe"]["healthy"], true, "probes keep running: {e}");
    assert!(endpoint_status(&s, "secondary").get("override").is_none());
    let steps = explain_steps(&s);
    assert!(
        steps
            .iter()
            .any(|l| l.contains("\"primary\" is forced down") && l.contains("disk replacement")),
        "{steps:?}"
    );
    // Metrics: the override gauge, and the effective status.
    let metrics = http(s.api, "GET", "/metrics", &[], None).text;
    assert!(
        metrics.contains(
            "signpost_endpoint_override{profile=\"app\",endpoint=\"primary\",state=\"Degraded\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "signpost_endpoint_status{profile=\"app\",endpoint=\"primary\",status=\"Degraded\"} 1"
        ),
        "{metrics}"
    );
    let list = http(s.api, "GET", "/api/v1/overrides", &[], None);
    assert_eq!(
        list.body["value"].as_array().unwrap().len(),
        1,
        "{:?}",
        list.body
    );
    assert_eq!(list.body["value"][0]["endpoint"], "primary");
    let got = http(s.api, "GET", OVERRIDE, &[], None);
    assert_eq!(got.status, 200);
    assert_eq!(got.body["state"], "Degraded");
    let table = stdout(&cli(&s, &["status", "app"]));
    assert!(table.contains("Degraded (forced)"), "{table}");
    assert!(
        table.contains("app/primary: forced Degraded until cleared: disk replacement"),
        "{table}"
    );

    // The status file says so too (`signpost status --data-dir`, no API needed).
    let data = dir.join("data");
    common::wait_until("the status file showing the override", || {
        let out = Command::new(BIN)
            .args(["status", "--data-dir", data.to_str().unwrap()])
            .output()
            .unwrap();
        stdout(&out).contains("app/primary: forced Degraded until cleared: disk replacement")
    });

    // The profiles file changes and is applied again: the override is not part of it.
    write(&dir.join("profiles.yaml"), &profiles(port, 2));
    s.wait_log("configuration reloaded");
    common::wait_until("the new TTL", || s.ttls("app.tm.test", Rtype::A) == [2]);
    assert_eq!(s.ask("app.tm.test", Rtype::A), [SECONDARY]);

    let out = cli(&s, &["endpoint", "clear-override", "app", "primary"]);
    assert!(out.status.success(), "{}", stderr(&out));
    eventually(&s, PRIMARY, Duration::from_secs(5));
    s.wait_log("override cleared");
    assert_eq!(http(s.api, "GET", OVERRIDE, &[], None).status, 404);
    assert!(endpoint_status(&s, "primary").get("override").is_none());
    // Clearing again is not an error.
    assert!(
        cli(&s, &["endpoint", "clear-override", "app", "primary"])
            .status
            .success()
    );
}

/// force-up serves an endpoint whose probes fail; `endpointStatus: Disabled` still wins.
#[test]
fn force_up_serves_an_endpoint_whose_probe_fails_but_not_a_disabled_one() {
    let dir = temp_dir("ovr-up");
    let (a, b, port) = two_listeners();
    let primary = Stub::start(a);
    let _secondary = Stub::start(b);
    let args = args(&dir, port);
    let s = start(&dir, &args);
    primary.stop();
    eventually(&s, SECONDARY, Duration::from_secs(5));

    let out = cli(
        &s,
        &[
            "endpoint",
            "force-up",
            "app",
            "primary",
            "--reason",
            "the probe path is broken, the site is fine",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    eventually(&s, PRIMARY, Duration::from_secs(5));
    let e = endpoint_status(&s, "primary");
    assert_eq!(e["endpointMonitorStatus"], "Online", "{e}");
    assert_eq!(e["override"]["state"], "Online", "{e}");
    assert_eq!(
        e["lastProbe"]["healthy"], false,
        "the probe's own view: {e}"
    );

    // Disabled wins over forced up.
    let out = cli(&s, &["endpoint", "disable", "app", "primary"]);
    assert!(out.status.success(), "{}", stderr(&out));
    eventually(&s, SECONDARY, Duration::from_secs(5));
    let out = cli(&s, &["endpoint", "enable", "app", "primary"]);
    assert!(out.status.success(), "{}", stderr(&out));
    eventually(&s, PRIMARY, Duration::from_secs(5));
}

/// `--for` ends the override by itself, on time: the answer returns shortly after it expires
/// (polled against a generous deadline; the timing itself is printed, not asserted tightly).
#[test]
fn an_override_with_for_expires_by_itself() {
    let dir = temp_dir("ovr-for");
    let (a, b, port) = two_listeners();
    let _primary = Stub::start(a);
    let _secondary = Stub::start(b);
    let args = args(&dir, port);
    let s = start(&dir, &args);
    assert_eq!(s.ask("app.tm.test", Rtype::A), [PRIMARY]);
    // Taken before the override is made: it expires at its whole-second creation time plus 3 s,
    // which is at least 2 s after this.
    let set = Instant::now();
    let out = cli(
        &s,
        &[
            "endpoint",
            "force-down",
            "app",
            "primary",
            "--reason",
            "short",
            "--for",
            "3s",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: Value = {
        let r = http(s.api, "GET", OVERRIDE, &[], None);
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body
    };
    assert!(reply["expiresAt"].is_string(), "{reply}");
    eventually(&s, SECONDARY, Duration::from_secs(2));
    let back = eventually(&s, PRIMARY, Duration::from_secs(10));
    let after = set.elapsed();
    eprintln!("answer back {back:?} after the forced answer; {after:?} after the override was set");
    assert!(after >= Duration::from_secs(2), "expired early: {after:?}");
    s.wait_log("override expired");
    assert_eq!(http(s.api, "GET", OVERRIDE, &[], None).status, 404);
    let list = http(s.api, "GET", "/api/v1/overrides", &[], None);
    assert_eq!(list.body["value"], json!([]), "{:?}", list.body);
}

/// An override is configuration: after `kill -9` and a restart on the same data directory (and
/// the same profiles file) the very first answer still avoids the forced-down endpoint.
#[test]
fn an_override_survives_a_restart() {
    let dir = temp_dir("ovr-restart");
    let (a, b, port) = two_listeners();
    let _primary = Stub::start(a);
    let _secondary = Stub::start(b);
    let args = args(&dir, port);
    let s = start(&dir, &args);
    let out = cli(
        &s,
        &[
            "endpoint",
            "force-down",
            "app",
            "primary",
            "--reason",
            "decommissioning",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    eventually(&s, SECONDARY, Duration::from_secs(5));
    drop(s); // SIGKILL
    let s = start(&dir, &args);
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        [SECONDARY],
        "the first answer"
    );
    let e = endpoint_status(&s, "primary");
    assert_eq!(e["override"]["reason"], "decommissioning", "{e}");
    // Still in force a while later, with the primary's probes healthy.
    common::wait_until("the primary's first probe", || {
        endpoint_status(&s, "primary")["lastProbe"]["healthy"] == json!(true)
    });
    assert_eq!(s.ask("app.tm.test", Rtype::A), [SECONDARY]);
}

/// Bad requests name the field and the rule (400); unknown profiles, endpoints and types are
/// 404; the CLI checks `--for` itself (exit 2) and says not found with exit 3.
#[test]
fn bad_override_requests_are_refused() {
    let dir = temp_dir("ovr-bad");
    let (a, b, port) = two_listeners();
    let _primary = Stub::start(a);
    let _secondary = Stub::start(b);
    let args = args(&dir, port);
    let s = start(&dir, &args);
    let put = |path: &str, body: Value| http(s.api, "PUT", path, &[], Some(&body));
    let targets = |r: &common::Reply| -> Vec<String> {
        r.body["error"]["details"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["target"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let r = put(OVERRIDE, json!({"state": "Degraded", "reason": ""}));
    assert_eq!(
        (r.status, targets(&r)),
        (400, vec!["reason".to_string()]),
        "{:?}",
        r.body
    );
    let r = put(OVERRIDE, json!({"state": "Down", "reason": "x"}));
    assert_eq!(
        (r.status, targets(&r)),
        (400, vec!["state".to_string()]),
        "{:?}",
        r.body
    );
    let r = put(
        OVERRIDE,
        json!({"state": "Online", "reason": "x", "for": "5 minutes"}),
    );
    assert_eq!(
        (r.status, targets(&r)),
        (400, vec!["for".to_string()]),
        "{:?}",
        r.body
    );
    let r = put(
        OVERRIDE,
        json!({"state": "Online", "reason": "x", "expiresAt": "2001-01-01T00:00:00Z"}),
    );
    assert_eq!(
        (r.status, targets(&r)),
        (400, vec!["expiresAt".to_string()]),
        "{:?}",
        r.body
    );
    let valid = json!({"state": "Degraded", "reason": "x"});
    for path in [
        "/api/v1/profiles/app/externalEndpoints/nope/override",
        "/api/v1/profiles/nope/externalEndpoints/primary/override",
        "/api/v1/profiles/app/nestedEndpoints/primary/override",
        "/api/v1/profiles/app/otherEndpoints/primary/override",
    ] {
        assert_eq!(put(path, valid.clone()).status, 404, "{path}");
    }
    assert_eq!(
        http(s.api, "GET", OVERRIDE, &[], None).status,
        404,
        "none set"
    );
    // Nothing was written: the answer never moved.
    assert_eq!(s.ask("app.tm.test", Rtype::A), [PRIMARY]);

    let out = cli(
        &s,
        &[
            "endpoint",
            "force-down",
            "app",
            "primary",
            "--reason",
            "x",
            "--for",
            "1w",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("30s, 10m, 2h or 1d"),
        "{}",
        stderr(&out)
    );
    let out = cli(
        &s,
        &["endpoint", "force-up", "app", "nope", "--reason", "x"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = Command::new(BIN)
        .args(["endpoint", "force-down", "app", "primary"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--reason is required");
}

/// Writes need an admin token: a reader may read overrides but not set or clear them.
#[test]
fn readers_cannot_set_overrides() {
    let dir = temp_dir("ovr-auth");
    let (a, b, port) = two_listeners();
    let _primary = Stub::start(a);
    let _secondary = Stub::start(b);
    let args = args(&dir, port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let admin = "admin-token-0123456789";
    let reader = "reader-token-0123456789";
    let s = Server::start_env(
        &dir,
        &args,
        &[
            ("SIGNPOST_ADMIN_TOKEN", admin),
            ("SIGNPOST_READER_TOKEN", reader),
        ],
    );
    let body = json!({"state": "Degraded", "reason": "x"});
    let bearer = |t: &str| format!("Bearer {t}");
    let as_reader = bearer(reader);
    let as_admin = bearer(admin);
    let r = http(
        s.api,
        "PUT",
        OVERRIDE,
        &[("Authorization", &as_reader)],
        Some(&body),
    );
    assert_eq!(r.status, 403);
    assert_eq!(http(s.api, "PUT", OVERRIDE, &[], Some(&body)).status, 401);
    let r = http(
        s.api,
        "PUT",
        OVERRIDE,
        &[("Authorization", &as_admin)],
        Some(&body),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["profile"], "app");
    assert_eq!(r.body["endpoint"], "primary");
    let r = http(
        s.api,
        "GET",
        "/api/v1/overrides",
        &[("Authorization", &as_reader)],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    let r = http(
        s.api,
        "DELETE",
        OVERRIDE,
        &[("Authorization", &as_reader)],
        None,
    );
    assert_eq!(r.status, 403);
    let r = http(
        s.api,
        "DELETE",
        OVERRIDE,
        &[("Authorization", &as_admin)],
        None,
    );
    assert_eq!(r.status, 204);
}

/// In a fleet an override set through one node's API changes every node's answers, every node
/// ends it by itself at its expiry (each judging `expiresAt` by its own clock), and a node
/// started while etcd is gone forces what its local copy says.
#[test]
fn an_override_reaches_every_node_of_a_fleet_and_expires_on_each() {
    if !etcd_cluster::available() {
        return;
    }
    let mut etcd = etcd_cluster::EtcdCluster::start();
    let urls = etcd.client_urls.join(",");
    let dirs: Vec<std::path::PathBuf> = (1..=2)
        .map(|i| temp_dir(&format!("ovr-fleet-n{i}")))
        .collect();
    let node = |i: usize| {
        Server::start(
            &dirs[i],
            &[
                "--zone",
                "tm.test",
                "--etcd",
                &urls,
                "--node-name",
                &format!("n{}", i + 1),
            ],
        )
    };
    let mut nodes: Vec<Server> = (0..2).map(node).collect();
    // Served whatever the probes say (alwaysServe), so only the override moves the answer.
    let web = json!({"properties": {
    "trafficRoutingMethod": "Priority",
    "dnsConfig": {"relativeName": "web", "ttl": 30},
    "monitorConfig": {"protocol": "TCP", "port": 9, "intervalInSeconds": 30},
    "endpoints": [
        {"name": "one", "type": "externalEndpoints", "properties": {"target": "one.example.com", "priority": 1, "alwaysServe": "Enabled"}},
        {"name": "two", "type": "externalEndpoints", "properties": {"target": "two.example.com", "priority": 2, "alwaysServe": "Enabled"}}
    ]}});
    let r = http(nodes[0].api, "PUT", "/api/v1/profiles/web", &[], Some(&web));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let answer_on = |n: &Server, want: &str| {
        common::wait_until(&format!("{want} on a node"), || {
            n.ask("web.tm.test", Rtype::A) == [want]
        })
    };
    for n in &nodes {
        answer_on(n, "CNAME one.example.com.");
    }
    // Long enough for every node to be checked while it is in effect on a loaded machine.
    let body = json!({"state": "Degraded", "reason": "fleet test", "for": "6s"});
    let r = http(
        nodes[0].api,
        "PUT",
        "/api/v1/profiles/web/externalEndpoints/one/override",
        &[],
        Some(&body),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    for n in &nodes {
        answer_on(n, "CNAME two.example.com.");
    }
    let r = http(nodes[1].api, "GET", "/api/v1/overrides", &[], None);
    assert_eq!(r.body["value"][0]["reason"], "fleet test", "{:?}", r.body);
    for n in &nodes {
        answer_on(n, "CNAME one.example.com.");
        n.wait_log("override expired");
    }

    // Static stability: with etcd gone, a node started from its copy still forces.
    let body = json!({"state": "Degraded", "reason": "until cleared"});
    let r = http(
        nodes[1].api,
        "PUT",
        "/api/v1/profiles/web/externalEndpoints/one/override",
        &[],
        Some(&body),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    for n in &nodes {
        answer_on(n, "CNAME two.example.com.");
    }
    for i in 0..3 {
        etcd.kill_member(i);
    }
    drop(nodes.remove(1));
    let restarted = node(1);
    assert_eq!(
        restarted.ask("web.tm.test", Rtype::A),
        ["CNAME two.example.com."],
        "a node started without etcd forces what its copy holds"
    );
    assert_eq!(
        nodes[0].ask("web.tm.test", Rtype::A),
        ["CNAME two.example.com."]
    );
}
