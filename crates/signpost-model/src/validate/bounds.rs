//! Every numeric bound of a profile document, defined once.
//!
//! Validation checks against these constants and its errors print them; the REST API's OpenAPI
//! document takes each field's `minimum`, `maximum`, `default` and `maxItems` from [`FIELDS`] and
//! [`LISTS`]; the README's "Field bounds" table is [`markdown_table`], which a test keeps equal to
//! the README. A bound changed here changes all three.

/// An inclusive integer range, and the value taken when the field is absent (`None` when the
/// default depends on other fields: see the field's note in [`FIELDS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// Smallest value accepted.
    pub min: i64,
    /// Largest value accepted.
    pub max: i64,
    /// The value when the field is absent.
    pub default: Option<i64>,
}

impl Bound {
    const fn new(min: i64, max: i64, default: i64) -> Self {
        Self {
            min,
            max,
            default: Some(default),
        }
    }

    /// Whether `v` is inside the range.
    pub fn contains(&self, v: i64) -> bool {
        (self.min..=self.max).contains(&v)
    }
}

/// `dnsConfig.ttl`, seconds (the largest is RFC 2181's 2^31 - 1).
pub const TTL: Bound = Bound::new(0, 2_147_483_647, 30);
/// `dnsConfig.degradedTtl`, seconds: the TTL's range, and no default (absent: off).
pub const DEGRADED_TTL: Bound = Bound {
    min: TTL.min,
    max: TTL.max,
    default: None,
};
/// MultiValue `maxReturn`: addresses per answer.
pub const MAX_RETURN: Bound = Bound::new(1, 10, 2);
/// `monitorConfig.port`; the default is 443 for HTTPS, 80 otherwise.
pub const PORT: Bound = Bound {
    min: 1,
    max: 65_535,
    default: None,
};
/// `monitorConfig.port` when absent and the protocol is HTTPS.
pub const DEFAULT_HTTPS_PORT: i64 = 443;
/// `monitorConfig.port` when absent otherwise.
pub const DEFAULT_HTTP_PORT: i64 = 80;
/// `monitorConfig.intervalInSeconds`.
pub const INTERVAL: Bound = Bound::new(1, 3600, 30);
/// `monitorConfig.timeoutInSeconds`: at least this, at most the interval.
pub const TIMEOUT_MIN: i64 = 1;
/// `monitorConfig.timeoutInSeconds` when absent: this, or one second less than the interval when
/// that is shorter (never below [`TIMEOUT_MIN`]).
pub const DEFAULT_TIMEOUT: i64 = 10;
/// `monitorConfig.toleratedNumberOfFailures`.
pub const TOLERATED_FAILURES: Bound = Bound::new(0, 9, 3);
/// `monitorConfig.recoveryThreshold` (beyond Azure): successes a Degraded endpoint needs.
pub const RECOVERY_THRESHOLD: Bound = Bound::new(1, 10, 1);
/// `monitorConfig.bodyMatch`: its longest text, in bytes.
pub const MAX_BODY_MATCH_BYTES: usize = 1024;
/// A status code in `expectedStatusCodeRanges`.
pub const STATUS_CODE: Bound = Bound {
    min: 100,
    max: 999,
    default: None,
};
/// The healthy status code when `expectedStatusCodeRanges` is absent or empty.
pub const DEFAULT_STATUS_CODE: u16 = 200;
/// Endpoint `weight`.
pub const WEIGHT: Bound = Bound::new(1, 1000, 1);
/// Endpoint `priority`; absent ones get the smallest numbers not used, in order.
pub const PRIORITY: Bound = Bound {
    min: 1,
    max: 1000,
    default: None,
};
/// Nested `minChildEndpoints`.
pub const MIN_CHILD_ENDPOINTS: Bound = Bound::new(1, 1000, 1);
/// Nested `minChildEndpointsIPv4` and `minChildEndpointsIPv6`.
pub const MIN_CHILD_ENDPOINTS_FAMILY: Bound = Bound::new(0, 1000, 0);

