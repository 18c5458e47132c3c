//! Validated profiles and endpoints: the types routing and DNS consume.
//!
//! Values of these types only come out of [`crate::validate`], so they always satisfy the spec's
//! rules (ranges, uniqueness, addressing). Structs are `#[non_exhaustive]`: readable everywhere,
//! constructible only here. The `bounds::` names in field docs are the ranges and defaults of
//! [`crate::validate::bounds`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How a profile picks among its endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoutingMethod {
    /// The healthy endpoint with the lowest priority number.
    Priority,
    /// A random healthy endpoint, with probability weight / sum of healthy weights.
    Weighted,
    /// The healthy endpoint closest to the client's network.
    Performance,
    /// The endpoint mapped to the client's location (health is not considered).
    Geographic,
    /// Every healthy address of the queried family, up to `maxReturn`.
    MultiValue,
    /// The endpoint whose address range contains the client.
    Subnet,
}

impl RoutingMethod {
    /// Azure's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Priority => "Priority",
            Self::Weighted => "Weighted",
            Self::Performance => "Performance",
            Self::Geographic => "Geographic",
            Self::MultiValue => "MultiValue",
            Self::Subnet => "Subnet",
        }
    }
}

/// Probe protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonitorProtocol {
    /// HTTP GET.
    Http,
    /// HTTPS GET.
    Https,
    /// TCP connect.
    Tcp,
}

/// An inclusive range of HTTP status codes counted as healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusCodeRange {
    /// Lowest healthy code (within `bounds::STATUS_CODE`).
    pub min: u16,
    /// Highest healthy code (`min` or more, within `bounds::STATUS_CODE`).
    pub max: u16,
}

/// Profile-wide probe settings (`monitorConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MonitorConfig {
    /// Probe protocol (default HTTP).
    pub protocol: MonitorProtocol,
    /// Probe port (`bounds::PORT`; default `bounds::DEFAULT_HTTPS_PORT` for
    /// HTTPS, `bounds::DEFAULT_HTTP_PORT` otherwise).
    pub port: u16,
    /// Probe path for HTTP(S), starting with `/` (default `/`); `None` for TCP.
    pub path: Option<String>,
    /// Seconds between probes (`bounds::INTERVAL`).
    pub interval_secs: u32,
    /// Seconds a probe may take, at most the interval (default `bounds::DEFAULT_TIMEOUT`,
    /// or the interval less one when shorter).
    pub timeout_secs: u32,
    /// Consecutive failures tolerated before Degraded (`bounds::TOLERATED_FAILURES`).
    pub tolerated_failures: u8,
    /// Headers sent with HTTP(S) probes.
    pub custom_headers: Vec<(String, String)>,
    /// Healthy status codes (default `bounds::DEFAULT_STATUS_CODE` only).
    pub expected_status: Vec<StatusCodeRange>,
    /// Consecutive successes a Degraded endpoint needs to come back
    /// (`bounds::RECOVERY_THRESHOLD`).
    pub recovery_threshold: u8,
    /// Text HTTP(S) probes require in the first 64 KiB of the body.
    pub body_match: Option<String>,
    /// Whether HTTPS probes validate certificates (default false, Azure's behaviour).
    pub validate_certificates: bool,
}

/// Which endpoint target kinds a profile accepts (`allowedEndpointRecordTypes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AllowedRecordTypes {
    /// DNS names (answered with CNAME).
    pub domain_name: bool,
    /// IPv4 addresses (answered with A).
    pub ipv4: bool,
    /// IPv6 addresses (answered with AAAA).
    pub ipv6: bool,
}

impl AllowedRecordTypes {
    /// Every kind (`Any`, the default).
    pub const ANY: Self = Self {
        domain_name: true,
        ipv4: true,
        ipv6: true,
    };
}

/// A validated profile.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Profile {
    /// Resource name, unique in the server.
    pub name: String,
    /// Lower-case relative DNS name (one or more labels) in the traffic-manager zone.
    pub relative_name: String,
    /// `profileStatus == Enabled`.
    pub enabled: bool,
    /// The routing method.
    pub routing_method: RoutingMethod,
    /// Answer TTL in seconds.
    pub ttl: u32,
    /// `dnsConfig.degradedTtl`: the TTL while the profile is not all healthy (see
    /// `RoutingTable::compile`).
    pub degraded_ttl: Option<u32>,
    /// Probe settings.
    pub monitor: MonitorConfig,
    /// Endpoints in document order.
    pub endpoints: Vec<Endpoint>,
    /// MultiValue: addresses per answer (`bounds::MAX_RETURN`).
    pub max_return: u8,
    /// Accepted endpoint target kinds.
    pub allowed_record_types: AllowedRecordTypes,
    /// Traffic View enrolment (accepted and reported; Traffic View itself is a later feature).
    pub traffic_view: bool,
    /// What to answer when every endpoint that could serve is Degraded.
    pub all_down_policy: AllDownPolicy,
}

