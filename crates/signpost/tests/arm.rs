//! Azure Resource Manager's Traffic Manager API over real sockets: every route as the Azure SDK
//! spells it (and as the REST reference does), `api-version`, full ids, resource-group scoping
//! and the 409 clash, tags and location, 200/201/204, ARM's error envelope and codes, the auth
//! codes, and the heat map from real ECS queries counted by Traffic View.

mod common;

use common::{Reply, Server, http, temp_dir};
use domain::base::iana::Rtype;
use serde_json::{Value, json};

const V: &str = "api-version=2026-09-01";
const ADMIN: &str = "arm-admin-token-0123456789";
const READER: &str = "arm-reader-token-0123456789";

fn rg(sub: &str, group: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Network")
}

/// The SDK's spelling of a profile's path.
fn sdk_profile(sub: &str, group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Network/trafficmanagerprofiles/{name}"
    )
}

struct Arm {
    server: Server,
}

impl Arm {
    fn start(tag: &str, args: &[&str]) -> Self {
        let dir = temp_dir(tag);
        let mut all = vec!["--zone", "tm.test"];
        all.extend_from_slice(args);
        let server = Server::start_env(
            &dir,
            &all,
            &[
                ("SIGNPOST_ADMIN_TOKEN", ADMIN),
                ("SIGNPOST_READER_TOKEN", READER),
            ],
        );
        Self { server }
    }

    fn call_as(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let auth = format!("Bearer {token}");
        let sep = if path.contains('?') { '&' } else { '?' };
        http(
            self.server.api,
            method,
            &format!("{path}{sep}{V}"),
            &[("Authorization", &auth)],
            body,
        )
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.call_as(ADMIN, method, path, body)
    }
}

