//! Operator-defined regions (`[[regions]]` in the settings file) and the read-only reference
//! data: the real binary validates, routes and lists them, the CLI learns them from the server,
//! and `GET /api/v1/geographicHierarchy` serves Azure's tree.

mod common;

use std::process::Command;

use common::{BIN, Server, cli, explain, http, serve_fails, stderr, stdout, temp_dir, write};

const SETTINGS: &str = r#"
[[regions]]
name = "DC Lisbon"
latitude = 38.72
longitude = -9.14

[[regions]]
name = "DC Osaka"
latitude = 34.69
longitude = 135.50
"#;

const PROFILES: &str = "profiles:\n  - name: fast\n    properties:\n      trafficRoutingMethod: Performance\n      endpoints:\n        - { name: lisbon, type: externalEndpoints, properties: { target: lisbon.example.com, endpointLocation: dc-lisbon } }\n        - { name: us, type: externalEndpoints, properties: { target: us.example.com, endpointLocation: East US } }\n";

#[test]
fn operator_regions_are_validated_routed_listed_and_known_to_the_cli() {
    let dir = temp_dir("regions");
    let settings = dir.join("signpost.toml");
    write(&settings, SETTINGS);
    let profiles = dir.join("profiles.yaml");
    write(&profiles, PROFILES);
    let table = dir.join("latency.csv");
    write(
        &table,
        "203.0.113.0/24,DC Lisbon,4\n203.0.113.0/24,East US,80\n198.51.100.0/24,dclisbon,95\n198.51.100.0/24,eastus,7\n",
    );

    // `validate` knows the regions only through the settings file.
    let alone = Command::new(BIN)
        .args(["validate", profiles.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(alone.status.code(), Some(1), "{}", stdout(&alone));
    assert!(
        stderr(&alone)
            .contains("endpoints[0].properties.endpointLocation: must name a known region"),
        "{}",
        stderr(&alone)
    );
    let with = Command::new(BIN)
        .args(["validate", "--config", settings.to_str().unwrap()])
        .arg(&profiles)
        .output()
        .unwrap();
    assert!(with.status.success(), "{}", stderr(&with));

    let s = Server::start(
        &dir,
        &[
            "--config",
            settings.to_str().unwrap(),
            "--zone",
            "tm.test",
            "--profiles",
            profiles.to_str().unwrap(),
            "--latency-table",
            table.to_str().unwrap(),
        ],
    );
    // The latency table names an operator region, in two spellings.
    let pick = |client: &str| explain(&s, "fast", client).0;
    assert_eq!(pick("203.0.113.9"), "lisbon");
    assert_eq!(pick("198.51.100.9"), "us");

    let regions = http(s.api, "GET", "/api/v1/regions", &[], None);
    assert_eq!(regions.status, 200);
    let list = regions.body["value"].as_array().unwrap();
    let operator: Vec<&str> = list
        .iter()
        .filter(|r| r["source"] == "operator")
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(operator, ["DC Lisbon", "DC Osaka"]);
    assert!(
        list.iter()
            .any(|r| r["name"] == "eu-west-1" && r["source"] == "builtIn")
    );

    // The CLI's `apply` checks the file locally with the server's regions, then the server
    // accepts it.
    let more = dir.join("more.yaml");
    write(
        &more,
        &format!(
            "{PROFILES}  - name: asia\n    properties:\n      trafficRoutingMethod: Performance\n      endpoints:\n        - {{ name: osaka, type: externalEndpoints, properties: {{ target: osaka.example.com, endpointLocation: DC Osaka }} }}\n"
        ),
    );
    let applied = cli(&s, &["apply", "-f", more.to_str().unwrap()]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    assert_eq!(
        http(s.api, "GET", "/api/v1/profiles/asia", &[], None).status,
        200
    );
    // A region the server does not know is still refused, naming the field.
    let put = http(
        s.api,
        "PUT",
        "/api/v1/profiles/elsewhere",
        &[],
        Some(
            &serde_json::json!({"properties": {"trafficRoutingMethod": "Performance", "endpoints": [
                {"name": "x", "type": "externalEndpoints", "properties": {"target": "x.example.com", "endpointLocation": "DC Atlantis"}}
            ]}}),
        ),
    );
    assert_eq!(put.status, 400);
    assert!(
        put.body.to_string().contains("endpointLocation"),
        "{}",
        put.body
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_regions_in_the_settings_stop_the_start_naming_the_field() {
    let dir = temp_dir("regions-bad");
    let settings = dir.join("signpost.toml");
    write(
        &settings,
        "[[regions]]\nname = \"West Europe\"\nlatitude = 52.0\nlongitude = 4.9\n\n[[regions]]\nname = \"edge\"\nlatitude = 120.0\nlongitude = 0.0\n",
    );
    let err = serve_fails(&dir, &["--config", settings.to_str().unwrap()]);
    assert!(
        err.contains("regions[0].name: \"West Europe\" is taken by the built-in region")
            && err.contains("regions[1].latitude: must be -90..=90, got 120"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_geographic_hierarchy_is_azures_tree() {
    let dir = temp_dir("hierarchy");
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    let r = http(s.api, "GET", "/api/v1/geographicHierarchy", &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["id"],
        "/providers/Microsoft.Network/trafficManagerGeographicHierarchies/default"
    );
    assert_eq!(
        r.body["type"],
        "Microsoft.Network/trafficManagerGeographicHierarchies"
    );
    let world = &r.body["properties"]["geographicHierarchy"];
    assert_eq!(
        (&world["code"], &world["name"]),
        (&"WORLD".into(), &"World".into())
    );
    let child = |node: &serde_json::Value, code: &str| {
        node["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("{code} under {}", node["code"]))
    };
    // Azure's published example: GEO-ME > AE, GEO-AP > AU > AU-NSW.
    let me = child(world, "GEO-ME");
    assert_eq!(me["name"], "Middle East");
    assert_eq!(child(&me, "AE")["name"], "United Arab Emirates");
    let au = child(&child(world, "GEO-AP"), "AU");
    assert_eq!(child(&au, "AU-NSW")["name"], "New South Wales");
    assert_eq!(
        child(&child(&child(world, "GEO-NA"), "US"), "US-CA")["name"],
        "California"
    );
    // Every code in the tree is one a profile may map: a Geographic profile mapping all of them
    // across a few endpoints is accepted.
    let mut codes = Vec::new();
    let mut stack = vec![world.clone()];
    while let Some(n) = stack.pop() {
        codes.push(n["code"].as_str().unwrap().to_string());
        stack.extend(n["regions"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(codes.len(), 1 + 8 + 253 + 72);
    let endpoints: Vec<serde_json::Value> = codes
        .chunks(100)
        .enumerate()
        .map(|(i, chunk)| {
            serde_json::json!({"name": format!("e{i}"), "type": "externalEndpoints",
                "properties": {"target": format!("e{i}.example.com"), "geoMapping": chunk}})
        })
        .collect();
    let put = http(
        s.api,
        "PUT",
        "/api/v1/profiles/everywhere",
        &[],
        Some(
            &serde_json::json!({"properties": {"trafficRoutingMethod": "Geographic", "endpoints": endpoints}}),
        ),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_region_still_in_use_cannot_disappear_silently() {
    let dir = temp_dir("regions-removed");
    let settings = dir.join("signpost.toml");
    write(&settings, SETTINGS);
    let s = Server::start(&dir, &["--config", settings.to_str().unwrap()]);
    let put = http(
        s.api,
        "PUT",
        "/api/v1/profiles/fast",
        &[],
        Some(
            &serde_json::json!({"properties": {"trafficRoutingMethod": "Performance", "endpoints": [
                {"name": "lisbon", "type": "externalEndpoints", "properties": {"target": "lisbon.example.com", "endpointLocation": "DC Lisbon"}}
            ]}}),
        ),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    drop(s);
    // Without the region the stored profile is invalid: the start stops, naming the field.
    let err = serve_fails(&dir, &[]);
    assert!(
        err.contains("profiles['fast'].properties.endpoints[0].properties.endpointLocation: must name a known region")
            && err.matches("must name").count() == 1,
        "{err}"
    );
    // Nothing was lost: with the region back, the profile is served.
    let s = Server::start(&dir, &["--config", settings.to_str().unwrap()]);
    assert_eq!(
        http(s.api, "GET", "/api/v1/profiles/fast", &[], None).status,
        200
    );
    let _ = std::fs::remove_dir_all(dir);
}
