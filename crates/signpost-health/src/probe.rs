//! What a probe is, what it found, and running one.
//!
//! A probe is a fresh connection every time (no pooling: established connections hide firewall and
//! load-balancer problems), bounded as a whole by the profile's `timeoutInSeconds`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use signpost_model::{MonitorProtocol, StatusCodeRange};

use crate::resolve::Resolver;

/// Everything needed to probe one endpoint (derived from its profile's `monitorConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProbeSpec {
    /// HTTP, HTTPS or TCP.
    pub protocol: MonitorProtocol,
    /// Host name or address connected to (the endpoint's `probeTarget`, else its `target`).
    pub host: String,
    /// Port.
    pub port: u16,
    /// HTTP(S) path.
    pub path: String,
    /// `Host` header and TLS server name: the endpoint target, unless a custom `Host` header is set.
    pub host_header: String,
    /// Headers sent (profile's, overridden by the endpoint's), `Host` excluded.
    pub headers: Vec<(String, String)>,
    /// Healthy status codes.
    pub expected_status: Vec<StatusCodeRange>,
    /// Text required in the first 64 KiB of the body.
    pub body_match: Option<String>,
    /// Validate the server certificate (HTTPS).
    pub validate_certificates: bool,
    /// The whole probe's time limit.
    pub timeout: Duration,
}

impl ProbeSpec {
    /// What is probed, as a string (`HTTPS://app.example.com:443/health`): persisted health is
    /// only reused for the same probe.
    pub fn identity(&self) -> String {
        let scheme = match self.protocol {
            MonitorProtocol::Http => "HTTP",
            MonitorProtocol::Https => "HTTPS",
            MonitorProtocol::Tcp => "TCP",
        };
        format!("{scheme}://{}:{}{}", self.host, self.port, self.path)
    }
}

/// Why a probe failed: the reasons events and logs report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Failure {
    /// An HTTP status outside the expected ranges.
    Status {
        /// The status received.
        code: u16,
    },
    /// No complete answer within the timeout.
    Timeout,
    /// The connection was refused.
    Refused,
    /// The connection was reset or closed before a complete response.
    Reset,
    /// The TLS handshake failed.
    Tls {
        /// The TLS error.
        detail: String,
    },
    /// The probe target's name did not resolve.
    NameResolution {
        /// The resolver's error.
        detail: String,
    },
    /// The body did not contain the required text.
    BodyMismatch,
    /// The response was not valid HTTP/1.x, or its head exceeded the probe's size limit.
    Malformed {
        /// What was wrong.
        detail: String,
    },
    /// Any other I/O or protocol error.
    Other {
        /// The error.
        detail: String,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status { code } => write!(f, "HTTP status {code}"),
            Self::Timeout => f.write_str("timeout"),
            Self::Refused => f.write_str("connection refused"),
            Self::Reset => f.write_str("connection reset"),
            Self::Tls { detail } => write!(f, "TLS error: {detail}"),
            Self::NameResolution { detail } => write!(f, "name resolution failure: {detail}"),
            Self::BodyMismatch => f.write_str("body does not contain the expected text"),
            Self::Malformed { detail } => write!(f, "malformed response: {detail}"),
            Self::Other { detail } => write!(f, "error: {detail}"),
        }
    }
}

/// How a probe succeeded.
///
/// In the status file it is the number it always was (`0` for a TCP connection, else the HTTP
/// status), so files written by earlier releases still restore health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "u16", into = "u16")]
pub enum Success {
    /// The TCP connection was made (TCP probes).
    Connected,
    /// An HTTP status within the expected ranges.
    Http(u16),
}

impl From<u16> for Success {
    fn from(code: u16) -> Self {
        if code == 0 {
            Self::Connected
        } else {
            Self::Http(code)
        }
    }
}

impl From<Success> for u16 {
    fn from(s: Success) -> Self {
        match s {
            Success::Connected => 0,
            Success::Http(code) => code,
        }
    }
}

