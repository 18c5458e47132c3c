//! Real User Measurements through the real binary: reports posted from one client network (a
//! loopback source address of its own) say West Europe is faster than East US; a Performance
//! query with ECS from that network then gets the West Europe endpoint although distance says
//! East US, and another network is left alone. Bad and unsigned reports are refused and counted.
//! The heat map gives the measured latency to the answering endpoint's region for the flows of
//! measured networks and places, and none where nothing was measured.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{Server, cli, http, stdout, temp_dir, wait_until};
use serde_json::{Value, json};

/// A City-style database placing all of 127.0.0.0/8 in New York: by distance, East US.
fn database() -> Vec<u8> {
    let mut w = mmdb_writer::Writer::new("Signpost-Test-City");
    let new_york = json!({"continent": {"code": "NA"}, "country": {"iso_code": "US"},
                          "location": {"latitude": 40.71, "longitude": -74.0}});
    w.insert("127.0.0.0/8".parse::<ipnet::IpNet>().unwrap(), &new_york)
        .unwrap();
    w.to_bytes().unwrap()
}

/// `POST /api/v1/rum/reports` with `body`, sent from source address `from` (as a browser on
/// that network would): the status and the CORS header.
fn report_from(api: SocketAddr, from: &str, body: &Value) -> (u16, Option<String>) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::new(from.parse().unwrap(), 0).into())
        .unwrap();
    socket.connect(&api.into()).unwrap();
    let mut s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let body = body.to_string();
    // text/plain, as the snippet sends it (no CORS preflight).
    write!(
        s,
        "POST /api/v1/rum/reports HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let cors = raw
        .lines()
        .find_map(|l| l.strip_prefix("access-control-allow-origin: "))
        .map(str::to_string);
    (status, cors)
}

fn report(key: &str, us: u64, eu: u64) -> Value {
    json!({"key": key, "profile": "fast", "measurements": [
        {"endpoint": "us", "latencyMs": us}, {"endpoint": "eu", "latencyMs": eu}]})
}

