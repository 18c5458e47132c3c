//! Health-aware TTL: with `dnsConfig.degradedTtl`, answers carry the smaller TTL while an endpoint
//! of the profile is Degraded (or still being checked), and the profile's own TTL once every
//! endpoint is healthy again. A real TCP endpoint is closed, then opened.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{Server, http, temp_dir};
use domain::base::iana::Rtype;

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 15 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn answers_carry_the_degraded_ttl_while_an_endpoint_is_down() {
    // A port that is closed now and can be opened later.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = temp_dir("degraded-ttl");
    let server = Server::start(&dir, &["--zone", "tm.test"]);
    let profile = serde_json::json!({
        "properties": {
            "trafficRoutingMethod": "MultiValue",
            "maxReturn": 2,
            "dnsConfig": {"relativeName": "web", "ttl": 300, "degradedTtl": 5},
            "monitorConfig": {"protocol": "TCP", "port": port, "intervalInSeconds": 1,
                              "timeoutInSeconds": 1, "toleratedNumberOfFailures": 0},
            "endpoints": [
                {"name": "probed", "type": "externalEndpoints", "properties": {"target": "127.0.0.1"}},
                {"name": "steady", "type": "externalEndpoints",
                 "properties": {"target": "127.0.0.2", "alwaysServe": "Enabled"}}
            ]
        }
    });
    let r = http(
        server.api,
        "PUT",
        "/api/v1/profiles/web",
        &[],
        Some(&profile),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        r.body["properties"]["dnsConfig"]["degradedTtl"], 5,
        "the field round-trips"
    );

    // Nothing listens: the probed endpoint goes Degraded, and every answer carries 5 s.
    eventually("the degraded TTL", || {
        server.ttls("web.tm.test", Rtype::A) == [5]
    });
    let status = http(server.api, "GET", "/api/v1/profiles/web/status", &[], None);
    assert_eq!(
        status.body["endpoints"][0]["endpointMonitorStatus"],
        "Degraded"
    );

    // The endpoint comes up: Online, and answers carry the profile's TTL again.
    let _listener = TcpListener::bind(("127.0.0.1", port)).expect("the port is still free");
    eventually("the profile's TTL once healthy", || {
        let t = server.ttls("web.tm.test", Rtype::A);
        t.len() == 2 && t.iter().all(|&t| t == 300)
    });

    // The field is validated like the TTL.
    let mut bad = profile.clone();
    bad["properties"]["dnsConfig"]["degradedTtl"] = serde_json::json!(-1);
    let r = http(server.api, "PUT", "/api/v1/profiles/web", &[], Some(&bad));
    assert_eq!(r.status, 400);
    assert!(
        r.body.to_string().contains("dnsConfig.degradedTtl"),
        "the error names the field: {}",
        r.body
    );
}