/// What a profile answers when every endpoint that could serve is Degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AllDownPolicy {
    /// Serve them all as if healthy (Azure's fail-open; the default).
    #[default]
    ServeAll,
    /// Answer NODATA (fail closed, resolvers cache it for the SOA minimum).
    NoData,
    /// Answer SERVFAIL (fail closed, resolvers retry elsewhere).
    ServFail,
}

impl AllDownPolicy {
    /// The spelling in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServeAll => "serveAll",
            Self::NoData => "noData",
            Self::ServFail => "servFail",
        }
    }
}

/// Azure's endpoint types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointKind {
    /// Any DNS name or address (`externalEndpoints`).
    External,
    /// Another profile (`nestedEndpoints`).
    Nested,
    /// An Azure resource, served as an external endpoint through its `target` (`azureEndpoints`).
    Azure,
}

impl EndpointKind {
    /// The kind a `type` names: the short name (`externalEndpoints`) or Azure's full resource type
    /// (`Microsoft.Network/trafficManagerProfiles/externalEndpoints`), in any case.
    pub fn parse(t: &str) -> Option<Self> {
        let t = t.trim();
        let short = match t.get(..crate::azure::PROFILE_TYPE.len() + 1) {
            Some(head)
                if head.eq_ignore_ascii_case(&format!("{}/", crate::azure::PROFILE_TYPE)) =>
            {
                &t[head.len()..]
            }
            _ => t,
        };
        [Self::External, Self::Nested, Self::Azure]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(short))
    }

    /// Azure's full resource type of endpoints of this kind.
    pub fn resource_type(self) -> String {
        format!("{}/{}", crate::azure::PROFILE_TYPE, self.as_str())
    }

    /// The short type name used in paths and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::External => "externalEndpoints",
            Self::Nested => "nestedEndpoints",
            Self::Azure => "azureEndpoints",
        }
    }
}

/// What an endpoint's answer points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EndpointTarget {
    /// A DNS name, lower-case, without the trailing dot: answered with a CNAME.
    Name(String),
    /// An IPv4 address: answered with an A record.
    Ipv4(Ipv4Addr),
    /// An IPv6 address: answered with an AAAA record.
    Ipv6(Ipv6Addr),
    /// A child profile, by name: answered with the child's answer.
    Profile(String),
}

/// Address family of a target or a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// An inclusive address range of one family (a CIDR block, a first-last range, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRange {
    /// First address.
    pub first: IpAddr,
    /// Last address (same family, `>= first`).
    pub last: IpAddr,
}

impl IpRange {
    /// Whether `addr` lies in the range (addresses of the other family never do).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.first, self.last, addr) {
            (IpAddr::V4(f), IpAddr::V4(l), IpAddr::V4(a)) => f <= a && a <= l,
            (IpAddr::V6(f), IpAddr::V6(l), IpAddr::V6(a)) => f <= a && a <= l,
            _ => false,
        }
    }

    /// Whether two ranges share an address.
    pub fn overlaps(&self, other: &IpRange) -> bool {
        self.contains(other.first)
            || self.contains(other.last)
            || other.contains(self.first)
            || other.contains(self.last)
    }
}

/// A validated endpoint.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Endpoint {
    /// Name, unique in its profile.
    pub name: String,
    /// Azure endpoint type.
    pub kind: EndpointKind,
    /// What the answer points at.
    pub target: EndpointTarget,
    /// `endpointStatus == Enabled`.
    pub enabled: bool,
    /// Weighted: the endpoint's share (`bounds::WEIGHT`).
    pub weight: u16,
    /// Priority: lower first (`bounds::PRIORITY`), unique in the profile.
    pub priority: u16,
    /// Performance: the endpoint's region, by its canonical name when it is a known one
    /// (`westeurope` becomes `West Europe`).
    pub location: Option<String>,
    /// Where that region is (latitude, longitude in degrees), resolved at validation from the
    /// built-in catalogue or the operator's regions.
    pub coordinates: Option<(f64, f64)>,
    /// Geographic: location codes (upper-case).
    pub geo_mapping: Vec<String>,
    /// Subnet routing or overrides.
    pub subnets: Vec<IpRange>,
    /// Probe headers overriding the profile's.
    pub custom_headers: Vec<(String, String)>,
    /// Nested: healthy child endpoints needed (`bounds::MIN_CHILD_ENDPOINTS`).
    pub min_child_endpoints: u32,
    /// Nested: healthy IPv4 child endpoints needed (0 = no requirement).
    pub min_child_endpoints_v4: u32,
    /// Nested: healthy IPv6 child endpoints needed (0 = no requirement).
    pub min_child_endpoints_v6: u32,
    /// Never probed and always served (`Unmonitored`).
    pub always_serve: bool,
    /// Host name or address probed instead of the target.
    pub probe_target: Option<String>,
}
