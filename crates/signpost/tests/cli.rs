//! The CLI as a client of a running server: the real binary on both sides.

mod common;

use std::process::Command;

use common::{BIN, Server, cli, stderr, stdout, temp_dir};
use domain::base::iana::Rtype;

#[test]
fn profile_and_endpoint_commands() {
    let dir = temp_dir("cli");
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    let o = cli(
        &s,
        &[
            "profile",
            "create",
            "shop2",
            "--method",
            "Priority",
            "--protocol",
            "TCP",
            "--port",
            "443",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("created profile shop2 (shop2.tm.test)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        cli(&s, &["profile", "create", "shop2"]).status.code(),
        Some(1),
        "create never overwrites"
    );
    for (name, prio) in [("a", "1"), ("b", "2")] {
        let target = format!("{name}.example.com");
        let o = cli(
            &s,
            &[
                "endpoint",
                "add",
                "shop2",
                name,
                "--target",
                &target,
                "--priority",
                prio,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(
        s.ask("shop2.tm.test", Rtype::A),
        vec!["CNAME a.example.com."]
    );
    // `add` never replaces an existing endpoint (names are case-insensitive).
    for again in ["a", "A"] {
        let o = cli(
            &s,
            &[
                "endpoint",
                "add",
                "shop2",
                again,
                "--target",
                "replaced.example.com",
                "--priority",
                "5",
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
        assert!(
            stderr(&o).contains("shop2/")
                && stderr(&o).contains("already exists (use endpoint set)"),
            "{}",
            stderr(&o)
        );
    }
    let shown = cli(&s, &["--output", "json", "profile", "show", "shop2"]);
    let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    let endpoints = shown["properties"]["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2, "{shown}");
    assert_eq!(endpoints[0]["properties"]["target"], "a.example.com");
    assert_eq!(
        s.ask("shop2.tm.test", Rtype::A),
        vec!["CNAME a.example.com."]
    );
    assert!(
        cli(&s, &["endpoint", "disable", "shop2", "a"])
            .status
            .success()
    );
    s.eventually("shop2.tm.test", &["CNAME b.example.com."]);
    let ex = cli(&s, &["explain", "shop2", "--client-ip", "192.0.2.7"]);
    assert!(
        stdout(&ex).contains("ANSWER CNAME b.example.com. (b)"),
        "{}",
        stdout(&ex)
    );
    assert!(stdout(&ex).contains("skipped: Disabled"), "{}", stdout(&ex));
    assert!(
        cli(&s, &["endpoint", "enable", "shop2", "a"])
            .status
            .success()
    );
    assert!(
        cli(
            &s,
            &[
                "endpoint",
                "set",
                "shop2",
                "a",
                "--target",
                "a2.example.com"
            ]
        )
        .status
        .success()
    );
    s.eventually("shop2.tm.test", &["CNAME a2.example.com."]);
    assert!(
        cli(&s, &["endpoint", "remove", "shop2", "a"])
            .status
            .success()
    );
    s.eventually("shop2.tm.test", &["CNAME b.example.com."]);
    assert_eq!(
        cli(&s, &["endpoint", "remove", "shop2", "a"]).status.code(),
        Some(3),
        "not found"
    );
    // Endpoint names may hold spaces and slashes (Azure allows any 1-260 characters).
    let odd = "My endpoint/2";
    let added = cli(
        &s,
        &[
            "endpoint",
            "add",
            "shop2",
            odd,
            "--target",
            "c.example.com",
            "--priority",
            "1",
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    s.eventually("shop2.tm.test", &["CNAME c.example.com."]);
    let disabled = cli(&s, &["endpoint", "disable", "shop2", odd]);
    assert!(disabled.status.success(), "{}", stderr(&disabled));
    s.eventually("shop2.tm.test", &["CNAME b.example.com."]);

    let list = cli(&s, &["profile", "list"]);
    assert!(
        stdout(&list).lines().any(|l| l.starts_with("rollout ")
            && [" CheckingEndpoints ", " Online ", " Degraded "]
                .iter()
                .any(|s| l.contains(s))),
        "every profile shows its monitor status, the seeded ones too: {}",
        stdout(&list)
    );
    assert!(
        stdout(&list)
            .lines()
            .any(|l| l.starts_with("shop2 ") && l.contains("shop2.tm.test")),
        "{}",
        stdout(&list)
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&cli(&s, &["--output", "json", "profile", "list"]))).unwrap();
    assert!(
        json["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "shop2")
    );
    let status = cli(&s, &["status", "shop2"]);
    assert!(
        stdout(&status)
            .lines()
            .any(|l| l.starts_with("shop2") && l.contains(" b ")),
        "{}",
        stdout(&status)
    );
    assert!(cli(&s, &["profile", "delete", "shop2"]).status.success());
    assert_eq!(
        cli(&s, &["profile", "show", "shop2"]).status.code(),
        Some(3)
    );
    let bad = cli(
        &s,
        &[
            "endpoint",
            "add",
            "contoso",
            "x",
            "--target",
            "x.example.com",
            "--weight",
            "0",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("weight: must be 1..=1000, got 0"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn apply_is_idempotent_prunes_and_dry_runs() {
    let dir = temp_dir("cli-apply");
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    let file = dir.join("desired.yaml");
    std::fs::write(
        &file,
        "profiles:\n  - name: api\n    properties:\n      trafficRoutingMethod: Weighted\n      endpoints:\n        - { name: x, type: externalEndpoints, properties: { target: x.example.com, weight: 5 } }\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let dry = cli(&s, &["apply", "-f", f, "--dry-run"]);
    assert!(
        stdout(&dry).contains("would create profile api"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(
        s.ask("api.tm.test", Rtype::A),
        vec!["NXDOMAIN"],
        "a dry run changes nothing"
    );
    let first = cli(&s, &["apply", "-f", f]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("did create profile api"));
    s.eventually("api.tm.test", &["CNAME x.example.com."]);
    let again = cli(&s, &["apply", "-f", f]);
    assert!(stdout(&again).contains("no changes"), "{}", stdout(&again));
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("weight: 5", "weight: 6"),
    )
    .unwrap();
    assert!(stdout(&cli(&s, &["apply", "-f", f])).contains("did update profile api"));
    // --prune removes the seeded example profiles the file does not hold.
    let pruned = cli(&s, &["apply", "-f", f, "--prune", "--dry-run"]);
    assert!(
        stdout(&pruned).contains("would delete profile contoso"),
        "{}",
        stdout(&pruned)
    );
    let pruned = cli(&s, &["--output", "json", "apply", "-f", f, "--prune"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&pruned)).unwrap();
    assert_eq!(report["changes"].as_array().unwrap().len(), 6, "{report}");
    s.eventually("contoso.tm.test", &["NXDOMAIN"]);
    assert!(stdout(&cli(&s, &["apply", "-f", f, "--prune"])).contains("no changes"));
    // An invalid file is refused before anything is sent.
    std::fs::write(
        &file,
        "profiles:\n  - name: api\n    properties: { trafficRoutingMethod: Sideways }\n",
    )
    .unwrap();
    let bad = cli(&s, &["apply", "-f", f]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("trafficRoutingMethod"));
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let o = Command::new(BIN)
        .args(["--api-url", "http://127.0.0.1:9", "profile", "list"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot reach the API"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn import_azure_exports_and_arm_templates() {
    let dir = temp_dir("cli-import");
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let list = fixtures.join("azure-profile-list.json");
    let o = cli(&s, &["import", "azure", list.to_str().unwrap()]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    for name in [
        "azuresdkfornetautoresttrafficmanager3880",
        "parentprofile",
        "azsmnet6386",
    ] {
        assert!(
            stdout(&o).contains(&format!("imported profile {name}")),
            "{}",
            stdout(&o)
        );
    }
    let warnings = stderr(&o);
    assert!(
        warnings.contains("MyFirstNestedEndpoint") && warnings.contains("is not in this export"),
        "{warnings}"
    );
    s.eventually(
        "azuresdkfornetautoresttrafficmanager3880.tm.test",
        &["CNAME foobar.contoso.com."],
    );
    // Importing again without --overwrite leaves them and says so.
    let again = cli(&s, &["import", "azure", list.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stdout(&again).contains("already exists"),
        "{}",
        stdout(&again)
    );

    let arm = fixtures.join("azure-arm-template.json");
    let o = cli(&s, &["import", "azure", arm.to_str().unwrap()]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let warnings = stderr(&o);
    assert!(
        warnings.contains("served as an external endpoint"),
        "{warnings}"
    );
    assert!(
        warnings.contains("\"orphan\": an Azure endpoint without a target"),
        "{warnings}"
    );
    assert!(warnings.contains("tags"), "{warnings}");
    assert!(warnings.contains("cannot evaluate"), "{warnings}");
    let shown: serde_json::Value =
        serde_json::from_str(&stdout(&cli(&s, &["profile", "show", "armprofile"]))).unwrap();
    let names: Vec<&str> = shown["properties"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["webapp", "dc2"],
        "the concat-named child cannot be resolved"
    );
}
