//! `--geoip`: the real binary places clients with a database the test writes, and picks up a
//! replaced database without a restart.

mod common;

use std::collections::BTreeMap;

use common::{Server, explain, serve_fails, temp_dir, wait_until, write};

/// A one-network database: `net` is in `country` (continent `continent`).
fn database(net: &str, country: &str, continent: &str) -> Vec<u8> {
    let mut w = mmdb_writer::Writer::new("Signpost-Test-Country");
    let mut record = BTreeMap::new();
    record.insert(
        "country",
        BTreeMap::from([("iso_code", country.to_string())]),
    );
    record.insert(
        "continent",
        BTreeMap::from([("code", continent.to_string())]),
    );
    w.insert(net.parse::<ipnet::IpNet>().unwrap(), &record)
        .unwrap();
    w.to_bytes().unwrap()
}

const PROFILES: &str = "profiles:\n  - name: shop\n    properties:\n      trafficRoutingMethod: Geographic\n      endpoints:\n        - { name: de, type: externalEndpoints, properties: { target: de.example.com, geoMapping: [DE] } }\n        - { name: europe, type: externalEndpoints, properties: { target: eu.example.com, geoMapping: [GEO-EU] } }\n        - { name: world, type: externalEndpoints, properties: { target: world.example.com, geoMapping: [WORLD] } }\n";

fn explained(s: &Server, client: &str) -> String {
    explain(s, "shop", client).0
}

#[test]
fn geoip_places_clients_and_reloads() {
    let dir = temp_dir("geoip");
    let db = dir.join("geo.mmdb");
    std::fs::write(&db, database("203.0.113.0/24", "DE", "EU")).unwrap();
    let profiles = dir.join("profiles.yaml");
    write(&profiles, PROFILES);
    let s = Server::start(
        &dir,
        &[
            "--zone",
            "tm.test",
            "--profiles",
            profiles.to_str().unwrap(),
            "--geoip",
            db.to_str().unwrap(),
        ],
    );
    assert_eq!(explained(&s, "203.0.113.5"), "de");
    assert_eq!(explained(&s, "198.51.100.5"), "world");
    // The database is replaced: the same network is now in France (Europe, no FR endpoint).
    let tmp = dir.join("geo.mmdb.new");
    std::fs::write(&tmp, database("203.0.113.0/24", "FR", "EU")).unwrap();
    std::fs::rename(&tmp, &db).unwrap();
    wait_until("the new database being picked up", || {
        explained(&s, "203.0.113.5") == "europe"
    });
    s.wait_log("GeoIP database reloaded");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_database_stops_the_start_with_a_clear_error() {
    let dir = temp_dir("geoip-bad");
    let db = dir.join("geo.mmdb");
    std::fs::write(&db, b"not a database").unwrap();
    let err = serve_fails(&dir, &["--geoip", db.to_str().unwrap()]);
    assert!(err.contains("GeoIP database"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

const PERFORMANCE: &str = "profiles:\n  - name: fast\n    properties:\n      trafficRoutingMethod: Performance\n      endpoints:\n        - { name: us, type: externalEndpoints, properties: { target: us.example.com, endpointLocation: East US } }\n        - { name: eu, type: externalEndpoints, properties: { target: eu.example.com, endpointLocation: West Europe } }\n";

#[test]
fn a_latency_table_ranks_regions_and_reloads() {
    let dir = temp_dir("latency");
    let table = dir.join("latency.csv");
    std::fs::write(
        &table,
        "203.0.113.0/24,West Europe,9\n203.0.113.0/24,East US,90\n",
    )
    .unwrap();
    let profiles = dir.join("profiles.yaml");
    write(&profiles, PERFORMANCE);
    let s = Server::start(
        &dir,
        &[
            "--zone",
            "tm.test",
            "--profiles",
            profiles.to_str().unwrap(),
            "--latency-table",
            table.to_str().unwrap(),
        ],
    );
    let pick = |client: &str| explain(&s, "fast", client);
    assert_eq!(pick("203.0.113.7"), ("eu".to_string(), Some(24)));
    // The table changes: East US is now the fast one.
    std::fs::write(
        &table,
        "203.0.113.0/24,West Europe,90\n203.0.113.0/24,East US,9\n# changed\n",
    )
    .unwrap();
    wait_until("the new table being picked up", || {
        pick("203.0.113.7").0 == "us"
    });
    // A broken table is rejected and the previous one stays.
    std::fs::write(&table, "203.0.113.0/24,Atlantis,1\n").unwrap();
    s.wait_log("latency table rejected");
    assert_eq!(pick("203.0.113.7").0, "us");
    let _ = std::fs::remove_dir_all(dir);
}