impl fmt::Display for Success {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connected => f.write_str("connected"),
            Self::Http(code) => write!(f, "HTTP {code}"),
        }
    }
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeResult {
    /// How it succeeded, or why it failed.
    pub outcome: Result<Success, Failure>,
    /// How long it took.
    pub latency_ms: u64,
}

impl ProbeResult {
    /// Whether the endpoint answered as expected.
    pub fn is_success(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The kind of outcome, one of a few fixed words (a metrics label): `success`, `status`,
    /// `timeout`, `refused`, `reset`, `tls`, `resolve`, `body`, `malformed`, `error`.
    pub fn class(&self) -> &'static str {
        match &self.outcome {
            Ok(_) => "success",
            Err(Failure::Status { .. }) => "status",
            Err(Failure::Timeout) => "timeout",
            Err(Failure::Refused) => "refused",
            Err(Failure::Reset) => "reset",
            Err(Failure::Tls { .. }) => "tls",
            Err(Failure::NameResolution { .. }) => "resolve",
            Err(Failure::BodyMismatch) => "body",
            Err(Failure::Malformed { .. }) => "malformed",
            Err(Failure::Other { .. }) => "error",
        }
    }

    /// The outcome alone: `connected`, `HTTP 200`, `timeout`, ... (the status view's `result`).
    pub fn summary(&self) -> String {
        match &self.outcome {
            Ok(s) => s.to_string(),
            Err(f) => f.to_string(),
        }
    }
}

/// The outcome and, for a success, its latency: `HTTP 200 in 3 ms`, `timeout` (events' reasons).
impl fmt::Display for ProbeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(s) => write!(f, "{s} in {} ms", self.latency_ms),
            Err(e) => e.fmt(f),
        }
    }
}

/// Runs one probe to completion or timeout.
pub async fn run(spec: &ProbeSpec, resolver: &Resolver) -> ProbeResult {
    run_from(spec, resolver, None).await
}

/// [`run`], connecting from `source` when given (the node's `--probe-source`).
pub async fn run_from(
    spec: &ProbeSpec,
    resolver: &Resolver,
    source: Option<IpAddr>,
) -> ProbeResult {
    let started = Instant::now();
    let outcome = match tokio::time::timeout(spec.timeout, attempt(spec, resolver, source)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Failure::Timeout),
    };
    ProbeResult {
        outcome,
        latency_ms: started.elapsed().as_millis() as u64,
    }
}

async fn attempt(
    spec: &ProbeSpec,
    resolver: &Resolver,
    source: Option<IpAddr>,
) -> Result<Success, Failure> {
    let ip = match spec.host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => resolver
            .resolve(&spec.host)
            .await
            .map_err(|detail| Failure::NameResolution { detail })?,
    };
    let addr = SocketAddr::new(ip, spec.port);
    match spec.protocol {
        MonitorProtocol::Tcp => crate::tcp::probe(addr, source)
            .await
            .map(|()| Success::Connected),
        MonitorProtocol::Http | MonitorProtocol::Https => crate::http::probe(addr, source, spec)
            .await
            .map(Success::Http),
    }
}

/// A TCP connection to `addr`, from `source` when given. A source of the other address family
/// cannot reach the target: that is the probe's failure, said plainly.
pub(crate) async fn connect(
    addr: SocketAddr,
    source: Option<IpAddr>,
) -> Result<tokio::net::TcpStream, Failure> {
    let Some(source) = source else {
        return tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| io_failure(&e));
    };
    if source.is_ipv4() != addr.is_ipv4() {
        return Err(Failure::Other {
            detail: format!("probe source {source} cannot reach {addr} (another address family)"),
        });
    }
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(|e| io_failure(&e))?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| Failure::Other {
            detail: format!("cannot bind the probe source {source}: {e}"),
        })?;
    socket.connect(addr).await.map_err(|e| io_failure(&e))
}

/// Maps an I/O error to a failure reason.
pub(crate) fn io_failure(e: &std::io::Error) -> Failure {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => Failure::Refused,
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => Failure::Reset,
        TimedOut => Failure::Timeout,
        _ => Failure::Other {
            detail: e.to_string(),
        },
    }
}
