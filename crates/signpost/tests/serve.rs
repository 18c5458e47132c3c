//! The real `signpost` binary: serving a file, live reload, rejection of bad files, settings, and
//! the validate command.

mod common;

use std::path::Path;
use std::process::Command;

use common::{BIN, Server, http, profile, temp_dir, write};
use domain::base::iana::Rtype;

#[test]
fn serves_a_profiles_file_and_follows_its_edits() {
    let dir = temp_dir("reload");
    let file = dir.join("profiles.yaml");
    write(&file, &profile("first.example.com"));
    let s = Server::start(
        &dir,
        &["--zone", "tm.test", "--profiles", file.to_str().unwrap()],
    );
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME first.example.com."]
    );

    write(&file, &profile("second.example.com"));
    s.eventually("app.tm.test", &["CNAME second.example.com."]);

    // A file that fails validation is rejected whole, with the field in the log.
    write(
        &file,
        &profile("second.example.com").replace("Priority", "Fastest"),
    );
    let line = s.wait_log("profiles file rejected");
    assert!(
        line.contains("profiles[0].properties.trafficRoutingMethod: must be one of"),
        "{line}"
    );
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME second.example.com."]
    );

    // A syntax error too.
    write(
        &file,
        "profiles: [ { name: app, properties: { dnsConfig: { ttl: soon } } } ]\n",
    );
    let line = s.wait_log("profiles file rejected");
    assert!(line.contains("ttl"), "{line}");
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME second.example.com."]
    );

    // Removing a profile from the file removes it from DNS (the file is the whole configuration).
    write(
        &file,
        &format!(
            "{}  - name: other\n    properties:\n      trafficRoutingMethod: Priority\n      endpoints:\n        - {{ name: o, type: externalEndpoints, properties: {{ target: o.example.com }} }}\n",
            profile("second.example.com")
        ),
    );
    s.eventually("other.tm.test", &["CNAME o.example.com."]);
    write(&file, &profile("second.example.com"));
    s.eventually("other.tm.test", &["NXDOMAIN"]);

    // And a good file afterwards is taken again.
    write(&file, &profile("third.example.com"));
    s.eventually("app.tm.test", &["CNAME third.example.com."]);
    let _ = std::fs::remove_dir_all(dir);
}

/// Two endpoints in priority order, the first with `first_target`.
fn two_endpoints(first_target: &str) -> String {
    format!(
        "profiles:\n  - name: app\n    properties:\n      trafficRoutingMethod: Priority\n      dnsConfig: {{ relativeName: app, ttl: 5 }}\n      endpoints:\n        - {{ name: one, type: externalEndpoints, properties: {{ target: {first_target}, priority: 1 }} }}\n        - {{ name: two, type: externalEndpoints, properties: {{ target: two.example.com, priority: 2 }} }}\n"
    )
}

