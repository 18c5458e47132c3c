//! The REST API over real HTTP against the real binary and a real SQLite file: every route and
//! error status, ETags and concurrent writers, roles, persistence across restarts and `kill -9`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, http, serve_fails, temp_dir};
use domain::base::iana::Rtype;
use serde_json::{Value, json};

fn profile(target: &str) -> Value {
    json!({
        "properties": {
            "trafficRoutingMethod": "Priority",
            "dnsConfig": {"relativeName": "web", "ttl": 30},
            "monitorConfig": {"protocol": "TCP", "port": 9, "intervalInSeconds": 30},
            "endpoints": [
                {"name": "one", "type": "externalEndpoints", "properties": {"target": target, "priority": 1, "alwaysServe": "Enabled"}},
                {"name": "two", "type": "externalEndpoints", "properties": {"target": "two.example.com", "priority": 2, "alwaysServe": "Enabled"}}
            ]
        }
    })
}

/// Asks until the answer matches; returns how long it took.
fn visible(s: &Server, name: &str, want: &[&str]) -> Duration {
    let start = Instant::now();
    loop {
        if s.ask(name, Rtype::A) == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{name}: never became {want:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn profile_lifecycle_with_etags_and_dns_propagation() {
    let dir = temp_dir("api");
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    let api = s.api;
    // The example was seeded into the empty store.
    let list = http(api, "GET", "/api/v1/profiles", &[], None);
    assert_eq!(list.status, 200);
    assert_eq!(list.body["value"].as_array().unwrap().len(), 6);

    let created = http(
        api,
        "PUT",
        "/api/v1/profiles/web",
        &[],
        Some(&profile("one.example.com")),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    let etag = created.header("etag").unwrap().to_string();
    assert_eq!(
        created.body["properties"]["dnsConfig"]["fqdn"],
        "web.tm.test"
    );
    assert_eq!(
        created.body["type"],
        "Microsoft.Network/trafficManagerProfiles"
    );
    let took = visible(&s, "web.tm.test", &["CNAME one.example.com."]);
    assert!(took < Duration::from_millis(500), "{took:?}");

    let got = http(api, "GET", "/api/v1/profiles/WEB", &[], None);
    assert_eq!(got.status, 200);
    assert_eq!(got.header("etag"), Some(etag.as_str()));
    assert_eq!(
        got.body["properties"]["endpoints"][0]["properties"]["endpointMonitorStatus"],
        "Unmonitored"
    );

    // PATCH merges; a stale ETag is refused and changes nothing.
    let patched = http(
        api,
        "PATCH",
        "/api/v1/profiles/web",
        &[("If-Match", &etag)],
        Some(&json!({"properties": {"dnsConfig": {"ttl": 60}}})),
    );
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(patched.body["properties"]["dnsConfig"]["ttl"], 60);
    assert_eq!(
        patched.body["properties"]["endpoints"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "merge keeps the rest"
    );
    let stale = http(
        api,
        "PUT",
        "/api/v1/profiles/web",
        &[("If-Match", &etag)],
        Some(&profile("stale.example.com")),
    );
    assert_eq!(stale.status, 412);
    assert_eq!(stale.body["error"]["code"], "PreconditionFailed");
    let exists = http(
        api,
        "PUT",
        "/api/v1/profiles/web",
        &[("If-None-Match", "*")],
        Some(&profile("x.example.com")),
    );
    assert_eq!(exists.status, 412);
    visible(&s, "web.tm.test", &["CNAME one.example.com."]);

    // On an endpoint, If-None-Match: * creates only: 201 for a new one, 412 for an existing one
    // (whatever the case of its name), which is left as it was.
    let ep = json!({"properties": {"target": "three.example.com", "priority": 3}});
    let made = http(
        api,
        "PUT",
        "/api/v1/profiles/web/externalEndpoints/three",
        &[("If-None-Match", "*")],
        Some(&ep),
    );
    assert_eq!(made.status, 201, "{:?}", made.body);
    for name in ["three", "THREE"] {
        let again = http(
            api,
            "PUT",
            &format!("/api/v1/profiles/web/externalEndpoints/{name}"),
            &[("If-None-Match", "*")],
            Some(&json!({"properties": {"target": "other.example.com", "priority": 4}})),
        );
        assert_eq!(again.status, 412, "{:?}", again.body);
        assert_eq!(again.body["error"]["code"], "PreconditionFailed");
        assert!(
            again.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("already has an endpoint \"three\""),
            "{:?}",
            again.body
        );
    }
    let kept = http(
        api,
        "GET",
        "/api/v1/profiles/web/externalEndpoints/three",
        &[],
        None,
    );
    assert_eq!(kept.body["properties"]["target"], "three.example.com");

    // Read-only fields on input are ignored.
    let mut with_ro = profile("one.example.com");
    with_ro["properties"]["dnsConfig"]["fqdn"] = json!("elsewhere.example");
    with_ro["properties"]["monitorConfig"]["profileMonitorStatus"] = json!("Degraded");
    let r = http(api, "PUT", "/api/v1/profiles/web", &[], Some(&with_ro));
    assert_eq!(r.status, 200);
    assert_eq!(r.body["properties"]["dnsConfig"]["fqdn"], "web.tm.test");

    let deleted = http(api, "DELETE", "/api/v1/profiles/web", &[], None);
    assert_eq!(deleted.status, 204);
    visible(&s, "web.tm.test", &["NXDOMAIN"]);
    assert_eq!(
        http(api, "GET", "/api/v1/profiles/web", &[], None).status,
        404
    );
    assert_eq!(
        http(api, "DELETE", "/api/v1/profiles/web", &[], None).status,
        404
    );
    assert_eq!(http(api, "GET", "/healthz", &[], None).status, 200);
    let doc = http(api, "GET", "/openapi.json", &[], None);
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    assert!(doc.body["paths"]["/api/v1/profiles/{name}"]["put"].is_object());
    assert!(doc.body["components"]["schemas"]["ProfileDoc"].is_object());
}

#[test]
fn invalid_bodies_name_the_field_and_clashes_conflict() {
    let dir = temp_dir("api-invalid");
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    let mut bad = profile("one.example.com");
    bad["properties"]["endpoints"][1]["properties"]["weight"] = json!(0);
    let r = http(s.api, "PUT", "/api/v1/profiles/web", &[], Some(&bad));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["error"]["details"][0]["target"],
        "properties.endpoints[1].properties.weight"
    );
    assert_eq!(
        r.body["error"]["details"][0]["message"],
        "must be 1..=1000, got 0"
    );
    let mut wrong_type = profile("one.example.com");
    wrong_type["properties"]["dnsConfig"]["ttl"] = json!("soon");
    let r = http(s.api, "PUT", "/api/v1/profiles/web", &[], Some(&wrong_type));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["error"]["details"][0]["target"],
        "properties.dnsConfig.ttl"
    );
    // contoso (seeded) already has the DNS name "contoso".
    let mut clash = profile("one.example.com");
    clash["properties"]["dnsConfig"]["relativeName"] = json!("contoso");
    let r = http(s.api, "PUT", "/api/v1/profiles/other", &[], Some(&clash));
    assert_eq!(r.status, 409, "{:?}", r.body);
    // Deleting a profile another one nests is refused, naming the other profile.
    let r = http(s.api, "DELETE", "/api/v1/profiles/contoso", &[], None);
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["details"][0]["target"]
            .as_str()
            .unwrap()
            .starts_with("profiles['shop']"),
        "{:?}",
        r.body
    );
    let avail = http(
        s.api,
        "POST",
        "/api/v1/checkTrafficManagerNameAvailability",
        &[],
        Some(&json!({"name": "contoso", "type": "Microsoft.Network/trafficManagerProfiles"})),
    );
    assert_eq!(avail.body["nameAvailable"], false);
    assert_eq!(avail.body["reason"], "AlreadyExists");
    let avail = http(
        s.api,
        "POST",
        "/api/v1/checkTrafficManagerNameAvailability",
        &[],
        Some(&json!({"name": "fresh-name"})),
    );
    assert_eq!(avail.body["nameAvailable"], true);
}

#[test]
fn endpoints_status_and_explain() {
    let dir = temp_dir("api-endpoints");
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    let api = s.api;
    assert_eq!(
        http(
            api,
            "PUT",
            "/api/v1/profiles/web",
            &[],
            Some(&profile("one.example.com"))
        )
        .status,
        201
    );
    let disable = http(
        api,
        "PATCH",
        "/api/v1/profiles/web/externalEndpoints/one",
        &[],
        Some(&json!({"properties": {"endpointStatus": "Disabled"}})),
    );
    assert_eq!(disable.status, 200, "{:?}", disable.body);
    assert_eq!(disable.body["properties"]["endpointStatus"], "Disabled");
    visible(&s, "web.tm.test", &["CNAME two.example.com."]);
    let added = http(
        api,
        "PUT",
        "/api/v1/profiles/web/externalEndpoints/three",
        &[],
        Some(&json!({"properties": {"target": "three.example.com", "priority": 3}})),
    );
    assert_eq!(added.status, 201, "{:?}", added.body);
    assert_eq!(
        added.body["type"],
        "Microsoft.Network/trafficManagerProfiles/externalEndpoints"
    );
    let got = http(
        api,
        "GET",
        "/api/v1/profiles/web/ExternalEndpoints/three",
        &[],
        None,
    );
    assert_eq!(got.status, 200);
    assert_eq!(
        http(
            api,
            "GET",
            "/api/v1/profiles/web/nestedEndpoints/three",
            &[],
            None
        )
        .status,
        404
    );
    assert_eq!(
        http(
            api,
            "GET",
            "/api/v1/profiles/web/bogusEndpoints/three",
            &[],
            None
        )
        .status,
        404
    );
    assert_eq!(
        http(
            api,
            "DELETE",
            "/api/v1/profiles/web/externalEndpoints/three",
            &[],
            None
        )
        .status,
        204
    );
    assert_eq!(
        http(
            api,
            "GET",
            "/api/v1/profiles/web/externalEndpoints/three",
            &[],
            None
        )
        .status,
        404
    );

    let st = http(api, "GET", "/api/v1/profiles/web/status", &[], None);
    assert_eq!(st.status, 200);
    assert_eq!(st.body["endpoints"][0]["endpointMonitorStatus"], "Disabled");
    assert_eq!(
        st.body["endpoints"][1]["endpointMonitorStatus"],
        "Unmonitored"
    );
    let ex = http(
        api,
        "GET",
        "/api/v1/profiles/web/explain?clientIp=192.0.2.1&type=A",
        &[],
        None,
    );
    assert_eq!(ex.status, 200);
    assert_eq!(ex.body["outcome"], "ANSWER");
    assert_eq!(ex.body["answer"][0]["endpoint"], "two");
    assert!(
        ex.body["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("skipped: Disabled")),
        "{:?}",
        ex.body
    );
    // The same steps as values.
    let trace = ex.body["trace"].as_array().unwrap();
    assert_eq!(trace.len(), ex.body["steps"].as_array().unwrap().len());
    assert_eq!(trace[0]["kind"], "profile");
    assert_eq!(trace[0]["method"], "Priority");
    assert!(
        trace.iter().any(|s| s["kind"] == "prioritySkipped"
            && s["endpoint"] == "one"
            && s["status"] == "Disabled"),
        "{trace:?}"
    );
    let last = trace.last().unwrap();
    assert_eq!(last["kind"], "answer");
    assert_eq!(last["endpoint"], "two");
    assert_eq!(
        http(
            api,
            "GET",
            "/api/v1/profiles/web/explain?clientIp=nope",
            &[],
            None
        )
        .status,
        400
    );
    assert_eq!(
        http(api, "GET", "/api/v1/profiles/nothere/status", &[], None).status,
        404
    );
}

#[test]
fn two_writers_with_the_same_etag_never_both_win() {
    let dir = temp_dir("api-race");
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    let api = s.api;
    let etag = http(
        api,
        "PUT",
        "/api/v1/profiles/web",
        &[],
        Some(&profile("one.example.com")),
    )
    .header("etag")
    .unwrap()
    .to_string();
    let results = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = ["alpha", "beta"]
        .into_iter()
        .map(|who| {
            let etag = etag.clone();
            let results = results.clone();
            std::thread::spawn(move || {
                let r = http(
                    api,
                    "PUT",
                    "/api/v1/profiles/web",
                    &[("If-Match", &etag)],
                    Some(&profile(&format!("{who}.example.com"))),
                );
                results.lock().unwrap().push((who, r.status));
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let mut statuses: Vec<u16> = results.lock().unwrap().iter().map(|(_, s)| *s).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 412]);
    let winner = results
        .lock()
        .unwrap()
        .iter()
        .find(|(_, s)| *s == 200)
        .unwrap()
        .0;
    let got = http(api, "GET", "/api/v1/profiles/web", &[], None);
    assert_eq!(
        got.body["properties"]["endpoints"][0]["properties"]["target"],
        format!("{winner}.example.com")
    );
}

#[test]
fn tokens_and_roles() {
    let dir = temp_dir("api-auth");
    let admin = "admin-token-0123456789";
    let reader = "reader-token-0123456789";
    let s = Server::start_env(
        &dir,
        &["--zone", "tm.test"],
        &[
            ("SIGNPOST_ADMIN_TOKEN", admin),
            ("SIGNPOST_READER_TOKEN", reader),
        ],
    );
    let bearer = |t: &str| format!("Bearer {t}");
    assert_eq!(
        http(s.api, "GET", "/api/v1/profiles", &[], None).status,
        401
    );
    assert_eq!(
        http(
            s.api,
            "GET",
            "/api/v1/profiles",
            &[("Authorization", &bearer("wrong-token-0123456789"))],
            None
        )
        .status,
        401
    );
    assert_eq!(
        http(
            s.api,
            "GET",
            "/api/v1/profiles",
            &[("Authorization", &bearer(reader))],
            None
        )
        .status,
        200
    );
    let r = http(
        s.api,
        "PUT",
        "/api/v1/profiles/web",
        &[("Authorization", &bearer(reader))],
        Some(&profile("one.example.com")),
    );
    assert_eq!(r.status, 403);
    let r = http(
        s.api,
        "PUT",
        "/api/v1/profiles/web",
        &[("Authorization", &bearer(admin))],
        Some(&profile("one.example.com")),
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        http(s.api, "GET", "/healthz", &[], None).status,
        200,
        "health checks need no token"
    );
    // Without a token the API may only listen on loopback.
    let err = serve_fails(&dir, &["--api-listen", "0.0.0.0:0"]);
    assert!(err.contains("not a loopback address"), "{err}");
}

#[test]
fn acknowledged_writes_survive_restart_and_kill_9() {
    let dir = temp_dir("api-kill");
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    let api = s.api;
    // A stream of writes; kill -9 in the middle of it.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let acked = acked.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            for i in 0.. {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let mut p = profile(&format!("t{i}.example.com"));
                p["properties"]["dnsConfig"]["relativeName"] = json!(format!("p{i}"));
                // Any failure (connection refused or reset once the server is dead) ends the stream.
                let ok = std::panic::catch_unwind(|| {
                    http(api, "PUT", &format!("/api/v1/profiles/p{i}"), &[], Some(&p)).status
                });
                match ok {
                    Ok(201) => acked.lock().unwrap().push(i),
                    _ => break,
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    drop(s); // SIGKILL
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = writer.join();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 3, "only {} writes acknowledged", acked.len());
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    for i in &acked {
        let r = http(s.api, "GET", &format!("/api/v1/profiles/p{i}"), &[], None);
        assert_eq!(r.status, 200, "acknowledged write p{i} lost");
        assert_eq!(
            s.ask(&format!("p{i}.tm.test"), Rtype::A),
            vec![format!("CNAME t{i}.example.com.")]
        );
    }
    eprintln!(
        "{} acknowledged writes before kill -9, all present after restart",
        acked.len()
    );
}

/// `POST /api/v1/apply`: a whole file in one transaction, parents before their children in the
/// body, all or nothing, dry runs and pruning.
#[test]
fn bulk_apply_is_one_transaction() {
    let dir = temp_dir("api-apply");
    let s = Server::start(&dir, &["--zone", "tm.test"]);
    let apply = |query: &str, body: Value| {
        http(
            s.api,
            "POST",
            &format!("/api/v1/apply{query}"),
            &[],
            Some(&body),
        )
    };
    let parent = json!({"name": "parent", "properties": {"trafficRoutingMethod": "Priority",
        "endpoints": [{"name": "to-child", "type": "nestedEndpoints", "properties": {"targetResourceId": "child"}}]}});
    let child = json!({"name": "child", "properties": {"trafficRoutingMethod": "Priority",
        "endpoints": [{"name": "a", "type": "externalEndpoints", "properties": {"target": "a.example.com", "alwaysServe": "Enabled"}}]}});
    let broken = json!({"name": "broken", "properties": {"trafficRoutingMethod": "Sideways"}});

    // `{}` is not "no profiles": with prune it would delete everything.
    let r = apply("?prune=true", json!({}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.to_string().contains("profiles"), "{}", r.body);
    // One bad profile: nothing is applied, and the error names it by position.
    let r = apply("", json!({"profiles": [parent, child, broken]}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .to_string()
            .contains("profiles[2].properties.trafficRoutingMethod"),
        "{}",
        r.body
    );
    assert_eq!(
        http(s.api, "GET", "/api/v1/profiles/parent", &[], None).status,
        404
    );
    // A dry run reports and changes nothing.
    let r = apply("?dryRun=true", json!({"profiles": [parent, child]}));
    assert_eq!(
        (r.status, &r.body["created"]),
        (200, &json!(["parent", "child"])),
        "{}",
        r.body
    );
    assert_eq!(
        http(s.api, "GET", "/api/v1/profiles/child", &[], None).status,
        404
    );
    // The parent may come before the child it nests.
    let r = apply("", json!({"profiles": [parent, child]}));
    assert_eq!(
        (r.status, &r.body["created"]),
        (200, &json!(["parent", "child"])),
        "{}",
        r.body
    );
    s.eventually("parent.tm.test", &["CNAME a.example.com."]);
    let r = apply("", json!({"profiles": [parent, child]}));
    assert_eq!(
        r.body["updated"],
        json!([]),
        "the same file again changes nothing"
    );
    // Pruning removes the seeded example profiles the file does not hold.
    let r = apply("?prune=true", json!({"profiles": [parent, child]}));
    assert!(
        r.body["deleted"]
            .as_array()
            .is_some_and(|d| d.iter().any(|n| n == "contoso")),
        "{}",
        r.body
    );
    s.eventually("contoso.tm.test", &["NXDOMAIN"]);
    let _ = std::fs::remove_dir_all(dir);
}
