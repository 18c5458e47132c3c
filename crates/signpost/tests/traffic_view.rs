//! Traffic View over real sockets: ECS queries from subnets a test GeoIP database places are
//! counted under their subdivision or country, unplaced ones under their /24, by the endpoint
//! that answered, with the point a City record gives (none from a record without one); profiles
//! not enrolled are not counted; bad windows are refused.

mod common;

use common::{Server, http, temp_dir};
use domain::base::iana::Rtype;
use serde_json::{Value, json};

/// A City-style database: 198.51.100.0/24 in San Francisco, California; 203.0.113.0/24 in
/// Germany, without a point (as a Country database has none).
fn database() -> Vec<u8> {
    let mut w = mmdb_writer::Writer::new("Signpost-Test-City");
    let california = json!({"continent": {"code": "NA"}, "country": {"iso_code": "US"},
                            "subdivisions": [{"iso_code": "CA"}],
                            "location": {"latitude": 37.77, "longitude": -122.42}});
    let germany = json!({"continent": {"code": "EU"}, "country": {"iso_code": "DE"}});
    w.insert(
        "198.51.100.0/24".parse::<ipnet::IpNet>().unwrap(),
        &california,
    )
    .unwrap();
    w.insert("203.0.113.0/24".parse::<ipnet::IpNet>().unwrap(), &germany)
        .unwrap();
    w.to_bytes().unwrap()
}

fn profile(relative: &str, enrolled: &str) -> Value {
    json!({"properties": {
        "trafficRoutingMethod": "Priority",
        "trafficViewEnrollmentStatus": enrolled,
        "dnsConfig": {"relativeName": relative, "ttl": 30},
        "endpoints": [{"name": "main", "type": "externalEndpoints",
                       "properties": {"target": "127.0.0.1", "alwaysServe": "Enabled"}}]
    }})
}

fn rows(view: &Value, key: &str) -> Vec<(String, String, u64)> {
    view[key]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|r| {
            (
                r["location"].as_str().unwrap().to_string(),
                r["endpoint"].as_str().unwrap().to_string(),
                r["queries"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn queries_are_counted_by_location_and_endpoint() {
    let dir = temp_dir("traffic-view");
    let db = dir.join("geo.mmdb");
    std::fs::write(&db, database()).unwrap();
    let server = Server::start(
        &dir,
        &["--zone", "tm.test", "--geoip", db.to_str().unwrap()],
    );
    for (name, enrolled) in [("visits", "Enabled"), ("hushed", "Disabled")] {
        let r = http(
            server.api,
            "PUT",
            &format!("/api/v1/profiles/{name}"),
            &[],
            Some(&profile(name, enrolled)),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    common::wait_until("both profiles are served", || {
        server.ask("visits.tm.test", Rtype::A) == ["A 127.0.0.1"]
            && server.ask("hushed.tm.test", Rtype::A) == ["A 127.0.0.1"]
    });

    for _ in 0..3 {
        server.query_ecs("visits.tm.test", "198.51.100.7");
    }
    for _ in 0..2 {
        server.query_ecs("visits.tm.test", "203.0.113.9");
    }
    server.query_ecs("visits.tm.test", "192.0.2.1"); // not in the database
    server.query_ecs("hushed.tm.test", "198.51.100.7");

    let view = http(
        server.api,
        "GET",
        "/api/v1/profiles/visits/trafficView",
        &[],
        None,
    );
    assert_eq!(view.status, 200, "{:?}", view.body);
    assert_eq!(view.body["trafficViewEnrollmentStatus"], "Enabled");
    assert_eq!(view.body["bucketSeconds"], 60);
    let m = |l: &str, n| (l.to_string(), "main".to_string(), n);
    // The ask_from of `wait_until` above had no ECS: it came from 127.0.0.1.
    let totals: Vec<_> = rows(&view.body, "totals")
        .into_iter()
        .filter(|(l, _, _)| l != "127.0.0.0/24")
        .collect();
    assert_eq!(
        totals,
        [m("US-CA", 3), m("DE", 2), m("192.0.2.0/24", 1)],
        "{}",
        view.body
    );
    // Where the database put the clients: a point for California, none for Germany or a network.
    let point = |l: &str| {
        let r = view.body["totals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["location"] == l)
            .unwrap();
        (r.get("latitude").cloned(), r.get("longitude").cloned())
    };
    assert_eq!(point("US-CA"), (Some(json!(37.77)), Some(json!(-122.42))));
    assert_eq!(point("DE"), (None, None));
    assert_eq!(point("192.0.2.0/24"), (None, None));
    assert!(
        view.body["buckets"][0]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["location"] == "US-CA" && r["latitude"] == 37.77),
        "bucket rows carry the point too: {}",
        view.body
    );
    let in_buckets: u64 = view.body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| rows(b, "rows"))
        .filter(|(l, _, _)| l != "127.0.0.0/24")
        .map(|(_, _, n)| n)
        .sum();
    assert_eq!(in_buckets, 6, "the buckets hold the same queries");

    let quiet = http(
        server.api,
        "GET",
        "/api/v1/profiles/hushed/trafficView",
        &[],
        None,
    );
    assert_eq!(quiet.status, 200);
    assert_eq!(quiet.body["trafficViewEnrollmentStatus"], "Disabled");
    assert!(rows(&quiet.body, "totals").is_empty(), "{}", quiet.body);

    // A window in the past holds nothing; bad windows are refused, naming the parameter.
    let old = http(
        server.api,
        "GET",
        "/api/v1/profiles/visits/trafficView?since=2020-01-01T00:00:00Z&until=2020-01-01T01:00:00Z",
        &[],
        None,
    );
    assert_eq!(old.status, 200);
    assert!(rows(&old.body, "totals").is_empty());
    for (query, field) in [
        ("since=yesterday", "since"),
        (
            "since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z",
            "since",
        ),
        ("until=12", "until"),
    ] {
        let r = http(
            server.api,
            "GET",
            &format!("/api/v1/profiles/visits/trafficView?{query}"),
            &[],
            None,
        );
        assert_eq!(r.status, 400, "{query}");
        assert!(r.body.to_string().contains(field), "{query}: {}", r.body);
    }
    let missing = http(
        server.api,
        "GET",
        "/api/v1/profiles/nope/trafficView",
        &[],
        None,
    );
    assert_eq!(missing.status, 404);
}