fn disable_one(s: &Server) {
    let r = http(
        s.api,
        "PATCH",
        "/api/v1/profiles/app/externalEndpoints/one",
        &[],
        Some(&serde_json::json!({"properties": {"endpointStatus": "Disabled"}})),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    s.eventually("app.tm.test", &["CNAME two.example.com."]);
}

#[test]
fn api_changes_survive_restarts_until_the_profiles_file_changes() {
    let dir = temp_dir("file-vs-api");
    let file = dir.join("profiles.yaml");
    write(&file, &two_endpoints("one.example.com"));
    let args = ["--zone", "tm.test", "--profiles", file.to_str().unwrap()];
    let s = Server::start(&dir, &args);
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME one.example.com."]
    );
    disable_one(&s);
    drop(s);

    // Same file, same store: the API's change is kept.
    let s = Server::start(&dir, &args);
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME two.example.com."],
        "a restart with an unchanged file must not undo the API's change"
    );

    // The file changes while serving: the file's version wins (endpoint one enabled again).
    write(&file, &two_endpoints("one-v2.example.com"));
    s.eventually("app.tm.test", &["CNAME one-v2.example.com."]);
    // That apply (by the watcher) is recorded too: a later API change survives a restart...
    disable_one(&s);
    drop(s);
    let s = Server::start(&dir, &args);
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME two.example.com."]
    );
    drop(s);

    // ...and a file edited while the server is down wins at the next start.
    write(&file, &two_endpoints("one-v3.example.com"));
    let s = Server::start(&dir, &args);
    assert_eq!(
        s.ask("app.tm.test", Rtype::A),
        vec!["CNAME one-v3.example.com."]
    );
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn without_a_profiles_file_serves_the_built_in_example() {
    let dir = temp_dir("default");
    let s = Server::start(&dir, &[]);
    // Its probes go to port 8053, not this test's API (tests/example.rs checks health): both
    // intranet endpoints share one probe outcome, so the fallback answers either way.
    assert_eq!(
        s.ask("intranet.trafficmanager.example", Rtype::A),
        vec!["CNAME public.intranet.example.com."]
    );
    assert_eq!(
        s.ask("nothere.trafficmanager.example", Rtype::A),
        vec!["NXDOMAIN"]
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sigterm_stops_every_task_and_exits_cleanly() {
    let dir = temp_dir("sigterm");
    let mut s = Server::start(&dir, &[]);
    let _ = s.ask("intranet.trafficmanager.example", Rtype::A);
    // An API connection left open (keep-alive) must not hold the stop up.
    let _idle = std::net::TcpStream::connect(s.api).unwrap();
    let kill = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let started = std::time::Instant::now();
    s.wait_log("shutting down");
    s.wait_log("stopped");
    // Well inside the 5 s grace: nothing waited for it to run out.
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_shipped_example_file_is_valid_and_served() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/profiles.yaml");
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&example)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (6 profiles"));
}

#[test]
fn settings_file_with_flags_overriding_it() {
    let dir = temp_dir("settings");
    std::fs::write(dir.join("p.json"), r#"{"profiles":[{"name":"web","properties":{"trafficRoutingMethod":"Priority","endpoints":[{"name":"a","type":"Microsoft.Network/trafficManagerProfiles/externalEndpoints","properties":{"target":"192.0.2.7"}}]}}]}"#).unwrap();
    std::fs::write(
        dir.join("signpost.toml"),
        "zones = [\"from-file.test\"]\nprofiles = \"p.json\"\n[[nameservers]]\nname = \"ns.from-file.test\"\naddresses = [\"192.0.2.53\"]\n",
    )
    .unwrap();
    let config = dir.join("signpost.toml");
    let s = Server::start(&dir, &["--config", config.to_str().unwrap()]);
    assert_eq!(s.ask("web.from-file.test", Rtype::A), vec!["A 192.0.2.7"]);
    assert_eq!(s.ask("ns.from-file.test", Rtype::A), vec!["A 192.0.2.53"]);
    drop(s);
    let s = Server::start(
        Path::new("/"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--zone",
            "from-flag.test",
        ],
    );
    assert_eq!(s.ask("web.from-flag.test", Rtype::A), vec!["A 192.0.2.7"]);
    assert_eq!(s.ask("web.from-file.test", Rtype::A), vec!["REFUSED"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn invalid_start_configuration_exits_with_the_errors() {
    let dir = temp_dir("invalid");
    let file = dir.join("bad.yaml");
    std::fs::write(&file, profile("x.example.com").replace("ttl: 5", "ttl: -1")).unwrap();
    for args in [
        vec!["validate", file.to_str().unwrap()],
        vec![
            "serve",
            "--profiles",
            file.to_str().unwrap(),
            "--dns-listen",
            "127.0.0.1:0",
        ],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("profiles[0].properties.dnsConfig.ttl: must be 0..=2147483647, got -1"),
            "{err}"
        );
    }
    // A settings value past what the routing tables can index is refused, and says why.
    let settings = dir.join("big.toml");
    std::fs::write(&settings, "max_endpoints = 70000\n").unwrap();
    for command in ["serve", "validate"] {
        let mut args = vec![command, "--config", settings.to_str().unwrap()];
        if command == "validate" {
            args.push(file.to_str().unwrap());
        }
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("max_endpoints: must be 1..=65535 (the routing tables index a profile's endpoints with 16 bits), got 70000"),
            "{err}"
        );
    }
    let out = Command::new(BIN)
        .args(["serve", "--config", "/nonexistent/signpost.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(dir);
}