#[test]
fn measurements_from_a_network_move_its_performance_answers() {
    let dir = temp_dir("rum");
    let db = dir.join("geo.mmdb");
    std::fs::write(&db, database()).unwrap();
    let server = Server::start(
        &dir,
        &["--zone", "tm.test", "--geoip", db.to_str().unwrap()],
    );
    let profile = json!({"properties": {
    "trafficRoutingMethod": "Performance",
    "dnsConfig": {"relativeName": "fast", "ttl": 30},
    "endpoints": [
        {"name": "us", "type": "externalEndpoints", "properties": {
            "target": "127.0.0.1", "endpointLocation": "East US", "alwaysServe": "Enabled"}},
        {"name": "eu", "type": "externalEndpoints", "properties": {
            "target": "127.0.0.2", "endpointLocation": "West Europe", "alwaysServe": "Enabled"}}
    ]}});
    let r = http(
        server.api,
        "PUT",
        "/api/v1/profiles/fast",
        &[],
        Some(&profile),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    wait_until("the profile is served", || {
        server.ask_ecs("fast.tm.test", "127.0.1.9") == ["A 127.0.0.1"]
    });

    // Without a key, RUM is off: every report is refused.
    assert_eq!(
        report_from(server.api, "127.0.1.5", &report("nokey", 90, 20)).0,
        401
    );
    let made = cli(&server, &["rum", "key", "--new"]);
    assert!(made.status.success(), "{}", common::stderr(&made));
    let key = stdout(&made).trim().to_string();
    assert_eq!(key.len(), 32, "{key}");
    assert_eq!(stdout(&cli(&server, &["rum", "key"])).trim(), key);

    // The targets the snippet times, with the key instead of a token.
    let targets = http(
        server.api,
        "GET",
        &format!("/api/v1/rum/targets?key={key}&profile=fast"),
        &[],
        None,
    );
    assert_eq!(targets.status, 200, "{:?}", targets.body);
    assert_eq!(
        targets.body["targets"][1]["url"],
        "https://127.0.0.2/.well-known/signpost-rum"
    );
    assert_eq!(targets.body["targets"][1]["region"], "West Europe");

    // Three reports from 127.0.1.0/24: West Europe is much faster from there.
    for from in ["127.0.1.5", "127.0.1.6", "127.0.1.7"] {
        let (status, cors) = report_from(server.api, from, &report(&key, 90, 20));
        assert_eq!(status, 204);
        assert_eq!(cors.as_deref(), Some("*"), "any origin may post");
    }
    wait_until("the measurements to be used", || {
        server.ask_ecs("fast.tm.test", "127.0.1.200") == ["A 127.0.0.2"]
    });
    // Another network, and the one that reported for the resolver's own address, are left alone.
    assert_eq!(server.ask_ecs("fast.tm.test", "127.0.2.9"), ["A 127.0.0.1"]);
    let (chosen, scope) = common::explain(&server, "fast", "127.0.1.200");
    assert_eq!((chosen.as_str(), scope), ("eu", Some(24)));

    // Bad reports are refused whole, naming what is wrong, and counted.
    assert_eq!(
        report_from(
            server.api,
            "127.0.1.5",
            &report("0".repeat(32).as_str(), 1, 1)
        )
        .0,
        401
    );
    let mut unknown = report(&key, 10, 10);
    unknown["measurements"][0]["endpoint"] = json!("asia");
    assert_eq!(report_from(server.api, "127.0.1.5", &unknown).0, 400);
    assert_eq!(
        report_from(server.api, "127.0.1.5", &report(&key, 0, 10)).0,
        400
    );
    assert_eq!(
        report_from(server.api, "127.0.1.5", &json!({"key": key})).0,
        400
    );
    let metrics = http(server.api, "GET", "/metrics", &[], None).text;
    for (result, n) in [("accepted", 3), ("bad_key", 2), ("bad_report", 3)] {
        let line = format!("signpost_rum_reports_total{{result=\"{result}\"}} {n}");
        assert!(metrics.contains(&line), "{line}\n{metrics}");
    }

    // The key goes: reports are refused; the snippet is served to anyone.
    assert!(cli(&server, &["rum", "key", "--delete"]).status.success());
    assert_eq!(
        report_from(server.api, "127.0.1.5", &report(&key, 90, 20)).0,
        401
    );
    let script = http(server.api, "GET", "/rum.js", &[], None);
    assert_eq!(script.status, 200);
    assert!(script.text.contains("/api/v1/rum/reports"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn with_tokens_the_snippet_and_reports_need_none_but_the_key_does() {
    let dir = temp_dir("rum-auth");
    let server = Server::start_env(
        &dir,
        &["--zone", "tm.test"],
        &[("SIGNPOST_ADMIN_TOKEN", "admin-token-0123456789")],
    );
    assert_eq!(http(server.api, "GET", "/rum.js", &[], None).status, 200);
    assert_eq!(
        http(server.api, "GET", "/api/v1/rum/key", &[], None).status,
        401
    );
    assert_eq!(
        http(server.api, "PUT", "/api/v1/rum/key", &[], None).status,
        401
    );
    let bearer = ("Authorization", "Bearer admin-token-0123456789");
    let made = http(server.api, "PUT", "/api/v1/rum/key", &[bearer], None);
    assert_eq!(made.status, 200);
    let key = made.body["key"].as_str().unwrap().to_string();
    // A report with the key (for a profile of the example) gets past the token check.
    let r = report_from(
        server.api,
        "127.0.0.1",
        &json!({"key": key, "profile": "nope",
        "measurements": [{"endpoint": "x", "latencyMs": 5}]}),
    );
    assert_eq!(r.0, 400, "not 401: the key is the credential");
    let _ = std::fs::remove_dir_all(dir);
}

/// A City-style database placing 127.0.0.0/16 in New York and leaving the rest of 127/8 out.
fn half_database() -> Vec<u8> {
    let mut w = mmdb_writer::Writer::new("Signpost-Test-City");
    let new_york = json!({"continent": {"code": "NA"}, "country": {"iso_code": "US"},
                          "location": {"latitude": 40.71, "longitude": -74.0}});
    w.insert("127.0.0.0/16".parse::<ipnet::IpNet>().unwrap(), &new_york)
        .unwrap();
    w.to_bytes().unwrap()
}

#[test]
fn the_heat_map_gives_measured_latencies_by_network_and_place() {
    let dir = temp_dir("rum-heat");
    let db = dir.join("geo.mmdb");
    std::fs::write(&db, half_database()).unwrap();
    let server = Server::start(
        &dir,
        &["--zone", "tm.test", "--geoip", db.to_str().unwrap()],
    );
    // Priority: every query is answered by "us" (East US), whatever the measurements say.
    let profile = json!({"properties": {
    "trafficRoutingMethod": "Priority",
    "trafficViewEnrollmentStatus": "Enabled",
    "dnsConfig": {"relativeName": "fast", "ttl": 30},
    "endpoints": [
        {"name": "us", "type": "externalEndpoints", "properties": {
            "target": "127.0.0.1", "endpointLocation": "East US", "alwaysServe": "Enabled"}},
        {"name": "eu", "type": "externalEndpoints", "properties": {
            "target": "127.0.0.2", "endpointLocation": "West Europe", "alwaysServe": "Enabled"}}
    ]}});
    let r = http(
        server.api,
        "PUT",
        "/api/v1/profiles/fast",
        &[],
        Some(&profile),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    wait_until("the profile is served", || {
        server.ask_ecs("fast.tm.test", "127.1.0.9") == ["A 127.0.0.1"]
    });
    let made = cli(&server, &["rum", "key", "--new"]);
    assert!(made.status.success(), "{}", common::stderr(&made));
    let key = stdout(&made).trim().to_string();

    // Two networks the database places in the US, one it does not place; one report each from
    // the first two (East US 40 and 80 ms: a mean of 60 for the place), two from the third.
    assert_eq!(
        report_from(server.api, "127.0.1.5", &report(&key, 40, 10)).0,
        204
    );
    assert_eq!(
        report_from(server.api, "127.0.2.5", &report(&key, 80, 10)).0,
        204
    );
    for from in ["127.1.0.5", "127.1.0.6"] {
        assert_eq!(report_from(server.api, from, &report(&key, 30, 10)).0, 204);
    }
    for client in ["127.0.1.200", "127.1.0.200", "127.1.0.201", "127.2.0.9"] {
        assert_eq!(server.ask_ecs("fast.tm.test", client), ["A 127.0.0.1"]);
    }

    let r = http(
        server.api,
        "GET",
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/trafficmanagerprofiles/fast/heatMaps/default?api-version=2022-04-01",
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let flows = r.body["properties"]["trafficFlows"].as_array().unwrap();
    let flow = |l: &str| {
        flows
            .iter()
            .find(|f| f["location"] == l)
            .unwrap_or_else(|| panic!("no flow {l}: {}", r.body))
            .clone()
    };
    // The measured network's own figure, for the endpoint that answered ("us", number 0).
    let net = flow("127.1.0.0/24");
    assert_eq!(net["sourceIp"], "127.1.0.0");
    assert_eq!(net["queryExperiences"][0]["endpointId"], 0);
    assert_eq!(net["queryExperiences"][0]["latency"], 30.0, "{net}");
    // The place's: the mean of its measured networks, each weighted by its reports.
    let us = flow("US");
    assert_eq!(us["queryExperiences"][0]["latency"], 60.0, "{us}");
    assert_eq!(
        (&us["latitude"], &us["longitude"]),
        (&json!(40.71), &json!(-74.0))
    );
    // Nothing measured from there: no latency.
    let quiet = flow("127.2.0.0/24");
    assert_eq!(quiet["queryExperiences"][0]["queryCount"], 1);
    assert!(
        quiet["queryExperiences"][0].get("latency").is_none(),
        "{quiet}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
