//! One test per validation rule of `validate.rs` and `set.rs` (every `errs.push` is a rule), plus
//! valid profiles of every routing method, defaults, Azure spellings, and loading files.
//!
//! Each rule test builds an otherwise valid document, breaks one field, and checks the exact field
//! path and that the rule text names the offending value.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use signpost_model::azure::ProfileDoc;
use signpost_model::set::{MAX_NESTING_DEPTH, parse_profiles_file};
use signpost_model::{
    AllowedRecordTypes, EndpointKind, EndpointTarget, IpRange, Limits, LoadError, MonitorProtocol,
    Profile, ProfileSet, RoutingMethod, StatusCodeRange, ValidationError, validate,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn doc(v: Value) -> ProfileDoc {
    serde_json::from_value(v).expect("document deserializes into ProfileDoc")
}

fn check(v: Value) -> Result<Profile, ValidationError> {
    validate::profile(&doc(v), &Limits::default())
}

#[track_caller]
fn valid(v: Value) -> Profile {
    check(v).unwrap_or_else(|e| panic!("expected a valid profile, got: {e}"))
}

#[track_caller]
fn invalid(v: Value) -> ValidationError {
    match check(v) {
        Ok(p) => panic!("expected a validation error, got a profile: {p:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn set(docs: Vec<Value>) -> Result<ProfileSet, ValidationError> {
    let docs: Vec<ProfileDoc> = docs.into_iter().map(doc).collect();
    ProfileSet::from_docs(&docs, &Limits::default())
}

#[track_caller]
fn set_err(docs: Vec<Value>) -> ValidationError {
    match set(docs) {
        Ok(s) => panic!("expected the set to be rejected, got {:?}", s.profiles()),
        Err(e) => e,
    }
}

/// Asserts that some error sits at exactly `path` and that its rule mentions every needle.
#[track_caller]
fn rule_at(e: &ValidationError, path: &str, needles: &[&str]) {
    assert!(e.has(path), "no error at {path}; errors: {e}");
    assert!(
        e.errors
            .iter()
            .any(|f| f.path == path && needles.iter().all(|n| f.rule.contains(n))),
        "no rule at {path} mentions all of {needles:?}; errors: {e}"
    );
}

/// Asserts that the error holds exactly one broken rule, at `path`, mentioning every needle.
#[track_caller]
fn only(e: &ValidationError, path: &str, needles: &[&str]) {
    assert_eq!(
        e.errors.len(),
        1,
        "expected one error at {path}; errors: {e}"
    );
    rule_at(e, path, needles);
}

/// `v` with the value at JSON pointer `pointer` replaced (objects are created on the way).
fn with(mut v: Value, pointer: &str, value: Value) -> Value {
    let mut cur = &mut v;
    for key in pointer.split('/').skip(1) {
        cur = match cur {
            Value::Array(items) => &mut items[key.parse::<usize>().expect("array index")],
            other => {
                if other.is_null() {
                    *other = json!({});
                }
                other
                    .as_object_mut()
                    .expect("object on the pointer's way")
                    .entry(key)
                    .or_insert(Value::Null)
            }
        };
    }
    *cur = value;
    v
}

/// A profile document with the given method and endpoints (relative name given, so that a bad
/// `name` breaks one rule only).
fn profile(name: &str, method: &str, endpoints: Value) -> Value {
    json!({
        "name": name,
        "type": "Microsoft.Network/trafficManagerProfiles",
        "properties": {
            "trafficRoutingMethod": method,
            "dnsConfig": { "relativeName": name.to_ascii_lowercase() },
            "endpoints": endpoints,
        }
    })
}

fn ext(name: &str, target: &str) -> Value {
    json!({ "name": name, "type": "externalEndpoints", "properties": { "target": target } })
}

fn nested(name: &str, child: &str) -> Value {
    json!({ "name": name, "type": "nestedEndpoints", "properties": { "targetResourceId": child } })
}

/// A valid Priority profile with two DNS-name endpoints.
fn priority() -> Value {
    profile(
        "p",
        "Priority",
        json!([ext("a", "a.example.com"), ext("b", "b.example.com")]),
    )
}

/// A valid Priority profile with one external endpoint (for endpoint-level rules).
fn one_endpoint() -> Value {
    profile("p", "Priority", json!([ext("e", "e.example.com")]))
}

/// A valid Priority profile with one nested endpoint (validated alone, so the child need not exist).
fn one_nested() -> Value {
    profile("p", "Priority", json!([nested("n", "child")]))
}

fn headers(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({ "name": format!("X-H{i}"), "value": "v" }))
            .collect(),
    )
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

// ---------------------------------------------------------------------------------------------
// validate.rs: profile-level rules
// ---------------------------------------------------------------------------------------------

#[test]
fn rule_name_is_required() {
    let v = priority();
    let mut v = v;
    v.as_object_mut().unwrap().remove("name");
    only(&invalid(v), "name", &["is required"]);
}

#[test]
fn rule_name_must_be_a_resource_name() {
    for bad in ["-p", "p-", "p_q", "p q", "", &"p".repeat(64)] {
        let e = invalid(with(priority(), "/name", json!(bad)));
        only(&e, "name", &["1-63 letters", &format!("{bad:?}")]);
    }
    for good in ["p", "P-1.example", &"p".repeat(63)] {
        valid(with(priority(), "/name", json!(good)));
    }
}

#[test]
fn rule_type_must_be_traffic_manager_profiles() {
    let e = invalid(with(
        priority(),
        "/type",
        json!("Microsoft.Network/dnszones"),
    ));
    only(
        &e,
        "type",
        &[
            "must be Microsoft.Network/trafficManagerProfiles",
            "\"Microsoft.Network/dnszones\"",
        ],
    );
    valid(with(
        priority(),
        "/type",
        json!("microsoft.network/TRAFFICMANAGERPROFILES"),
    ));
}

#[test]
fn rule_traffic_routing_method_is_required() {
    let mut v = priority();
    v["properties"]
        .as_object_mut()
        .unwrap()
        .remove("trafficRoutingMethod");
    only(
        &invalid(v),
        "properties.trafficRoutingMethod",
        &["is required"],
    );
}

#[test]
fn rule_traffic_routing_method_must_be_known() {
    let e = invalid(with(
        priority(),
        "/properties/trafficRoutingMethod",
        json!("RoundRobin"),
    ));
    only(
        &e,
        "properties.trafficRoutingMethod",
        &["Priority, Weighted", "\"RoundRobin\""],
    );
    let p = valid(with(
        priority(),
        "/properties/trafficRoutingMethod",
        json!("wEIGHTED"),
    ));
    assert_eq!(p.routing_method, RoutingMethod::Weighted);
}

#[test]
fn rule_relative_name_must_be_dns_labels() {
    for (given, shown) in [
        ("-p", "-p"),
        ("p-", "p-"),
        ("a..b", "a..b"),
        ("a b", "a b"),
        ("Bad_Name", "bad_name"),
        ("", ""),
    ] {
        let e = invalid(with(
            priority(),
            "/properties/dnsConfig/relativeName",
            json!(given),
        ));
        only(
            &e,
            "properties.dnsConfig.relativeName",
            &["letters, digits or hyphens", &format!("{shown:?}")],
        );
    }
    let long = "a".repeat(64);
    let e = invalid(with(
        priority(),
        "/properties/dnsConfig/relativeName",
        json!(long),
    ));
    only(&e, "properties.dnsConfig.relativeName", &[&long]);
    // Several labels, upper case and a trailing dot are fine (stored lower-case, without the dot).
    let p = valid(with(
        priority(),
        "/properties/dnsConfig/relativeName",
        json!("Shop.EU."),
    ));
    assert_eq!(p.relative_name, "shop.eu");
}

#[test]
fn rule_relative_name_defaults_to_the_name_and_is_checked() {
    // No relativeName: the (lower-cased) name is used, and must itself be a DNS name.
    let mut v = with(priority(), "/name", json!("My.Profile"));
    v["properties"]["dnsConfig"]
        .as_object_mut()
        .unwrap()
        .remove("relativeName");
    assert_eq!(valid(v).relative_name, "my.profile");
}

#[test]
fn rule_endpoints_at_most_max_endpoints() {
    let three = profile(
        "p",
        "Weighted",
        json!([
            ext("a", "a.example.com"),
            ext("b", "b.example.com"),
            ext("c", "c.example.com")
        ]),
    );
    let limits = Limits {
        max_endpoints: 2,
        ..Limits::default()
    };
    let e = validate::profile(&doc(three.clone()), &limits).unwrap_err();
    only(
        &e,
        "properties.endpoints",
        &["must hold at most 2 endpoints, got 3"],
    );
    validate::profile(
        &doc(three.clone()),
        &Limits {
            max_endpoints: 3,
            ..Limits::default()
        },
    )
    .expect("3 of 3");
    validate::profile(&doc(three.clone()), &Limits::default()).expect("default is 200");
    // The limit reaches the set, too.
    let err = ProfileSet::from_docs(&[doc(three)], &limits).unwrap_err();
    only(
        &err,
        "profiles[0].properties.endpoints",
        &["at most 2", "got 3"],
    );
}

#[test]
fn rule_enabled_flags_must_be_enabled_or_disabled() {
    // `enabled_flag` serves four fields.
    let cases = [
        (
            one_endpoint(),
            "/properties/profileStatus",
            "properties.profileStatus",
        ),
        (
            one_endpoint(),
            "/properties/trafficViewEnrollmentStatus",
            "properties.trafficViewEnrollmentStatus",
        ),
        (
            one_endpoint(),
            "/properties/endpoints/0/properties/endpointStatus",
            "properties.endpoints[0].properties.endpointStatus",
        ),
        (
            one_endpoint(),
            "/properties/endpoints/0/properties/alwaysServe",
            "properties.endpoints[0].properties.alwaysServe",
        ),
    ];
    for (v, pointer, path) in cases {
        let e = invalid(with(v.clone(), pointer, json!("On")));
        only(&e, path, &["must be Enabled or Disabled", "\"On\""]);
        // Case-insensitive spellings are accepted.
        valid(with(v.clone(), pointer, json!("disabled")));
        valid(with(v, pointer, json!("ENABLED")));
    }
    let p = valid(json!({
        "name": "p",
        "properties": {
            "trafficRoutingMethod": "Priority",
            "profileStatus": "Disabled",
            "trafficViewEnrollmentStatus": "Enabled",
            "endpoints": [{
                "name": "e", "type": "externalEndpoints",
                "properties": { "target": "e.example.com", "endpointStatus": "Disabled", "alwaysServe": "Enabled" }
            }]
        }
    }));
    assert!(!p.enabled);
    assert!(p.traffic_view);
    assert!(!p.endpoints[0].enabled);
    assert!(p.endpoints[0].always_serve);
}

#[test]
fn rule_integers_must_be_in_range() {
    // `int_in` serves ten fields; each is checked just below and just above its range.
    let m = "/properties/monitorConfig";
    let ep = "/properties/endpoints/0/properties";
    let cases: Vec<(Value, String, &str, i64, &str)> = vec![
        (
            one_endpoint(),
            "/properties/dnsConfig/ttl".into(),
            "properties.dnsConfig.ttl",
            -1,
            "0..=2147483647, got -1",
        ),
        (
            one_endpoint(),
            "/properties/dnsConfig/ttl".into(),
            "properties.dnsConfig.ttl",
            2_147_483_648,
            "0..=2147483647, got 2147483648",
        ),
        (
            one_endpoint(),
            "/properties/maxReturn".into(),
            "properties.maxReturn",
            0,
            "1..=10, got 0",
        ),
        (
            one_endpoint(),
            "/properties/maxReturn".into(),
            "properties.maxReturn",
            11,
            "1..=10, got 11",
        ),
        (
            one_endpoint(),
            format!("{m}/port"),
            "properties.monitorConfig.port",
            0,
            "1..=65535, got 0",
        ),
        (
            one_endpoint(),
            format!("{m}/port"),
            "properties.monitorConfig.port",
            65536,
            "1..=65535, got 65536",
        ),
        (
            one_endpoint(),
            format!("{m}/intervalInSeconds"),
            "properties.monitorConfig.intervalInSeconds",
            0,
            "1..=3600, got 0",
        ),
        (
            one_endpoint(),
            format!("{m}/intervalInSeconds"),
            "properties.monitorConfig.intervalInSeconds",
            3601,
            "1..=3600, got 3601",
        ),
        (
            one_endpoint(),
            format!("{m}/timeoutInSeconds"),
            "properties.monitorConfig.timeoutInSeconds",
            0,
            "1..=30, got 0",
        ),
        (
            one_endpoint(),
            format!("{m}/timeoutInSeconds"),
            "properties.monitorConfig.timeoutInSeconds",
            31,
            "1..=30, got 31",
        ),
        (
            with(one_endpoint(), &format!("{m}/intervalInSeconds"), json!(10)),
            format!("{m}/timeoutInSeconds"),
            "properties.monitorConfig.timeoutInSeconds",
            11,
            "1..=10, got 11",
        ),
        (
            one_endpoint(),
            format!("{m}/toleratedNumberOfFailures"),
            "properties.monitorConfig.toleratedNumberOfFailures",
            -1,
            "0..=9, got -1",
        ),
        (
            one_endpoint(),
            format!("{m}/toleratedNumberOfFailures"),
            "properties.monitorConfig.toleratedNumberOfFailures",
            10,
            "0..=9, got 10",
        ),
        (
            one_endpoint(),
            format!("{ep}/weight"),
            "properties.endpoints[0].properties.weight",
            0,
            "1..=1000, got 0",
        ),
        (
            one_endpoint(),
            format!("{ep}/weight"),
            "properties.endpoints[0].properties.weight",
            1001,
            "1..=1000, got 1001",
        ),
        (
            one_nested(),
            format!("{ep}/minChildEndpoints"),
            "properties.endpoints[0].properties.minChildEndpoints",
            0,
            "1..=1000, got 0",
        ),
        (
            one_nested(),
            format!("{ep}/minChildEndpoints"),
            "properties.endpoints[0].properties.minChildEndpoints",
            1001,
            "1..=1000, got 1001",
        ),
        (
            one_nested(),
            format!("{ep}/minChildEndpointsIPv4"),
            "properties.endpoints[0].properties.minChildEndpointsIPv4",
            -1,
            "0..=1000, got -1",
        ),
        (
            one_nested(),
            format!("{ep}/minChildEndpointsIPv4"),
            "properties.endpoints[0].properties.minChildEndpointsIPv4",
            1001,
            "0..=1000, got 1001",
        ),
        (
            one_nested(),
            format!("{ep}/minChildEndpointsIPv6"),
            "properties.endpoints[0].properties.minChildEndpointsIPv6",
            -1,
            "0..=1000, got -1",
        ),
        (
            one_nested(),
            format!("{ep}/minChildEndpointsIPv6"),
            "properties.endpoints[0].properties.minChildEndpointsIPv6",
            1001,
            "0..=1000, got 1001",
        ),
    ];
    for (v, pointer, path, bad, rule) in cases {
        let e = invalid(with(v, &pointer, json!(bad)));
        only(&e, path, &["must be ", rule]);
    }
    // The bounds themselves are accepted.
    let p = valid(json!({
        "name": "p",
        "properties": {
            "trafficRoutingMethod": "Priority",
            "dnsConfig": { "ttl": 2_147_483_647_i64 },
            "maxReturn": 10,
            "monitorConfig": {
                "port": 65535, "intervalInSeconds": 3600, "timeoutInSeconds": 3600,
                "toleratedNumberOfFailures": 9
            },
            "endpoints": [
                { "name": "e", "type": "externalEndpoints", "properties": { "target": "e.example.com", "weight": 1000 } },
                { "name": "n", "type": "nestedEndpoints", "properties": {
                    "targetResourceId": "child", "minChildEndpoints": 1000,
                    "minChildEndpointsIPv4": 0, "minChildEndpointsIPv6": 1000 } }
            ]
        }
    }));
    assert_eq!(p.ttl, 2_147_483_647);
    assert_eq!(p.max_return, 10);
    assert_eq!(p.monitor.port, 65535);
    assert_eq!(p.monitor.timeout_secs, 3600);
    assert_eq!(p.monitor.tolerated_failures, 9);
    assert_eq!(p.endpoints[0].weight, 1000);
    assert_eq!(p.endpoints[1].min_child_endpoints, 1000);
    assert_eq!(p.endpoints[1].min_child_endpoints_v6, 1000);
    let zero = valid(with(one_endpoint(), "/properties/dnsConfig/ttl", json!(0)));
    assert_eq!(zero.ttl, 0);
}

// ---------------------------------------------------------------------------------------------
// validate.rs: monitorConfig rules
// ---------------------------------------------------------------------------------------------

#[test]
fn rule_monitor_protocol_must_be_http_https_or_tcp() {
    let e = invalid(with(
        one_endpoint(),
        "/properties/monitorConfig/protocol",
        json!("ICMP"),
    ));
    only(
        &e,
        "properties.monitorConfig.protocol",
        &["must be HTTP, HTTPS or TCP", "\"ICMP\""],
    );
    let p = valid(with(
        one_endpoint(),
        "/properties/monitorConfig/protocol",
        json!("https"),
    ));
    assert_eq!(p.monitor.protocol, MonitorProtocol::Https);
}

#[test]
fn rule_monitor_path_must_not_be_set_for_tcp() {
    let v = with(
        one_endpoint(),
        "/properties/monitorConfig/protocol",
        json!("TCP"),
    );
    let e = invalid(with(
        v.clone(),
        "/properties/monitorConfig/path",
        json!("/health"),
    ));
    only(
        &e,
        "properties.monitorConfig.path",
        &["must not be set when protocol is TCP"],
    );
    // null is absent, so it is fine.
    let p = valid(with(v, "/properties/monitorConfig/path", Value::Null));
    assert_eq!(p.monitor.path, None);
}

#[test]
fn rule_monitor_path_must_start_with_slash_without_spaces() {
    for bad in ["health", "/a b", "/a\tb", "/a\u{7}b", ""] {
        let e = invalid(with(
            one_endpoint(),
            "/properties/monitorConfig/path",
            json!(bad),
        ));
        only(
            &e,
            "properties.monitorConfig.path",
            &["must start with /", &format!("{bad:?}")],
        );
    }
    let p = valid(with(
        one_endpoint(),
        "/properties/monitorConfig/path",
        json!("/health?probe=1"),
    ));
    assert_eq!(p.monitor.path.as_deref(), Some("/health?probe=1"));
}

#[test]
fn rule_custom_headers_at_most_eight() {
    // Profile level and endpoint level share the rule.
    let e = invalid(with(
        one_endpoint(),
        "/properties/monitorConfig/customHeaders",
        headers(9),
    ));
    only(
        &e,
        "properties.monitorConfig.customHeaders",
        &["must hold at most 8 headers, got 9"],
    );
    let e = invalid(with(
        one_endpoint(),
        "/properties/endpoints/0/properties/customHeaders",
        headers(9),
    ));
    only(
        &e,
        "properties.endpoints[0].properties.customHeaders",
        &["at most 8 headers, got 9"],
    );
    let p = valid(with(
        one_endpoint(),
        "/properties/monitorConfig/customHeaders",
        headers(8),
    ));
    assert_eq!(p.monitor.custom_headers.len(), 8);
}

#[test]
fn rule_custom_header_name_must_be_a_token() {
    let hs = json!([{ "name": "Host", "value": "x" }, { "name": "Bad Name", "value": "x" }]);
    let e = invalid(with(
        one_endpoint(),
        "/properties/monitorConfig/customHeaders",
        hs,
    ));
    only(
        &e,
        "properties.monitorConfig.customHeaders[1].name",
        &["HTTP header name", "\"Bad Name\""],
    );
    // A missing name reads as empty, which is not a name either (endpoint level).
    let e = invalid(with(
        one_endpoint(),
        "/properties/endpoints/0/properties/customHeaders",
        json!([{ "value": "x" }]),
    ));
    only(
        &e,
        "properties.endpoints[0].properties.customHeaders[0].name",
        &["HTTP header name", "got \"\""],
    );
}

#[test]
fn rule_custom_header_value_must_not_hold_cr_lf_nul() {
    for bad in ["a\r\nX-Injected: 1", "a\nb", "a\0b"] {
        let hs = json!([{ "name": "Host", "value": "ok" }, { "name": "X-Ok", "value": bad }]);
        let e = invalid(with(
            one_endpoint(),
            "/properties/monitorConfig/customHeaders",
            hs,
        ));
        only(
            &e,
            "properties.monitorConfig.customHeaders[1].value",
            &["must not contain CR, LF or NUL"],
        );
    }
    let p = valid(with(
        one_endpoint(),
        "/properties/endpoints/0/properties/customHeaders",
        json!([{ "name": "Host", "value": "www.example.com" }]),
    ));
    assert_eq!(
        p.endpoints[0].custom_headers,
        vec![("Host".to_string(), "www.example.com".to_string())]
    );
}

#[test]
fn rule_status_code_ranges_at_most_eight() {
    let ranges: Vec<Value> = (0..9)
        .map(|i| json!({ "min": 200 + i, "max": 200 + i }))
        .collect();
    let e = invalid(with(
        one_endpoint(),
        "/properties/monitorConfig/expectedStatusCodeRanges",
        json!(ranges),
    ));
    only(
        &e,
        "properties.monitorConfig.expectedStatusCodeRanges",
        &["must hold at most 8 ranges, got 9"],
    );
}

#[test]
fn rule_status_code_range_needs_min_and_max() {
    for r in [json!({ "min": 200 }), json!({ "max": 299 }), json!({})] {
        let e = invalid(with(
            one_endpoint(),
            "/properties/monitorConfig/expectedStatusCodeRanges",
            json!([{ "min": 200, "max": 299 }, r]),
        ));
        only(
            &e,
            "properties.monitorConfig.expectedStatusCodeRanges[1]",
            &["needs both min and max"],
        );
    }
}

#[test]
fn rule_status_code_range_min_must_be_100_to_999() {
    let e = invalid(with(
        one_endpoint(),
        "/properties/monitorConfig/expectedStatusCodeRanges",
        json!([{ "min": 99, "max": 200 }]),
    ));
    only(
        &e,
        "properties.monitorConfig.expectedStatusCodeRanges[0].min",
        &["must be 100..=999, got 99"],
    );
}

#[test]
fn rule_status_code_range_max_must_be_100_to_999() {
    let e = invalid(with(
        one_endpoint(),
        "/properties/monitorConfig/expectedStatusCodeRanges",
        json!([{ "min": 200, "max": 1000 }]),
    ));
    only(
        &e,
        "properties.monitorConfig.expectedStatusCodeRanges[0].max",
        &["must be 100..=999, got 1000"],
    );
}

#[test]
fn rule_status_code_range_min_must_not_exceed_max() {
    let e = invalid(with(
        one_endpoint(),
        "/properties/monitorConfig/expectedStatusCodeRanges",
        json!([{ "min": 200, "max": 299 }, { "min": 300, "max": 200 }]),
    ));
    only(
        &e,
        "properties.monitorConfig.expectedStatusCodeRanges[1]",
        &["min must not exceed max, got 300 > 200"],
    );
    let p = valid(with(
        one_endpoint(),
        "/properties/monitorConfig/expectedStatusCodeRanges",
        json!([{ "min": 200, "max": 299 }, { "min": 301, "max": 301 }]),
    ));
    assert_eq!(
        p.monitor.expected_status,
        vec![
            StatusCodeRange { min: 200, max: 299 },
            StatusCodeRange { min: 301, max: 301 }
        ]
    );
}

#[test]
fn rule_allowed_endpoint_record_types_must_be_known() {
    let e = invalid(with(
        one_endpoint(),
        "/properties/allowedEndpointRecordTypes",
        json!(["DomainName", "CNAME"]),
    ));
    only(
        &e,
        "properties.allowedEndpointRecordTypes[1]",
        &[
            "must be DomainName, IPv4Address, IPv6Address or Any",
            "\"CNAME\"",
        ],
    );
    let p = valid(with(
        one_endpoint(),
        "/properties/allowedEndpointRecordTypes",
        json!(["domainname"]),
    ));
    assert_eq!(
        p.allowed_record_types,
        AllowedRecordTypes {
            domain_name: true,
            ipv4: false,
            ipv6: false
        }
    );
    let any = valid(with(
        one_endpoint(),
        "/properties/allowedEndpointRecordTypes",
        json!(["IPv4Address", "Any"]),
    ));
    assert_eq!(any.allowed_record_types, AllowedRecordTypes::ANY);
}

// ---------------------------------------------------------------------------------------------
// validate.rs: endpoint rules
// ---------------------------------------------------------------------------------------------

#[test]
fn rule_endpoint_name_required_and_1_to_260_characters() {
    let mut v = one_endpoint();
    v["properties"]["endpoints"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    only(
        &invalid(v),
        "properties.endpoints[0].name",
        &["is required and must be 1-260 characters", "got \"\""],
    );
    let long = "a".repeat(261);
    let e = invalid(with(
        one_endpoint(),
        "/properties/endpoints/0/name",
        json!(long),
    ));
    only(
        &e,
        "properties.endpoints[0].name",
        &["1-260 characters", &long],
    );
    valid(with(
        one_endpoint(),
        "/properties/endpoints/0/name",
        json!("a".repeat(260)),
    ));
    // Characters, not bytes: 260 two-byte characters are fine, 261 are not.
    valid(with(
        one_endpoint(),
        "/properties/endpoints/0/name",
        json!("é".repeat(260)),
    ));
    let e = invalid(with(
        one_endpoint(),
        "/properties/endpoints/0/name",
        json!("é".repeat(261)),
    ));
    only(&e, "properties.endpoints[0].name", &["1-260 characters"]);
}

#[test]
fn rule_endpoint_type_is_required() {
    let mut v = one_endpoint();
    v["properties"]["endpoints"][0]
        .as_object_mut()
        .unwrap()
        .remove("type");
    only(
        &invalid(v),
        "properties.endpoints[0].type",
        &["is required"],
    );
}

#[test]
fn rule_endpoint_type_must_be_known() {
    for bad in [
        "vmEndpoints",
        "Microsoft.Network/trafficManagerProfiles/vmEndpoints",
        "Microsoft.Network/dnszones/externalEndpoints",
    ] {
        let e = invalid(with(
            one_endpoint(),
            "/properties/endpoints/0/type",
            json!(bad),
        ));
        only(
            &e,
            "properties.endpoints[0].type",
            &[
                "externalEndpoints, nestedEndpoints or azureEndpoints",
                &format!("{bad:?}"),
            ],
        );
    }
}

#[test]
fn rule_nested_endpoint_needs_target_resource_id() {
    let v = with(
        one_nested(),
        "/properties/endpoints/0/properties/targetResourceId",
        Value::Null,
    );
    only(
        &invalid(v),
        "properties.endpoints[0].properties.targetResourceId",
        &["is required for nestedEndpoints"],
    );
}

#[test]
fn rule_endpoint_target_is_required() {
    let v = with(
        one_endpoint(),
        "/properties/endpoints/0/properties/target",
        Value::Null,
    );
    only(
        &invalid(v.clone()),
        "properties.endpoints[0].properties.target",
        &["is required"],
    );
    // An azureEndpoints endpoint gets the reason (Azure resource ids are not resolved).
    let v = with(v, "/properties/endpoints/0/type", json!("azureEndpoints"));
    let v = with(
        v,
        "/properties/endpoints/0/properties/targetResourceId",
        json!("/subscriptions/0/resourceGroups/rg/providers/Microsoft.Web/sites/app"),
    );
    only(
        &invalid(v),
        "properties.endpoints[0].properties.target",
        &["is required", "cannot resolve Azure resource ids"],
    );
}

#[test]
fn rule_endpoint_target_must_be_name_or_address() {
    for bad in [
        "1.2.3.4:80",
        "1.2.3",
        "999.1.1.1",
        "bad name.example.com",
        "-a.example.com",
        "http://a.example.com",
        "",
    ] {
        let e = invalid(with(
            one_endpoint(),
            "/properties/endpoints/0/properties/target",
            json!(bad),
        ));
        only(
            &e,
            "properties.endpoints[0].properties.target",
            &[
                "must be a DNS name, an IPv4 or an IPv6 address",
                &format!("{bad:?}"),
            ],
        );
    }
    let p = valid(with(
        one_endpoint(),
        "/properties/endpoints/0/properties/target",
        json!(" WWW.Example.COM. "),
    ));
    assert_eq!(
        p.endpoints[0].target,
        EndpointTarget::Name("www.example.com".into())
    );
}

#[test]
fn rule_endpoint_priority_must_be_1_to_1000() {
    for bad in [0, -1, 1001] {
        let e = invalid(with(
            one_endpoint(),
            "/properties/endpoints/0/properties/priority",
            json!(bad),
        ));
        only(
            &e,
            "properties.endpoints[0].properties.priority",
            &[&format!("must be 1..=1000, got {bad}")],
        );
    }
    let p = valid(with(
        one_endpoint(),
        "/properties/endpoints/0/properties/priority",
        json!(1000),
    ));
    assert_eq!(p.endpoints[0].priority, 1000);
}

#[test]
fn rule_endpoint_location_required_for_performance() {
    let v = profile(
        "p",
        "Performance",
        json!([ext("a", "a.example.com"), ext("b", "b.example.com")]),
    );
    let v = with(
        v,
        "/properties/endpoints/0/properties/endpointLocation",
        json!("West Europe"),
    );
    let v = with(
        v,
        "/properties/endpoints/1/properties/endpointLocation",
        json!("   "),
    );
    only(
        &invalid(v),
        "properties.endpoints[1].properties.endpointLocation",
        &["is required when trafficRoutingMethod is Performance"],
    );
}

#[test]
fn rule_geo_mapping_codes_must_be_known() {
    let v = profile("p", "Geographic", json!([ext("a", "a.example.com")]));
    let v = with(
        v,
        "/properties/endpoints/0/properties/geoMapping",
        json!([
            "DE", "Germany", "GEO-EUR", "U-CA", "US-CALI", "", "ZZ", "GEO-XX", "US-XX"
        ]),
    );
    let e = invalid(v);
    assert_eq!(e.errors.len(), 8, "{e}");
    for (i, bad) in [
        "Germany", "GEO-EUR", "U-CA", "US-CALI", "", "ZZ", "GEO-XX", "US-XX",
    ]
    .iter()
    .enumerate()
    {
        rule_at(
            &e,
            &format!("properties.endpoints[0].properties.geoMapping[{}]", i + 1),
            &["must be a known location code", &format!("{bad:?}")],
        );
    }
}

#[test]
fn rule_geo_mapping_required_for_geographic() {
    for empty in [Value::Null, json!([])] {
        let v = profile("p", "Geographic", json!([ext("a", "a.example.com")]));
        let v = with(v, "/properties/endpoints/0/properties/geoMapping", empty);
        only(
            &invalid(v),
            "properties.endpoints[0].properties.geoMapping",
            &["must map at least one location code when trafficRoutingMethod is Geographic"],
        );
    }
}

#[test]
fn rule_min_child_endpoints_only_on_nested() {
    for field in [
        "minChildEndpoints",
        "minChildEndpointsIPv4",
        "minChildEndpointsIPv6",
    ] {
        let e = invalid(with(
            one_endpoint(),
            &format!("/properties/endpoints/0/properties/{field}"),
            json!(2),
        ));
        only(
            &e,
            &format!("properties.endpoints[0].properties.{field}"),
            &["is only valid on nestedEndpoints"],
        );
    }
}

#[test]
fn rule_always_serve_not_on_nested() {
    let e = invalid(with(
        one_nested(),
        "/properties/endpoints/0/properties/alwaysServe",
        json!("Enabled"),
    ));
    only(
        &e,
        "properties.endpoints[0].properties.alwaysServe",
        &["must not be Enabled on nestedEndpoints"],
    );
    valid(with(
        one_nested(),
        "/properties/endpoints/0/properties/alwaysServe",
        json!("Disabled"),
    ));
}

// ---------------------------------------------------------------------------------------------
// validate.rs: subnet rules (on a Priority profile, where subnets are overrides)
// ---------------------------------------------------------------------------------------------

fn with_subnets(subnets: Value) -> Value {
    with(
        one_endpoint(),
        "/properties/endpoints/0/properties/subnets",
        subnets,
    )
}

#[test]
fn rule_subnet_first_must_be_an_address() {
    let e = invalid(with_subnets(json!([{ "first": "300.1.1.1", "scope": 24 }])));
    only(
        &e,
        "properties.endpoints[0].properties.subnets[0].first",
        &["must be an IPv4 or IPv6 address", "300.1.1.1"],
    );
    let e = invalid(with_subnets(json!([{ "scope": 24 }])));
    only(
        &e,
        "properties.endpoints[0].properties.subnets[0].first",
        &["must be an IPv4 or IPv6 address"],
    );
}

#[test]
fn rule_subnet_last_or_scope_not_both() {
    let e = invalid(with_subnets(
        json!([{ "first": "10.0.0.0", "last": "10.0.0.255", "scope": 24 }]),
    ));
    only(
        &e,
        "properties.endpoints[0].properties.subnets[0]",
        &["either last (a range) or scope (a CIDR block), not both"],
    );
}

#[test]
fn rule_subnet_last_not_below_first() {
    let e = invalid(with_subnets(
        json!([{ "first": "10.0.0.5", "last": "10.0.0.1" }]),
    ));
    only(
        &e,
        "properties.endpoints[0].properties.subnets[0].last",
        &["must not be below first (10.0.0.5), got 10.0.0.1"],
    );
}

#[test]
fn rule_subnet_last_same_family_as_first() {
    for bad in ["::1", "not-an-address"] {
        let e = invalid(with_subnets(json!([{ "first": "10.0.0.1", "last": bad }])));
        only(
            &e,
            "properties.endpoints[0].properties.subnets[0].last",
            &[
                "must be an address of the same family as first",
                &format!("{bad:?}"),
            ],
        );
    }
}

#[test]
fn rule_subnet_scope_must_fit_family() {
    let e = invalid(with_subnets(json!([{ "first": "10.0.0.0", "scope": 33 }])));
    only(
        &e,
        "properties.endpoints[0].properties.subnets[0].scope",
        &["must be 0..=32, got 33"],
    );
    let e = invalid(with_subnets(
        json!([{ "first": "2001:db8::", "scope": 129 }]),
    ));
    only(
        &e,
        "properties.endpoints[0].properties.subnets[0].scope",
        &["must be 0..=128, got 129"],
    );
    let e = invalid(with_subnets(json!([{ "first": "10.0.0.0", "scope": -1 }])));
    only(
        &e,
        "properties.endpoints[0].properties.subnets[0].scope",
        &["got -1"],
    );
}

#[test]
fn rule_subnet_first_must_be_network_address() {
    let e = invalid(with_subnets(json!([{ "first": "10.0.0.5", "scope": 24 }])));
    only(
        &e,
        "properties.endpoints[0].properties.subnets[0].first",
        &["must be the network address of the /24 block (10.0.0.0), got 10.0.0.5"],
    );
    let e = invalid(with_subnets(
        json!([{ "first": "2001:db8::1", "scope": 64 }]),
    ));
    only(
        &e,
        "properties.endpoints[0].properties.subnets[0].first",
        &["/64 block (2001:db8::)", "got 2001:db8::1"],
    );
    let p = valid(with_subnets(json!([
        { "first": "0.0.0.0", "scope": 0 },
        { "first": "2001:db8::1", "scope": 128 }
    ])));
    assert_eq!(
        p.endpoints[0].subnets,
        vec![
            IpRange {
                first: ip("0.0.0.0"),
                last: ip("255.255.255.255")
            },
            IpRange {
                first: ip("2001:db8::1"),
                last: ip("2001:db8::1")
            }
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// validate.rs: rules over a profile's endpoints together
// ---------------------------------------------------------------------------------------------

#[test]
fn rule_priorities_must_be_unique() {
    let v = profile(
        "p",
        "Priority",
        json!([
            ext("a", "a.example.com"),
            ext("b", "b.example.com"),
            ext("c", "c.example.com")
        ]),
    );
    let v = with(v, "/properties/endpoints/0/properties/priority", json!(2));
    let v = with(v, "/properties/endpoints/2/properties/priority", json!(2));
    only(
        &invalid(v),
        "properties.endpoints[2].properties.priority",
        &["must be unique in the profile, 2 is also used by endpoints[0]"],
    );
}

#[test]
fn rule_endpoint_names_must_be_unique() {
    let v = profile(
        "p",
        "Priority",
        json!([ext("web", "a.example.com"), ext("WEB", "b.example.com")]),
    );
    only(
        &invalid(v),
        "properties.endpoints[1].name",
        &["must be unique in the profile", "\"WEB\"", "endpoints[0]"],
    );
}

#[test]
fn rule_endpoint_addresses_must_not_repeat() {
    let v = profile(
        "p",
        "Priority",
        json!([
            ext("a", "192.0.2.1"),
            ext("b", "192.0.2.2"),
            ext("c", "192.0.2.1")
        ]),
    );
    only(
        &invalid(v),
        "properties.endpoints[2].properties.target",
        &["must not repeat another endpoint's address, 192.0.2.1 is also endpoints[0]"],
    );
    // Compared as addresses, not strings.
    let v = profile(
        "p",
        "Priority",
        json!([ext("a", "2001:db8::1"), ext("b", "2001:DB8:0:0::1")]),
    );
    only(
        &invalid(v),
        "properties.endpoints[1].properties.target",
        &["2001:db8::1 is also endpoints[0]"],
    );
}

#[test]
fn rule_allowed_types_reject_dns_names() {
    let v = with(
        one_endpoint(),
        "/properties/allowedEndpointRecordTypes",
        json!(["IPv4Address", "IPv6Address"]),
    );
    only(
        &invalid(v),
        "properties.endpoints[0].properties.target",
        &["is a DNS name, which allowedEndpointRecordTypes does not allow"],
    );
}

#[test]
fn rule_allowed_types_reject_ipv4() {
    let v = profile("p", "Priority", json!([ext("a", "192.0.2.1")]));
    let v = with(
        v,
        "/properties/allowedEndpointRecordTypes",
        json!(["DomainName", "IPv6Address"]),
    );
    only(
        &invalid(v),
        "properties.endpoints[0].properties.target",
        &["is an IPv4 address, which allowedEndpointRecordTypes does not allow"],
    );
}

#[test]
fn rule_allowed_types_reject_ipv6() {
    let v = profile("p", "Priority", json!([ext("a", "2001:db8::1")]));
    let v = with(
        v,
        "/properties/allowedEndpointRecordTypes",
        json!(["IPv4Address"]),
    );
    only(
        &invalid(v),
        "properties.endpoints[0].properties.target",
        &["is an IPv6 address, which allowedEndpointRecordTypes does not allow"],
    );
}

#[test]
fn rule_multivalue_cannot_have_nested_endpoints() {
    let v = profile(
        "p",
        "MultiValue",
        json!([ext("a", "192.0.2.1"), nested("n", "child")]),
    );
    only(
        &invalid(v),
        "properties.endpoints[1].type",
        &["must not be nestedEndpoints: a MultiValue profile cannot be a parent"],
    );
}

#[test]
fn rule_multivalue_targets_must_be_addresses() {
    let v = profile(
        "p",
        "MultiValue",
        json!([ext("a", "a.example.com"), ext("b", "b.example.com")]),
    );
    let e = invalid(v);
    assert_eq!(e.errors.len(), 2, "{e}");
    for i in 0..2 {
        rule_at(
            &e,
            &format!("properties.endpoints[{i}].properties.target"),
            &["must be an IPv4 or IPv6 address when trafficRoutingMethod is MultiValue"],
        );
    }
}

#[test]
fn rule_multivalue_endpoints_take_no_subnets() {
    let v = profile(
        "p",
        "MultiValue",
        json!([ext("a", "192.0.2.1"), ext("b", "192.0.2.2")]),
    );
    // An empty list (as Azure exports it) is no range at all.
    let empty = with(
        v.clone(),
        "/properties/endpoints/1/properties/subnets",
        json!([]),
    );
    valid(empty);
    let v = with(
        v,
        "/properties/endpoints/0/properties/subnets",
        json!([{"first": "10.0.0.0", "scope": 8}]),
    );
    only(
        &invalid(v),
        "properties.endpoints[0].properties.subnets",
        &[
            "must be empty when trafficRoutingMethod is MultiValue",
            "only by Subnet profiles",
        ],
    );
    // The same ranges are subnet overrides on the other methods.
    let priority = with(
        profile("q", "Priority", json!([ext("a", "192.0.2.1")])),
        "/properties/endpoints/0/properties/subnets",
        json!([{"first": "10.0.0.0", "scope": 8}]),
    );
    valid(priority);
}

#[test]
fn rule_geo_codes_map_to_one_endpoint_only() {
    let v = profile(
        "p",
        "Geographic",
        json!([ext("a", "a.example.com"), ext("b", "b.example.com")]),
    );
    let v = with(
        v,
        "/properties/endpoints/0/properties/geoMapping",
        json!(["DE"]),
    );
    let v = with(
        v,
        "/properties/endpoints/1/properties/geoMapping",
        json!(["FR", "de"]),
    );
    only(
        &invalid(v),
        "properties.endpoints[1].properties.geoMapping[1]",
        &["must map each code to one endpoint only, DE is also mapped by endpoints[0]"],
    );
}

#[test]
fn rule_targets_must_not_mix_kinds() {
    let cases = [
        (
            "Priority",
            json!([ext("a", "a.example.com"), ext("b", "192.0.2.1")]),
        ),
        (
            "Weighted",
            json!([ext("a", "192.0.2.1"), ext("b", "2001:db8::1")]),
        ),
        (
            "Subnet",
            json!([ext("a", "a.example.com"), ext("b", "2001:db8::1")]),
        ),
    ];
    for (method, endpoints) in cases {
        let v = profile("p", method, endpoints);
        // Subnet needs a single fallback: give the second endpoint a range.
        let v = if method == "Subnet" {
            with(
                v,
                "/properties/endpoints/1/properties/subnets",
                json!([{ "first": "10.0.0.0", "scope": 8 }]),
            )
        } else {
            v
        };
        only(
            &invalid(v),
            "properties.endpoints",
            &["must all be DNS names, all IPv4 or all IPv6 addresses"],
        );
    }
    // MultiValue may mix IPv4 and IPv6.
    valid(profile(
        "p",
        "MultiValue",
        json!([ext("a", "192.0.2.1"), ext("b", "2001:db8::1")]),
    ));
}

#[test]
fn rule_subnet_ranges_must_not_overlap() {
    let v = profile(
        "p",
        "Subnet",
        json!([
            ext("a", "a.example.com"),
            ext("b", "b.example.com"),
            ext("c", "c.example.com")
        ]),
    );
    let v = with(
        v,
        "/properties/endpoints/0/properties/subnets",
        json!([{ "first": "10.0.0.0", "scope": 8 }]),
    );
    let v = with(
        v,
        "/properties/endpoints/1/properties/subnets",
        json!([{ "first": "192.168.0.0", "scope": 16 }, { "first": "10.1.0.0", "last": "10.1.0.255" }]),
    );
    only(
        &invalid(v),
        "properties.endpoints[1].properties.subnets[1]",
        &["must not overlap another range, overlaps endpoints[0].properties.subnets[0]"],
    );
}

#[test]
fn rule_subnet_profile_has_at_most_one_fallback() {
    let v = profile(
        "p",
        "Subnet",
        json!([
            ext("a", "a.example.com"),
            ext("b", "b.example.com"),
            ext("c", "c.example.com")
        ]),
    );
    let v = with(
        v,
        "/properties/endpoints/0/properties/subnets",
        json!([{ "first": "10.0.0.0", "scope": 8 }]),
    );
    only(
        &invalid(v.clone()),
        "properties.endpoints",
        &[
            "must hold at most one endpoint without subnets (the fallback) when trafficRoutingMethod is Subnet",
        ],
    );
    valid(with(
        v,
        "/properties/endpoints/1/properties/subnets",
        json!([{ "first": "192.168.0.1" }]),
    ));
}

// ---------------------------------------------------------------------------------------------
// set.rs: cross-profile rules
// ---------------------------------------------------------------------------------------------

#[test]
fn rule_set_reports_profile_errors_under_their_index() {
    let good = profile("good", "Priority", json!([ext("a", "a.example.com")]));
    let bad = with(
        profile("bad", "Priority", json!([ext("a", "a.example.com")])),
        "/properties/endpoints/0/properties/weight",
        json!(0),
    );
    let e = set_err(vec![good.clone(), bad]);
    only(
        &e,
        "profiles[1].properties.endpoints[0].properties.weight",
        &["must be 1..=1000, got 0"],
    );
    // The good profile alone is accepted.
    assert_eq!(set(vec![good]).unwrap().profiles().len(), 1);
}

#[test]
fn rule_set_profile_names_unique() {
    let a = profile("web", "Priority", json!([ext("a", "a.example.com")]));
    let b = with(
        profile("WEB", "Priority", json!([ext("a", "a.example.com")])),
        "/properties/dnsConfig/relativeName",
        json!("web2"),
    );
    only(
        &set_err(vec![a, b]),
        "profiles[1].name",
        &["must be unique", "\"WEB\"", "profiles[0]"],
    );
}

#[test]
fn rule_set_relative_names_unique() {
    let a = profile("a", "Priority", json!([ext("a", "a.example.com")]));
    let b = with(
        profile("b", "Priority", json!([ext("a", "a.example.com")])),
        "/properties/dnsConfig/relativeName",
        json!("A."),
    );
    only(
        &set_err(vec![a, b]),
        "profiles[1].properties.dnsConfig.relativeName",
        &["must be unique", "\"a\"", "profiles[0]"],
    );
    // A profile without relativeName takes its name, which can clash too.
    let c = profile("c", "Priority", json!([ext("a", "a.example.com")]));
    let mut d = with(
        profile("x", "Priority", json!([ext("a", "a.example.com")])),
        "/name",
        json!("C"),
    );
    d["properties"]["dnsConfig"]
        .as_object_mut()
        .unwrap()
        .remove("relativeName");
    let e = set_err(vec![c, d]);
    rule_at(
        &e,
        "profiles[1].properties.dnsConfig.relativeName",
        &["\"c\""],
    );
}

#[test]
fn rule_set_nested_endpoint_must_name_existing_profile() {
    let parent = profile(
        "parent",
        "Priority",
        json!([ext("a", "a.example.com"), nested("n", "ghost")]),
    );
    let other = profile("other", "Priority", json!([ext("a", "a.example.com")]));
    only(
        &set_err(vec![other, parent]),
        "profiles[1].properties.endpoints[1].properties.targetResourceId",
        &["must name an existing profile, no profile is called \"ghost\""],
    );
}

#[test]
fn rule_set_nesting_must_not_cycle() {
    let a = profile("a", "Priority", json!([nested("to-b", "b")]));
    let b = profile("b", "Priority", json!([nested("to-a", "a")]));
    only(
        &set_err(vec![a, b]),
        "profiles[0].properties.endpoints",
        &["must not nest in a cycle: a -> b -> a"],
    );
    let selfish = profile("s", "Priority", json!([nested("me", "S")]));
    only(
        &set_err(vec![selfish]),
        "profiles[0].properties.endpoints",
        &["must not nest in a cycle: s -> s"],
    );
}

/// `n` profiles p0 -> p1 -> ... -> p{n-1}; the last one has an external endpoint.
fn chain(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let ep = if i + 1 < n {
                nested("down", &format!("p{}", i + 1))
            } else {
                ext("leaf", "leaf.example.com")
            };
            profile(&format!("p{i}"), "Priority", json!([ep]))
        })
        .collect()
}

#[test]
fn rule_set_nesting_at_most_ten_levels() {
    assert_eq!(MAX_NESTING_DEPTH, 10);
    // 11 profiles: 10 levels below p0, allowed.
    let s = set(chain(MAX_NESTING_DEPTH + 1)).expect("10 levels of nesting");
    assert_eq!(s.profiles().len(), 11);
    // 12 profiles: 11 levels below p0, rejected.
    only(
        &set_err(chain(MAX_NESTING_DEPTH + 2)),
        "profiles[0].properties.endpoints",
        &["must nest at most 10 levels, got 11"],
    );
    // Document order does not matter.
    let mut reversed = chain(MAX_NESTING_DEPTH + 2);
    reversed.reverse();
    let e = set_err(reversed);
    assert_eq!(e.errors.len(), 1, "{e}");
    assert!(e.errors[0].rule.contains("got 11"), "{e}");
}

#[test]
fn invalid_profile_rejects_whole_set() {
    let a = profile("a", "Priority", json!([ext("x", "x.example.com")]));
    let b = profile("b", "Priority", json!([nested("to-a", "a")]));
    let broken = with(
        profile("c", "Priority", json!([ext("x", "x.example.com")])),
        "/properties/dnsConfig/ttl",
        json!(-5),
    );
    assert!(set(vec![a.clone(), b.clone()]).is_ok());
    let e = set_err(vec![a, b, broken]);
    only(&e, "profiles[2].properties.dnsConfig.ttl", &["got -5"]);
}

// ---------------------------------------------------------------------------------------------
// Valid profiles of every routing method, and a nested pair
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_priority_profile() {
    let p = valid(json!({
        "id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/trafficManagerProfiles/failover",
        "name": "failover",
        "type": "Microsoft.Network/trafficManagerProfiles",
        "location": "global",
        "tags": { "team": "web" },
        "properties": {
            "profileStatus": "Enabled",
            "trafficRoutingMethod": "Priority",
            "dnsConfig": { "relativeName": "failover", "fqdn": "failover.trafficmanager.net", "ttl": 60 },
            "monitorConfig": {
                "profileMonitorStatus": "Online",
                "protocol": "HTTPS", "port": 8443, "path": "/healthz",
                "intervalInSeconds": 10, "timeoutInSeconds": 5, "toleratedNumberOfFailures": 2,
                "customHeaders": [{ "name": "Host", "value": "www.example.com" }],
                "expectedStatusCodeRanges": [{ "min": 200, "max": 299 }, { "min": 301, "max": 302 }]
            },
            "trafficViewEnrollmentStatus": "Disabled",
            "endpoints": [
                { "name": "primary", "type": "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                  "properties": { "target": "primary.example.com", "priority": 1, "endpointStatus": "Enabled",
                                  "endpointMonitorStatus": "Online" } },
                { "name": "secondary", "type": "externalEndpoints",
                  "properties": { "target": "secondary.example.com", "priority": 2 } }
            ]
        }
    }));
    assert_eq!(p.name, "failover");
    assert_eq!(p.relative_name, "failover");
    assert!(p.enabled);
    assert_eq!(p.routing_method, RoutingMethod::Priority);
    assert_eq!(p.ttl, 60);
    assert_eq!(p.monitor.protocol, MonitorProtocol::Https);
    assert_eq!(p.monitor.port, 8443);
    assert_eq!(p.monitor.path.as_deref(), Some("/healthz"));
    assert_eq!(p.monitor.interval_secs, 10);
    assert_eq!(p.monitor.timeout_secs, 5);
    assert_eq!(p.monitor.tolerated_failures, 2);
    assert_eq!(
        p.monitor.custom_headers,
        vec![("Host".to_string(), "www.example.com".to_string())]
    );
    assert_eq!(p.monitor.expected_status.len(), 2);
    assert_eq!(p.endpoints.len(), 2);
    assert_eq!(p.endpoints[0].kind, EndpointKind::External);
    assert_eq!(
        p.endpoints[1].target,
        EndpointTarget::Name("secondary.example.com".into())
    );
    assert_eq!(
        p.endpoints.iter().map(|e| e.priority).collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn valid_weighted_profile() {
    let v = profile(
        "weighted",
        "Weighted",
        json!([
            ext("a", "192.0.2.1"),
            ext("b", "192.0.2.2"),
            ext("c", "192.0.2.3")
        ]),
    );
    let v = with(v, "/properties/endpoints/0/properties/weight", json!(10));
    let v = with(v, "/properties/endpoints/1/properties/weight", json!(990));
    let p = valid(v);
    assert_eq!(p.routing_method, RoutingMethod::Weighted);
    assert_eq!(
        p.endpoints.iter().map(|e| e.weight).collect::<Vec<_>>(),
        [10, 990, 1]
    );
    assert_eq!(
        p.endpoints[0].target,
        EndpointTarget::Ipv4("192.0.2.1".parse().unwrap())
    );
}

#[test]
fn valid_performance_profile() {
    let v = profile(
        "perf",
        "Performance",
        json!([ext("eu", "eu.example.com"), ext("us", "us.example.com")]),
    );
    let v = with(
        v,
        "/properties/endpoints/0/properties/endpointLocation",
        json!("West Europe"),
    );
    let v = with(
        v,
        "/properties/endpoints/1/properties/endpointLocation",
        json!(" eastus "),
    );
    let p = valid(v);
    assert_eq!(p.routing_method, RoutingMethod::Performance);
    assert_eq!(p.endpoints[0].location.as_deref(), Some("West Europe"));
    assert_eq!(
        p.endpoints[1].location.as_deref(),
        Some("East US"),
        "a known region is kept by its canonical name"
    );
    assert_eq!(
        p.endpoints[0].coordinates,
        signpost_model::regions::Catalogue::default().coordinates("westeurope")
    );
}

#[test]
fn operator_regions_are_known_to_the_server_that_defines_them() {
    let v = profile("perf", "Performance", json!([ext("dc", "dc.example.com")]));
    let v = with(
        v,
        "/properties/endpoints/0/properties/endpointLocation",
        json!("dc-lisbon"),
    );
    let e = invalid(v.clone());
    only(
        &e,
        "properties.endpoints[0].properties.endpointLocation",
        &["must name a known region", "dc-lisbon"],
    );
    let regions = signpost_model::regions::Catalogue::new(vec![signpost_model::regions::Region {
        name: "DC Lisbon".into(),
        latitude: 38.72,
        longitude: -9.14,
    }])
    .unwrap();
    let limits = Limits {
        regions,
        ..Limits::default()
    };
    let p = validate::profile(&doc(v), &limits).expect("an operator region");
    assert_eq!(p.endpoints[0].coordinates, Some((38.72, -9.14)));
}

#[test]
fn valid_geographic_profile() {
    let v = profile(
        "geo",
        "Geographic",
        json!([
            ext("eu", "eu.example.com"),
            ext("us", "us.example.com"),
            ext("rest", "rest.example.com")
        ]),
    );
    let v = with(
        v,
        "/properties/endpoints/0/properties/geoMapping",
        json!(["GEO-EU", "de"]),
    );
    let v = with(
        v,
        "/properties/endpoints/1/properties/geoMapping",
        json!(["US-CA", "us-ny", "CA"]),
    );
    let v = with(
        v,
        "/properties/endpoints/2/properties/geoMapping",
        json!(["WORLD"]),
    );
    let p = valid(v);
    assert_eq!(p.routing_method, RoutingMethod::Geographic);
    assert_eq!(p.endpoints[0].geo_mapping, ["GEO-EU", "DE"]);
    assert_eq!(p.endpoints[1].geo_mapping, ["US-CA", "US-NY", "CA"]);
    assert_eq!(p.endpoints[2].geo_mapping, ["WORLD"]);
}

#[test]
fn valid_multivalue_profile() {
    let v = profile(
        "multi",
        "MultiValue",
        json!([
            ext("a", "192.0.2.1"),
            ext("b", "192.0.2.2"),
            ext("c", "2001:db8::1")
        ]),
    );
    let v = with(v, "/properties/maxReturn", json!(3));
    let v = with(
        v,
        "/properties/allowedEndpointRecordTypes",
        json!(["IPv4Address", "IPv6Address"]),
    );
    let p = valid(v);
    assert_eq!(p.routing_method, RoutingMethod::MultiValue);
    assert_eq!(p.max_return, 3);
    assert_eq!(
        p.allowed_record_types,
        AllowedRecordTypes {
            domain_name: false,
            ipv4: true,
            ipv6: true
        }
    );
    assert_eq!(
        p.endpoints[2].target,
        EndpointTarget::Ipv6("2001:db8::1".parse().unwrap())
    );
}

#[test]
fn valid_subnet_profile() {
    let v = profile(
        "subnet",
        "Subnet",
        json!([
            ext("corp", "corp.example.com"),
            ext("lab", "lab.example.com"),
            ext("rest", "rest.example.com")
        ]),
    );
    let v = with(
        v,
        "/properties/endpoints/0/properties/subnets",
        json!([{ "first": "10.0.0.0", "scope": 8 }, { "first": "2001:db8::", "scope": 32 }]),
    );
    let v = with(
        v,
        "/properties/endpoints/1/properties/subnets",
        json!([{ "first": "192.168.0.1", "last": "192.168.0.99" }, { "first": "172.16.0.1" }]),
    );
    let p = valid(v);
    assert_eq!(p.routing_method, RoutingMethod::Subnet);
    assert_eq!(
        p.endpoints[0].subnets,
        vec![
            IpRange {
                first: ip("10.0.0.0"),
                last: ip("10.255.255.255")
            },
            IpRange {
                first: ip("2001:db8::"),
                last: ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
            }
        ]
    );
    assert_eq!(
        p.endpoints[1].subnets,
        vec![
            IpRange {
                first: ip("192.168.0.1"),
                last: ip("192.168.0.99")
            },
            IpRange {
                first: ip("172.16.0.1"),
                last: ip("172.16.0.1")
            }
        ]
    );
    assert!(p.endpoints[2].subnets.is_empty());
}

#[test]
fn valid_nested_profile_pair() {
    let parent = json!({
        "name": "parent",
        "properties": {
            "trafficRoutingMethod": "Performance",
            "endpoints": [
                { "name": "eu", "type": "Microsoft.Network/trafficManagerProfiles/nestedEndpoints",
                  "properties": { "targetResourceId": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/trafficManagerProfiles/child",
                                  "endpointLocation": "West Europe", "minChildEndpoints": 2,
                                  "minChildEndpointsIPv4": 1, "minChildEndpointsIPv6": 0 } },
                { "name": "us", "type": "externalEndpoints",
                  "properties": { "target": "us.example.com", "endpointLocation": "East US" } }
            ]
        }
    });
    let child = profile(
        "child",
        "Weighted",
        json!([ext("a", "a.example.com"), ext("b", "b.example.com")]),
    );
    let s = set(vec![parent, child]).expect("nested pair");
    let p = s.get("PARENT").expect("parent by name, case-insensitive");
    let n = &p.endpoints[0];
    assert_eq!(n.kind, EndpointKind::Nested);
    assert_eq!(n.target, EndpointTarget::Profile("child".into()));
    assert_eq!(n.min_child_endpoints, 2);
    assert_eq!(n.min_child_endpoints_v4, 1);
    assert_eq!(n.min_child_endpoints_v6, 0);
    assert!(s.get("child").is_some());
    assert_eq!(s.profiles()[0].name, "parent");
}

// ---------------------------------------------------------------------------------------------
// Defaults, priorities, Azure spellings, null
// ---------------------------------------------------------------------------------------------

#[test]
fn defaults() {
    let p = valid(json!({
        "name": "Minimal",
        "properties": {
            "trafficRoutingMethod": "Priority",
            "endpoints": [
                { "name": "a", "type": "externalEndpoints", "properties": { "target": "a.example.com" } },
                { "name": "b", "type": "externalEndpoints", "properties": { "target": "b.example.com" } }
            ]
        }
    }));
    assert_eq!(p.relative_name, "minimal");
    assert!(p.enabled);
    assert_eq!(p.ttl, 30);
    assert_eq!(p.monitor.protocol, MonitorProtocol::Http);
    assert_eq!(p.monitor.port, 80);
    assert_eq!(p.monitor.path.as_deref(), Some("/"));
    assert_eq!(p.monitor.interval_secs, 30);
    assert_eq!(p.monitor.timeout_secs, 10);
    assert_eq!(p.monitor.tolerated_failures, 3);
    assert!(p.monitor.custom_headers.is_empty());
    assert_eq!(
        p.monitor.expected_status,
        vec![StatusCodeRange { min: 200, max: 200 }]
    );
    assert_eq!(p.max_return, 2);
    assert_eq!(p.allowed_record_types, AllowedRecordTypes::ANY);
    assert!(!p.traffic_view);
    for (i, ep) in p.endpoints.iter().enumerate() {
        assert!(ep.enabled);
        assert_eq!(ep.weight, 1);
        assert_eq!(ep.priority as usize, i + 1);
        assert_eq!(ep.location, None);
        assert!(ep.geo_mapping.is_empty());
        assert!(ep.subnets.is_empty());
        assert!(ep.custom_headers.is_empty());
        assert_eq!(ep.min_child_endpoints, 1);
        assert_eq!(ep.min_child_endpoints_v4, 0);
        assert_eq!(ep.min_child_endpoints_v6, 0);
        assert!(!ep.always_serve);
    }
    // No endpoints at all is a valid (if useless) profile.
    let empty = valid(json!({ "name": "e", "properties": { "trafficRoutingMethod": "Weighted" } }));
    assert!(empty.endpoints.is_empty());
}

#[test]
fn monitor_defaults_depend_on_protocol_and_interval() {
    let m = "/properties/monitorConfig";
    let https = valid(with(
        one_endpoint(),
        &format!("{m}/protocol"),
        json!("HTTPS"),
    ));
    assert_eq!(https.monitor.port, 443);
    assert_eq!(https.monitor.path.as_deref(), Some("/"));
    let tcp = valid(with(one_endpoint(), &format!("{m}/protocol"), json!("TCP")));
    assert_eq!(tcp.monitor.protocol, MonitorProtocol::Tcp);
    assert_eq!(tcp.monitor.port, 80);
    assert_eq!(tcp.monitor.path, None);
    // A short interval shortens the default timeout to interval - 1 (at least 1).
    let fast = valid(with(
        one_endpoint(),
        &format!("{m}/intervalInSeconds"),
        json!(10),
    ));
    assert_eq!(fast.monitor.timeout_secs, 9);
    let fastest = valid(with(
        one_endpoint(),
        &format!("{m}/intervalInSeconds"),
        json!(1),
    ));
    assert_eq!(fastest.monitor.timeout_secs, 1);
    // An empty list of status ranges is the default.
    let empty = valid(with(
        one_endpoint(),
        &format!("{m}/expectedStatusCodeRanges"),
        json!([]),
    ));
    assert_eq!(
        empty.monitor.expected_status,
        vec![StatusCodeRange { min: 200, max: 200 }]
    );
}

fn five_endpoints(priorities: [Option<i64>; 5]) -> Value {
    let mut v = profile(
        "p",
        "Priority",
        json!(
            (0..5)
                .map(|i| ext(&format!("e{i}"), &format!("e{i}.example.com")))
                .collect::<Vec<_>>()
        ),
    );
    for (i, prio) in priorities.iter().enumerate() {
        if let Some(prio) = prio {
            v = with(
                v,
                &format!("/properties/endpoints/{i}/properties/priority"),
                json!(prio),
            );
        }
    }
    v
}

fn priorities(p: &Profile) -> Vec<u16> {
    p.endpoints.iter().map(|e| e.priority).collect()
}

#[test]
fn priorities_assigned_in_order_when_absent() {
    let p = valid(five_endpoints([None; 5]));
    assert_eq!(priorities(&p), [1, 2, 3, 4, 5]);
}

#[test]
fn priorities_fill_smallest_unused_numbers() {
    let p = valid(five_endpoints([None, Some(1), None, Some(3), None]));
    assert_eq!(priorities(&p), [2, 1, 4, 3, 5]);
    let p = valid(five_endpoints([Some(100), None, Some(2), None, None]));
    assert_eq!(priorities(&p), [100, 1, 2, 3, 4]);
    // Priorities apply to (and are assigned in) every method, not only Priority.
    let p = valid(with(
        five_endpoints([None, None, Some(1), None, None]),
        "/properties/trafficRoutingMethod",
        json!("Weighted"),
    ));
    assert_eq!(priorities(&p), [2, 3, 1, 4, 5]);
}

#[test]
fn endpoint_type_short_and_full_spellings() {
    let cases = [
        ("externalEndpoints", EndpointKind::External),
        ("EXTERNALENDPOINTS", EndpointKind::External),
        (
            "Microsoft.Network/trafficManagerProfiles/externalEndpoints",
            EndpointKind::External,
        ),
        (
            "microsoft.network/TrafficManagerProfiles/ExternalEndpoints",
            EndpointKind::External,
        ),
        ("azureEndpoints", EndpointKind::Azure),
        (
            "Microsoft.Network/trafficManagerProfiles/azureEndpoints",
            EndpointKind::Azure,
        ),
    ];
    for (t, kind) in cases {
        let p = valid(with(
            one_endpoint(),
            "/properties/endpoints/0/type",
            json!(t),
        ));
        assert_eq!(p.endpoints[0].kind, kind, "{t}");
        assert_eq!(
            p.endpoints[0].target,
            EndpointTarget::Name("e.example.com".into())
        );
    }
    for t in [
        "nestedEndpoints",
        "NestedEndpoints",
        "Microsoft.Network/trafficManagerProfiles/nestedEndpoints",
        "MICROSOFT.NETWORK/TRAFFICMANAGERPROFILES/NESTEDENDPOINTS",
    ] {
        let p = valid(with(one_nested(), "/properties/endpoints/0/type", json!(t)));
        assert_eq!(p.endpoints[0].kind, EndpointKind::Nested, "{t}");
    }
}

#[test]
fn nested_target_resource_id_bare_name_or_arm_id() {
    let arm = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/trafficManagerProfiles/Child";
    for id in [
        "Child".to_string(),
        arm.to_string(),
        format!("{arm}/"),
        arm.replace("trafficManagerProfiles", "TRAFFICMANAGERPROFILES"),
    ] {
        let p = valid(with(
            one_nested(),
            "/properties/endpoints/0/properties/targetResourceId",
            json!(id),
        ));
        assert_eq!(
            p.endpoints[0].target,
            EndpointTarget::Profile("Child".into()),
            "{id}"
        );
        // And the set resolves it to the profile called `child` (names are case-insensitive).
        let parent = with(
            one_nested(),
            "/properties/endpoints/0/properties/targetResourceId",
            json!(id),
        );
        let child = profile("child", "Priority", json!([ext("a", "a.example.com")]));
        set(vec![parent, child]).unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}

#[test]
fn null_values_read_as_absent() {
    let p = valid(json!({
        "id": null, "name": "p", "type": null, "location": null, "tags": null,
        "properties": {
            "profileStatus": null,
            "trafficRoutingMethod": "Priority",
            "dnsConfig": { "relativeName": null, "fqdn": null, "ttl": null },
            "monitorConfig": {
                "profileMonitorStatus": null, "protocol": null, "port": null, "path": null,
                "intervalInSeconds": null, "timeoutInSeconds": null, "toleratedNumberOfFailures": null,
                "customHeaders": null, "expectedStatusCodeRanges": null
            },
            "trafficViewEnrollmentStatus": null,
            "maxReturn": null,
            "allowedEndpointRecordTypes": null,
            "endpoints": [{
                "id": null, "name": "e", "type": "externalEndpoints",
                "properties": {
                    "targetResourceId": null, "target": "e.example.com", "endpointStatus": null,
                    "weight": null, "priority": null, "endpointLocation": null,
                    "endpointMonitorStatus": null, "minChildEndpoints": null,
                    "minChildEndpointsIPv4": null, "minChildEndpointsIPv6": null,
                    "geoMapping": null, "subnets": null, "customHeaders": null, "alwaysServe": null
                }
            }]
        }
    }));
    assert_eq!(p.relative_name, "p");
    assert_eq!(p.ttl, 30);
    assert_eq!(p.monitor.port, 80);
    assert_eq!(p.monitor.path.as_deref(), Some("/"));
    assert_eq!(p.max_return, 2);
    assert_eq!(p.endpoints[0].weight, 1);
    assert_eq!(p.endpoints[0].priority, 1);
    // null sections are absent sections, too.
    let p = valid(json!({
        "name": "q",
        "properties": { "trafficRoutingMethod": "Weighted", "dnsConfig": null, "monitorConfig": null, "endpoints": null }
    }));
    assert_eq!(p.ttl, 30);
    assert!(p.endpoints.is_empty());
    // A null required field is a missing one.
    let e = invalid(json!({ "name": "r", "properties": { "trafficRoutingMethod": null } }));
    only(&e, "properties.trafficRoutingMethod", &["is required"]);
    let e = invalid(json!({ "name": "r", "properties": null }));
    only(&e, "properties.trafficRoutingMethod", &["is required"]);
}

// ---------------------------------------------------------------------------------------------
// Files: ProfileSet::load and parse_profiles_file
// ---------------------------------------------------------------------------------------------

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "signpost-model-rules-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const YAML_FILE: &str = r#"
profiles:
  - name: web
    properties:
      trafficRoutingMethod: Priority
      dnsConfig:
        relativeName: Web
        ttl: 60
      monitorConfig:
        protocol: HTTP
        port: ~
      endpoints:
        - name: primary
          type: Microsoft.Network/trafficManagerProfiles/nestedEndpoints
          properties:
            targetResourceId: /subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/trafficManagerProfiles/eu
        - name: backup
          type: externalEndpoints
          properties:
            target: backup.example.com
  - name: eu
    properties:
      trafficRoutingMethod: MultiValue
      maxReturn: 4
      endpoints:
        - { name: a, type: externalEndpoints, properties: { target: 192.0.2.1 } }
        - { name: b, type: externalEndpoints, properties: { target: "2001:db8::1" } }
"#;

#[test]
fn load_yaml_file() {
    let dir = TempDir::new("yaml");
    let path = dir.write("profiles.yaml", YAML_FILE);
    let s = ProfileSet::load(&path, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.profiles().len(), 2);
    let web = s.get("web").unwrap();
    assert_eq!(web.relative_name, "web");
    assert_eq!(web.ttl, 60);
    assert_eq!(web.monitor.port, 80);
    assert_eq!(
        web.endpoints[0].target,
        EndpointTarget::Profile("eu".into())
    );
    assert_eq!(web.endpoints[1].priority, 2);
    let eu = s.get("eu").unwrap();
    assert_eq!(eu.max_return, 4);
    assert_eq!(
        eu.endpoints[1].target,
        EndpointTarget::Ipv6("2001:db8::1".parse().unwrap())
    );
}

#[test]
fn load_json_file() {
    let dir = TempDir::new("json");
    let file = json!({
        "profiles": [
            profile("a", "Weighted", json!([ext("x", "x.example.com"), ext("y", "y.example.com")])),
            profile("b", "Priority", json!([nested("to-a", "a"), ext("z", "z.example.com")]))
        ]
    });
    let text = serde_json::to_string_pretty(&file).unwrap();
    let path = dir.write("profiles.json", &text);
    let s = ProfileSet::load(&path, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.profiles()
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    // A YAML-named file may hold JSON (YAML reads JSON).
    let path = dir.write("profiles.yml", &text);
    let s = ProfileSet::load(&path, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.profiles().len(), 2);
}

#[test]
fn load_limits_and_invalid_files() {
    let dir = TempDir::new("invalid");
    // The max-endpoints limit applies to loaded files.
    let path = dir.write("two-each.yaml", YAML_FILE);
    match ProfileSet::load(
        &path,
        &Limits {
            max_endpoints: 1,
            ..Limits::default()
        },
    ) {
        Err(LoadError::Invalid {
            path: shown,
            source,
        }) => {
            assert!(shown.ends_with("two-each.yaml"), "{shown}");
            assert_eq!(source.errors.len(), 2, "{source}");
            for i in 0..2 {
                let path = format!("profiles[{i}].properties.endpoints");
                rule_at(&source, &path, &["at most 1 endpoints, got 2"]);
            }
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // One bad profile rejects the file.
    let bad = YAML_FILE.replace("maxReturn: 4", "maxReturn: 40");
    let path = dir.write("bad.yaml", &bad);
    match ProfileSet::load(&path, &Limits::default()) {
        Err(LoadError::Invalid { source, .. }) => {
            only(
                &source,
                "profiles[1].properties.maxReturn",
                &["1..=10, got 40"],
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // A missing file.
    match ProfileSet::load(&dir.0.join("missing.yaml"), &Limits::default()) {
        Err(LoadError::Read { path, .. }) => assert!(path.ends_with("missing.yaml")),
        other => panic!("expected Read, got {other:?}"),
    }
}

#[test]
fn syntax_error_names_the_field_path() {
    let dir = TempDir::new("syntax");
    let ttl = "profiles[0].properties.dnsConfig.ttl";
    let json_text = r#"{"profiles": [{"name": "a", "properties": {"trafficRoutingMethod": "Priority", "dnsConfig": {"ttl": "sixty"}}}]}"#;
    let yaml_text = "profiles:\n  - name: a\n    properties:\n      trafficRoutingMethod: Priority\n      dnsConfig:\n        ttl: sixty\n";
    for (name, text) in [("p.json", json_text), ("p.yaml", yaml_text)] {
        let path = dir.write(name, text);
        match ProfileSet::load(&path, &Limits::default()) {
            Err(LoadError::Syntax {
                path: shown,
                message,
            }) => {
                assert!(shown.ends_with(name), "{shown}");
                assert!(
                    message.starts_with(&format!("{ttl}: ")),
                    "{name}: {message}"
                );
                // The path is named once (serde_norway's message carries it, too).
                assert_eq!(message.matches(ttl).count(), 1, "{name}: {message}");
                assert!(message.contains("sixty"), "{name}: {message}");
                assert!(message.contains("line"), "{name}: {message}");
            }
            other => panic!("{name}: expected Syntax, got {other:?}"),
        }
    }
    // Deeper, and in arrays.
    let yaml = "profiles:\n  - name: a\n    properties:\n      endpoints:\n        - name: e\n          properties:\n            weight: [1]\n";
    let msg = parse_profiles_file(yaml, false).unwrap_err();
    assert!(
        msg.starts_with("profiles[0].properties.endpoints[0].properties.weight: "),
        "{msg}"
    );
    assert_eq!(msg.matches("properties.weight").count(), 1, "{msg}");
    let json_text = r#"{"profiles": [{"name": "a"}, {"name": "b", "properties": {"endpoints": [{"name": "e", "properties": {"weight": "x"}}]}}]}"#;
    let msg = parse_profiles_file(json_text, true).unwrap_err();
    assert!(
        msg.starts_with("profiles[1].properties.endpoints[0].properties.weight: "),
        "{msg}"
    );
    // Unknown top-level keys are syntax errors (the file is `profiles:` only).
    let msg = parse_profiles_file("profile:\n  - name: a\n", false).unwrap_err();
    assert!(msg.contains("profile"), "{msg}");
    assert!(msg.contains("unknown field"), "{msg}");
    // Malformed text.
    assert!(parse_profiles_file("{\"profiles\": [", true).is_err());
    assert!(parse_profiles_file("profiles: [\n", false).is_err());
}

#[test]
fn rule_endpoint_location_must_be_a_known_region() {
    let mut ep = ext("a", "a.example.com");
    ep["properties"]["endpointLocation"] = json!("Atlantis");
    let e = invalid(profile("p", "Performance", json!([ep])));
    rule_at(
        &e,
        "properties.endpoints[0].properties.endpointLocation",
        &["must name a known region", "\"Atlantis\""],
    );
    for known in ["West Europe", "westeurope", "eu-west-1", "europe-west1"] {
        let mut ep = ext("a", "a.example.com");
        ep["properties"]["endpointLocation"] = json!(known);
        assert!(
            validate::profile(
                &serde_json::from_value(profile("p", "Performance", json!([ep]))).unwrap(),
                &Limits::default()
            )
            .is_ok(),
            "{known}"
        );
    }
}