/// Custom headers allowed per level (profile `monitorConfig` or endpoint).
pub const MAX_CUSTOM_HEADERS: usize = 8;
/// `expectedStatusCodeRanges` entries allowed per profile.
pub const MAX_STATUS_RANGES: usize = 8;
/// Endpoints a profile may hold unless the settings' `max_endpoints` says otherwise (Azure: 200).
pub const DEFAULT_MAX_ENDPOINTS: usize = 200;
/// The largest `max_endpoints` a server accepts: the routing tables (priority order, weighted and
/// MultiValue lists, subnet ranges, answers) refer to a profile's endpoints by `u16` index.
pub const MAX_ENDPOINTS_LIMIT: usize = u16::MAX as usize;
/// Levels of nesting allowed below a profile (Azure: 10).
pub const MAX_NESTING_DEPTH: usize = 10;
/// Longest profile name (letters, digits, hyphens, periods).
pub const MAX_PROFILE_NAME: usize = 63;
/// Longest endpoint name, in characters.
pub const MAX_ENDPOINT_NAME: usize = 260;
/// An operator override's `reason`: its longest text, in bytes (it is shown in status, explain
/// and logs, so it stays a sentence, not a document).
pub const MAX_OVERRIDE_REASON_BYTES: usize = 256;
/// An operator override's `createdBy`: its longest text, in bytes.
pub const MAX_OVERRIDE_CREATED_BY_BYTES: usize = 128;
/// The longest `for` an operator override may be given, in days.
pub const MAX_OVERRIDE_DAYS: u64 = 365;

/// One bounded integer field: the OpenAPI schema (a component of `signpost-api`'s document) and
/// property it appears as, its path in a profile document, and its bound.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The schema holding the property (`EndpointPropertiesDoc`).
    pub schema: &'static str,
    /// The property's JSON name (`weight`).
    pub property: &'static str,
    /// Where it sits in a profile document, for people.
    pub path: &'static str,
    /// Its range and default.
    pub bound: Bound,
    /// What the range does not say (a default that depends on other fields), if anything.
    pub note: &'static str,
}

impl Field {
    /// The default as the README states it: the value, or the rule when it depends on other
    /// fields.
    pub fn default_text(&self) -> String {
        match (self.schema, self.property) {
            ("MonitorConfigDoc", "port") => {
                format!("{DEFAULT_HTTPS_PORT} for HTTPS, {DEFAULT_HTTP_PORT} otherwise")
            }
            ("MonitorConfigDoc", "timeoutInSeconds") => format!(
                "{DEFAULT_TIMEOUT}, or intervalInSeconds - 1 when less (at least {TIMEOUT_MIN})"
            ),
            ("StatusCodeRangeDoc", _) => format!("no ranges: {DEFAULT_STATUS_CODE} only"),
            ("EndpointPropertiesDoc", "priority") => {
                "the smallest not used, in endpoint order".to_string()
            }
            _ => self
                .bound
                .default
                .map_or("-".to_string(), |d| d.to_string()),
        }
    }
}

/// Every bounded integer field of a profile document.
pub const FIELDS: &[Field] = &[
    Field {
        schema: "DnsConfigDoc",
        property: "ttl",
        path: "properties.dnsConfig.ttl",
        bound: TTL,
        note: "",
    },
    Field {
        schema: "DnsConfigDoc",
        property: "degradedTtl",
        path: "properties.dnsConfig.degradedTtl",
        bound: DEGRADED_TTL,
        note: "absent: answers always carry the TTL",
    },
    Field {
        schema: "ProfilePropertiesDoc",
        property: "maxReturn",
        path: "properties.maxReturn",
        bound: MAX_RETURN,
        note: "MultiValue only",
    },
    Field {
        schema: "MonitorConfigDoc",
        property: "port",
        path: "properties.monitorConfig.port",
        bound: PORT,
        note: "",
    },
    Field {
        schema: "MonitorConfigDoc",
        property: "intervalInSeconds",
        path: "properties.monitorConfig.intervalInSeconds",
        bound: INTERVAL,
        note: "",
    },
    Field {
        schema: "MonitorConfigDoc",
        property: "timeoutInSeconds",
        path: "properties.monitorConfig.timeoutInSeconds",
        bound: Bound {
            min: TIMEOUT_MIN,
            max: INTERVAL.max,
            default: None,
        },
        note: "at most intervalInSeconds",
    },
    Field {
        schema: "MonitorConfigDoc",
        property: "toleratedNumberOfFailures",
        path: "properties.monitorConfig.toleratedNumberOfFailures",
        bound: TOLERATED_FAILURES,
        note: "",
    },
    Field {
        schema: "MonitorConfigDoc",
        property: "recoveryThreshold",
        path: "properties.monitorConfig.recoveryThreshold",
        bound: RECOVERY_THRESHOLD,
        note: "beyond Azure",
    },
    Field {
        schema: "StatusCodeRangeDoc",
        property: "min",
        path: "properties.monitorConfig.expectedStatusCodeRanges[].min",
        bound: STATUS_CODE,
        note: "",
    },
    Field {
        schema: "StatusCodeRangeDoc",
        property: "max",
        path: "properties.monitorConfig.expectedStatusCodeRanges[].max",
        bound: STATUS_CODE,
        note: "at least min",
    },
    Field {
        schema: "EndpointPropertiesDoc",
        property: "weight",
        path: "properties.endpoints[].properties.weight",
        bound: WEIGHT,
        note: "",
    },
    Field {
        schema: "EndpointPropertiesDoc",
        property: "priority",
        path: "properties.endpoints[].properties.priority",
        bound: PRIORITY,
        note: "unique in the profile",
    },
    Field {
        schema: "EndpointPropertiesDoc",
        property: "minChildEndpoints",
        path: "properties.endpoints[].properties.minChildEndpoints",
        bound: MIN_CHILD_ENDPOINTS,
        note: "nested endpoints only",
    },
    Field {
        schema: "EndpointPropertiesDoc",
        property: "minChildEndpointsIPv4",
        path: "properties.endpoints[].properties.minChildEndpointsIPv4",
        bound: MIN_CHILD_ENDPOINTS_FAMILY,
        note: "nested endpoints only",
    },
    Field {
        schema: "EndpointPropertiesDoc",
        property: "minChildEndpointsIPv6",
        path: "properties.endpoints[].properties.minChildEndpointsIPv6",
        bound: MIN_CHILD_ENDPOINTS_FAMILY,
        note: "nested endpoints only",
    },
];

