//! The real `signpost` binary: serving a file, live reload, rejection of bad files, settings, and
//! the validate command.

mod common;

use std::path::Path;
use std::process::Command;

use common::{BIN, Server, profile, temp_dir, write};
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

#[test]
fn without_a_profiles_file_serves_the_built_in_example() {
    let dir = temp_dir("default");
    let s = Server::start(&dir, &[]);
    assert_eq!(
        s.ask("contoso.trafficmanager.example", Rtype::A),
        vec!["CNAME contoso-us.cloudapp.net."]
    );
    assert_eq!(
        s.ask("nothere.trafficmanager.example", Rtype::A),
        vec!["NXDOMAIN"]
    );
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
    let out = Command::new(BIN)
        .args(["serve", "--config", "/nonexistent/signpost.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(dir);
}