fn performance_profile(relative: &str) -> Value {
    json!({
        "location": "global",
        "tags": {"team": "web", "cost-centre": "42"},
        "properties": {
            "profileStatus": "Enabled",
            "trafficRoutingMethod": "Performance",
            "trafficViewEnrollmentStatus": "Enabled",
            "dnsConfig": {"relativeName": relative, "ttl": 30},
            "monitorConfig": {"protocol": "HTTP", "port": 80, "path": "/"},
            "endpoints": [
                {"name": "us", "type": "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                 "properties": {"target": "127.0.0.1", "endpointLocation": "East US", "alwaysServe": "Enabled"}},
                {"name": "eu", "type": "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                 "properties": {"target": "127.0.0.2", "endpointLocation": "West Europe", "alwaysServe": "Enabled"}}
            ]
        }
    })
}

fn error_code(r: &Reply) -> &str {
    r.body["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn profiles_and_endpoints_in_arm_terms() {
    let arm = Arm::start("arm-routes", &[]);
    let path = sdk_profile("sub-1", "rg-one", "webstore");
    let id = "/subscriptions/sub-1/resourceGroups/rg-one/providers/Microsoft.Network/trafficManagerProfiles/webstore";

    // Create: 201, full ids, tags, location, endpoints' ids below the profile's.
    let r = arm.call("PUT", &path, Some(&performance_profile("webstore")));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["name"], "webstore");
    assert_eq!(r.body["type"], "Microsoft.Network/trafficManagerProfiles");
    assert_eq!(r.body["location"], "global");
    assert_eq!(r.body["tags"], json!({"team": "web", "cost-centre": "42"}));
    assert_eq!(
        r.body["properties"]["dnsConfig"]["fqdn"],
        "webstore.tm.test"
    );
    assert_eq!(
        r.body["properties"]["endpoints"][1]["id"],
        format!("{id}/externalEndpoints/eu")
    );
    assert!(
        r.body.get("signpostArmHome").is_none(),
        "the home is never shown"
    );
    arm.server.eventually("webstore.tm.test", &["A 127.0.0.1"]);

    // Read it back with the REST reference's spelling, any case.
    let r = arm.call(
        "GET",
        "/SUBSCRIPTIONS/sub-1/resourcegroups/rg-one/PROVIDERS/microsoft.network/trafficManagerProfiles/webstore",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], id);

    // Replace (200), location defaults to global.
    let mut replaced = performance_profile("webstore");
    replaced.as_object_mut().unwrap().remove("location");
    replaced["properties"]["dnsConfig"]["ttl"] = json!(60);
    let r = arm.call("PUT", &path, Some(&replaced));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["location"], "global");

    // PATCH the TTL.
    let r = arm.call(
        "PATCH",
        &path,
        Some(&json!({"properties": {"dnsConfig": {"ttl": 15}}})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["properties"]["dnsConfig"]["ttl"], 15);
    common::wait_until("the TTL is served", || {
        arm.server.ttls("webstore.tm.test", Rtype::A) == [15]
    });

    // Endpoints: the SDK's `ExternalEndpoints`.
    let ep = format!("{path}/ExternalEndpoints/asia");
    let body = json!({"properties": {"target": "127.0.0.3", "endpointLocation": "East Asia", "alwaysServe": "Enabled"}});
    let r = arm.call("PUT", &ep, Some(&body));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["id"], format!("{id}/externalEndpoints/asia"));
    assert_eq!(
        r.body["type"],
        "Microsoft.Network/trafficManagerProfiles/externalEndpoints"
    );
    assert_eq!(arm.call("PUT", &ep, Some(&body)).status, 200);
    let r = arm.call("GET", &ep, None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["properties"]["target"], "127.0.0.3");
    let r = arm.call(
        "PATCH",
        &ep,
        Some(
            &json!({"type": "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                     "properties": {"endpointStatus": "Disabled"}}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["properties"]["endpointStatus"], "Disabled");
    let r = arm.call("DELETE", &ep, None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"boolean": true}));
    assert_eq!(arm.call("DELETE", &ep, None).status, 204);
    let r = arm.call("GET", &ep, None);
    assert_eq!((r.status, error_code(&r)), (404, "ResourceNotFound"));
    let r = arm.call("GET", &format!("{path}/otherEndpoints/x"), None);
    assert_eq!((r.status, error_code(&r)), (400, "BadRequest"));
    assert_eq!(r.body["error"]["target"], "endpointType");

    // Nested endpoints show their child as a full id.
    let child = sdk_profile("sub-1", "rg-one", "webstore-child");
    let mut c = performance_profile("webstore-child");
    c["properties"]["trafficViewEnrollmentStatus"] = json!("Disabled");
    assert_eq!(arm.call("PUT", &child, Some(&c)).status, 201);
    let r = arm.call(
        "PUT",
        &format!("{path}/NestedEndpoints/inner"),
        Some(
            &json!({"properties": {"targetResourceId": format!("{id}-child"),
                     "endpointLocation": "North Europe", "minChildEndpoints": 1}}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["properties"]["targetResourceId"],
        format!("{id}-child")
    );
    // A child in another group is named in its own group.
    let far = sdk_profile("sub-1", "rg-far", "far-child");
    let mut f = performance_profile("far-child");
    f["properties"]["trafficViewEnrollmentStatus"] = json!("Disabled");
    assert_eq!(arm.call("PUT", &far, Some(&f)).status, 201);
    let r = arm.call(
        "PUT",
        &format!("{path}/nestedEndpoints/far"),
        Some(&json!({"properties": {"targetResourceId": "far-child",
                     "endpointLocation": "North Europe", "minChildEndpoints": 1}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["properties"]["targetResourceId"],
        "/subscriptions/sub-1/resourceGroups/rg-far/providers/Microsoft.Network/trafficManagerProfiles/far-child"
    );
    let listed = arm.call("GET", &path, None);
    let far_ep = listed.body["properties"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "far")
        .unwrap()
        .clone();
    assert_eq!(
        far_ep["properties"]["targetResourceId"],
        r.body["properties"]["targetResourceId"]
    );
    assert_eq!(
        arm.call("DELETE", &format!("{path}/nestedEndpoints/far"), None)
            .status,
        200
    );
    assert_eq!(arm.call("DELETE", &far, None).status, 200);

    // Lists: by group (the seeded example, created outside ARM, is seen in every group), by
    // subscription; another group or subscription does not see ARM's profiles.
    let names = |r: &Reply| -> Vec<String> {
        r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let r = arm.call(
        "GET",
        &format!("{}/trafficmanagerprofiles", rg("sub-1", "rg-one")),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let listed = names(&r);
    assert!(listed.contains(&"webstore".to_string()) && listed.contains(&"contoso".to_string()));
    let contoso = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "contoso")
        .unwrap();
    assert_eq!(
        contoso["id"],
        "/subscriptions/sub-1/resourceGroups/rg-one/providers/Microsoft.Network/trafficManagerProfiles/contoso"
    );
    let r = arm.call(
        "GET",
        &format!("{}/trafficmanagerprofiles", rg("sub-1", "rg-two")),
        None,
    );
    assert!(!names(&r).contains(&"webstore".to_string()));
    assert!(names(&r).contains(&"contoso".to_string()));
    let r = arm.call(
        "GET",
        "/subscriptions/sub-1/providers/Microsoft.Network/trafficmanagerprofiles",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let webstore = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "webstore")
        .expect("the subscription lists webstore");
    assert_eq!(webstore["id"], id);
    let unhomed = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "contoso")
        .unwrap();
    assert_eq!(
        unhomed["id"],
        "/subscriptions/sub-1/resourceGroups/signpost/providers/Microsoft.Network/trafficManagerProfiles/contoso"
    );
    let r = arm.call(
        "GET",
        "/subscriptions/sub-2/providers/Microsoft.Network/trafficmanagerprofiles",
        None,
    );
    assert!(!names(&r).contains(&"webstore".to_string()));

    // Another group: not found, a PUT of the name is a 409, a DELETE a 204 that deletes nothing.
    let other = sdk_profile("sub-1", "rg-two", "webstore");
    let r = arm.call("GET", &other, None);
    assert_eq!((r.status, error_code(&r)), (404, "ResourceNotFound"));
    let r = arm.call("PUT", &other, Some(&performance_profile("webstore-two")));
    assert_eq!((r.status, error_code(&r)), (409, "Conflict"), "{}", r.text);
    assert_eq!(arm.call("DELETE", &other, None).status, 204);
    assert_eq!(arm.call("GET", &path, None).status, 200);
    // A DNS name another profile has is a 409 too.
    let r = arm.call(
        "PUT",
        &sdk_profile("sub-1", "rg-two", "copy"),
        Some(&performance_profile("webstore")),
    );
    assert_eq!((r.status, error_code(&r)), (409, "Conflict"), "{}", r.text);

    // /api/v1 writes keep the ARM home; /api/v1 never shows it.
    let v1 = http(
        arm.server.api,
        "PATCH",
        "/api/v1/profiles/webstore",
        &[("Authorization", &format!("Bearer {ADMIN}"))],
        Some(&json!({"tags": {"team": "ops"}})),
    );
    assert_eq!(v1.status, 200, "{}", v1.text);
    assert!(v1.body.get("signpostArmHome").is_none());
    assert_eq!(
        v1.body["id"],
        "/providers/Microsoft.Network/trafficManagerProfiles/webstore"
    );
    let r = arm.call("GET", &other, None);
    assert_eq!(r.status, 404, "still in rg-one only");
    let r = arm.call("GET", &path, None);
    assert_eq!(r.body["tags"], json!({"team": "ops", "cost-centre": "42"}));

    // A profile created outside ARM is claimed by the first ARM write.
    let r = arm.call(
        "PATCH",
        &sdk_profile("sub-9", "rg-nine", "contoso"),
        Some(&json!({"tags": {"moved": "yes"}})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = arm.call("GET", &sdk_profile("sub-1", "rg-one", "contoso"), None);
    assert_eq!(r.status, 404, "{}", r.text);

    // Validation errors name the field.
    let mut bad = performance_profile("bad");
    bad["properties"]["dnsConfig"]["ttl"] = json!("soon");
    let r = arm.call("PUT", &sdk_profile("sub-1", "rg-one", "bad"), Some(&bad));
    assert_eq!(
        (r.status, error_code(&r)),
        (400, "BadRequest"),
        "{}",
        r.text
    );
    assert_eq!(r.body["error"]["target"], "properties.dnsConfig.ttl");
    assert_eq!(r.body["error"]["details"][0]["code"], "InvalidResource");
    let r = http(
        arm.server.api,
        "PUT",
        &format!("{}?{V}", sdk_profile("sub-1", "rg-one", "bad")),
        &[
            ("Authorization", &format!("Bearer {ADMIN}")),
            ("Content-Type", "application/json"),
        ],
        None,
    );
    assert_eq!(
        (r.status, error_code(&r)),
        (400, "InvalidRequestContent"),
        "{}",
        r.text
    );

    // Delete twice: 200 then 204.
    assert_eq!(
        arm.call("DELETE", &child, None).status,
        400,
        "webstore nests it"
    );
    assert_eq!(arm.call("DELETE", &path, None).status, 200);
    assert_eq!(arm.call("DELETE", &path, None).status, 204);
    assert_eq!(arm.call("DELETE", &child, None).status, 200);
    arm.server.eventually("webstore.tm.test", &["NXDOMAIN"]);
}

#[test]
fn api_version_errors_and_auth_codes() {
    let arm = Arm::start("arm-conventions", &[]);
    let path = sdk_profile("s", "g", "p");
    let auth = format!("Bearer {ADMIN}");
    let r = http(
        arm.server.api,
        "GET",
        &path,
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(
        (r.status, error_code(&r)),
        (400, "MissingApiVersionParameter")
    );
    let r = http(
        arm.server.api,
        "GET",
        &format!("{path}?api-version=2015-01-01"),
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(
        (r.status, error_code(&r)),
        (400, "InvalidApiVersionParameter")
    );
    let message = r.body["error"]["message"].as_str().unwrap();
    for v in [
        "2017-05-01",
        "2018-02-01",
        "2018-03-01",
        "2018-04-01",
        "2018-08-01",
        "2022-04-01",
        "2026-09-01",
    ] {
        assert!(message.contains(v), "{message}");
        let r = http(
            arm.server.api,
            "GET",
            &format!("{path}?api-version={v}"),
            &[("Authorization", &auth)],
            None,
        );
        assert_eq!((r.status, error_code(&r)), (404, "ResourceNotFound"), "{v}");
        assert!(r.body["error"]["message"].is_string());
    }

    // Tokens: none or unknown is 401 InvalidAuthenticationToken, a reader writing 403.
    let r = http(arm.server.api, "GET", &format!("{path}?{V}"), &[], None);
    assert_eq!(
        (r.status, error_code(&r)),
        (401, "InvalidAuthenticationToken")
    );
    let r = arm.call_as("not-a-token-at-all-0000", "GET", &path, None);
    assert_eq!(
        (r.status, error_code(&r)),
        (401, "InvalidAuthenticationToken")
    );
    let r = arm.call_as(READER, "PUT", &path, Some(&performance_profile("p")));
    assert_eq!((r.status, error_code(&r)), (403, "AuthorizationFailed"));
    assert_eq!(arm.call_as(READER, "GET", &path, None).status, 404);
    // /api/v1 keeps its own codes.
    let r = http(arm.server.api, "GET", "/api/v1/profiles", &[], None);
    assert_eq!((r.status, error_code(&r)), (401, "Unauthorized"));

    // Name availability is a read: a reader may ask, on both paths.
    let req = json!({"name": "contoso", "type": "Microsoft.Network/trafficManagerProfiles"});
    for p in [
        "/providers/Microsoft.Network/checkTrafficManagerNameAvailability".to_string(),
        "/subscriptions/s/providers/Microsoft.Network/checkTrafficManagerNameAvailabilityV2"
            .to_string(),
    ] {
        let r = arm.call_as(READER, "POST", &p, Some(&req));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["nameAvailable"], false);
        assert_eq!(r.body["reason"], "AlreadyExists");
        let r = arm.call_as(READER, "POST", &p, Some(&json!({"name": "free-name"})));
        assert_eq!(r.body["nameAvailable"], true, "{}", r.text);
    }

    // The geographic hierarchy.
    let r = arm.call(
        "GET",
        "/providers/Microsoft.Network/trafficManagerGeographicHierarchies/default",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["properties"]["geographicHierarchy"]["code"], "WORLD");

    // The user metrics key (Real User Measurements), one for the server, kept in the store.
    let key = "/subscriptions/s/providers/Microsoft.Network/trafficManagerUserMetricsKeys/default";
    assert_eq!(arm.call("GET", key, None).status, 404);
    assert_eq!(arm.call_as(READER, "PUT", key, None).status, 403);
    let made = arm.call("PUT", key, None);
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(
        made.body["type"],
        "Microsoft.Network/trafficManagerUserMetricsKeys"
    );
    let k = made.body["properties"]["key"].as_str().unwrap().to_string();
    assert!(k.len() >= 16, "{k}");
    let got = arm.call_as(
        READER,
        "GET",
        "/subscriptions/other/providers/microsoft.network/trafficmanagerusermetricskeys/DEFAULT",
        None,
    );
    assert_eq!(got.body["properties"]["key"], k.as_str());
    let v1 = http(
        arm.server.api,
        "GET",
        "/api/v1/rum/key",
        &[("Authorization", &format!("Bearer {ADMIN}"))],
        None,
    );
    assert!(
        v1.text.contains(&k),
        "the same key as /api/v1/rum/key: {}",
        v1.text
    );
    assert_eq!(arm.call("DELETE", key, None).status, 200);
    assert_eq!(arm.call("DELETE", key, None).status, 204);
    assert_eq!(arm.call("GET", key, None).status, 404);

    // Unknown resource types and methods: ARM's codes, never a retried status.
    let r = arm.call(
        "GET",
        "/subscriptions/s/providers/Microsoft.Compute/virtualMachines",
        None,
    );
    assert_eq!((r.status, error_code(&r)), (404, "InvalidResourceType"));
    let r = arm.call("POST", &path, Some(&json!({})));
    assert_eq!((r.status, error_code(&r)), (405, "HttpMethodNotAllowed"));
    assert_eq!(r.header("allow"), Some("GET, PUT, PATCH, DELETE"));
    // ARM's requests are counted under their route's pattern, as /api/v1's are.
    let metrics = http(
        arm.server.api,
        "GET",
        "/metrics",
        &[("Authorization", &auth)],
        None,
    );
    assert!(
        metrics.text.contains(r#"route="/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/trafficmanagerprofiles/{profileName}",method="GET",status="404""#),
        "{}",
        metrics.text
    );
    // Paths that are neither ARM nor /api/v1 answer as before.
    assert_eq!(
        http(
            arm.server.api,
            "GET",
            "/nothing",
            &[("Authorization", &auth)],
            None
        )
        .status,
        404
    );
}

/// A City-style database: 198.51.100.0/24 in San Francisco, California.
fn database() -> Vec<u8> {
    let mut w = mmdb_writer::Writer::new("Signpost-Test-City");
    let california = json!({"continent": {"code": "NA"}, "country": {"iso_code": "US"},
                            "subdivisions": [{"iso_code": "CA"}],
                            "location": {"latitude": 37.77, "longitude": -122.42}});
    w.insert(
        "198.51.100.0/24".parse::<ipnet::IpNet>().unwrap(),
        &california,
    )
    .unwrap();
    w.to_bytes().unwrap()
}

#[test]
fn heat_map_from_traffic_view() {
    let dir = temp_dir("arm-heat");
    let db = dir.join("geo.mmdb");
    std::fs::write(&db, database()).unwrap();
    let arm = Arm::start("arm-heat-server", &["--geoip", db.to_str().unwrap()]);
    let path = sdk_profile("sub-1", "rg-one", "heat");
    let id = "/subscriptions/sub-1/resourceGroups/rg-one/providers/Microsoft.Network/trafficManagerProfiles/heat";
    let mut p = performance_profile("heat");
    p["properties"]["trafficRoutingMethod"] = json!("Priority");
    let r = arm.call("PUT", &path, Some(&p));
    assert_eq!(r.status, 201, "{}", r.text);
    arm.server.eventually("heat.tm.test", &["A 127.0.0.1"]);
    for _ in 0..3 {
        arm.server.query_ecs("heat.tm.test", "198.51.100.7");
    }
    for _ in 0..2 {
        arm.server.query_ecs("heat.tm.test", "192.0.2.1");
    }

    let r = arm.call("GET", &format!("{path}/heatMaps/default"), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], format!("{id}/heatMaps/default"));
    assert_eq!(r.body["name"], "default");
    assert_eq!(
        r.body["type"],
        "Microsoft.Network/trafficManagerProfiles/heatMaps"
    );
    let props = &r.body["properties"];
    assert!(props["startTime"].as_str().unwrap() < props["endTime"].as_str().unwrap());
    assert_eq!(
        props["endpoints"],
        json!([
            {"resourceId": format!("{id}/externalEndpoints/us"), "endpointId": 0},
            {"resourceId": format!("{id}/externalEndpoints/eu"), "endpointId": 1}
        ])
    );
    let flows = props["trafficFlows"].as_array().unwrap();
    let by_location = |l: &str| flows.iter().find(|f| f["location"] == l).cloned();
    let california = by_location("US-CA").expect("a flow for California");
    assert!(california.get("sourceIp").is_none());
    assert_eq!(
        (&california["latitude"], &california["longitude"]),
        (&json!(37.77), &json!(-122.42))
    );
    assert_eq!(
        california["queryExperiences"],
        json!([{"endpointId": 0, "queryCount": 3}])
    );
    let net = by_location("192.0.2.0/24").expect("a flow for the unplaced network");
    assert_eq!(net["sourceIp"], "192.0.2.0");
    assert!(net.get("latitude").is_none(), "no database point: {net}");
    assert_eq!(
        net["queryExperiences"],
        json!([{"endpointId": 0, "queryCount": 2}])
    );

    // A box selects flows by their point: North America holds California's, and not the
    // network's, which has none; Europe holds neither.
    let in_box = |query: &str| -> Vec<String> {
        let r = arm.call("GET", &format!("{path}/heatMaps/default?{query}"), None);
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["properties"]["trafficFlows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["location"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(in_box("topLeft=60,-130&botRight=20,-60"), ["US-CA"]);
    assert_eq!(
        in_box("topLeft=37.8,-122.5&botRight=37.7,-122.4"),
        ["US-CA"]
    );
    assert!(in_box("topLeft=70,-10&botRight=35,40").is_empty());
    assert!(
        in_box("topLeft=60,-120&botRight=20,-60").is_empty(),
        "west of the box"
    );
    let r = arm.call(
        "GET",
        &format!("{path}/heatMaps/default?topLeft=100,0&botRight=0,0"),
        None,
    );
    assert_eq!((r.status, error_code(&r)), (400, "BadRequest"));
    assert_eq!(r.body["error"]["target"], "topLeft");
    let r = arm.call("GET", &format!("{path}/heatMaps/other"), None);
    assert_eq!(r.status, 400);
    let r = arm.call(
        "GET",
        &format!(
            "{}/heatMaps/default",
            sdk_profile("sub-1", "rg-two", "heat")
        ),
        None,
    );
    assert_eq!((r.status, error_code(&r)), (404, "ResourceNotFound"));
}