/// One bounded list or text: schema, property, path, its most items (or bytes, for text) and a
/// note.
#[derive(Debug, Clone, Copy)]
pub struct List {
    /// The schema holding the property.
    pub schema: &'static str,
    /// The property's JSON name.
    pub property: &'static str,
    /// Where it sits in a profile document, for people.
    pub path: &'static str,
    /// Most items (bytes, for a text).
    pub max: usize,
    /// What else to know, if anything.
    pub note: &'static str,
}

/// Every bounded list and text of a profile document, and an operator override's reason.
pub const LISTS: &[List] = &[
    List {
        schema: "ProfilePropertiesDoc",
        property: "endpoints",
        path: "properties.endpoints",
        max: DEFAULT_MAX_ENDPOINTS,
        note: "or the settings' `max_endpoints`",
    },
    List {
        schema: "MonitorConfigDoc",
        property: "customHeaders",
        path: "properties.monitorConfig.customHeaders",
        max: MAX_CUSTOM_HEADERS,
        note: "",
    },
    List {
        schema: "EndpointPropertiesDoc",
        property: "customHeaders",
        path: "properties.endpoints[].properties.customHeaders",
        max: MAX_CUSTOM_HEADERS,
        note: "",
    },
    List {
        schema: "MonitorConfigDoc",
        property: "expectedStatusCodeRanges",
        path: "properties.monitorConfig.expectedStatusCodeRanges",
        max: MAX_STATUS_RANGES,
        note: "",
    },
    List {
        schema: "MonitorConfigDoc",
        property: "bodyMatch",
        path: "properties.monitorConfig.bodyMatch",
        max: MAX_BODY_MATCH_BYTES,
        note: "bytes",
    },
    List {
        schema: "OverrideRequest",
        property: "reason",
        path: "override.reason",
        max: MAX_OVERRIDE_REASON_BYTES,
        note: "bytes; an operator override's reason (not in the profile), required, not empty",
    },
];

/// The README's "Field bounds" table, generated from [`FIELDS`] and [`LISTS`].
pub fn markdown_table() -> String {
    let mut out = String::from("| field | range | default | note |\n|---|---|---|---|\n");
    for f in FIELDS {
        out.push_str(&format!(
            "| `{}` | {}..={} | {} | {} |\n",
            f.path,
            f.bound.min,
            f.bound.max,
            f.default_text(),
            f.note
        ));
    }
    for l in LISTS {
        out.push_str(&format!(
            "| `{}` | at most {} | - | {} |\n",
            l.path, l.max, l.note
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_table_is_generated_from_these_bounds() {
        let readme = include_str!("../../../../README.md");
        let start = "<!-- bounds:start (generated: validate::bounds::markdown_table) -->\n";
        let end = "<!-- bounds:end -->";
        let from = readme.find(start).expect("README has the bounds table") + start.len();
        let to = from + readme[from..].find(end).expect("and its end marker");
        assert_eq!(
            readme[from..to],
            markdown_table(),
            "README.md's bounds table is out of date: paste markdown_table()'s output"
        );
    }

    #[test]
    fn defaults_are_inside_their_ranges() {
        for f in FIELDS {
            assert!(f.bound.min <= f.bound.max, "{}", f.path);
            if let Some(d) = f.bound.default {
                assert!(f.bound.contains(d), "{}", f.path);
            }
        }
        assert!(PORT.contains(DEFAULT_HTTP_PORT) && PORT.contains(DEFAULT_HTTPS_PORT));
        assert!(STATUS_CODE.contains(i64::from(DEFAULT_STATUS_CODE)));
        const { assert!(DEFAULT_MAX_ENDPOINTS <= MAX_ENDPOINTS_LIMIT) };
    }
}
