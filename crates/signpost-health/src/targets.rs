//! Which endpoints are probed, and how: every enabled endpoint of an enabled profile, except
//! nested endpoints (their health is their child profile's) and `alwaysServe` ones.

use std::time::Duration;

use signpost_model::{EndpointTarget, MonitorProtocol, ProfileSet};

use crate::monitor::Target;
use crate::probe::ProbeSpec;

/// The probe targets of a configuration.
pub fn targets(set: &ProfileSet) -> Vec<Target> {
    let mut out = Vec::new();
    for p in set.profiles().iter().filter(|p| p.enabled) {
        let m = &p.monitor;
        for ep in p.endpoints.iter().filter(|e| e.enabled && !e.always_serve) {
            let served = match &ep.target {
                EndpointTarget::Name(n) => n.clone(),
                EndpointTarget::Ipv4(a) => a.to_string(),
                EndpointTarget::Ipv6(a) => a.to_string(),
                EndpointTarget::Profile(_) => continue,
            };
            // Endpoint headers override the profile's of the same name.
            let mut headers: Vec<(String, String)> = m
                .custom_headers
                .iter()
                .filter(|(n, _)| {
                    !ep.custom_headers
                        .iter()
                        .any(|(en, _)| en.eq_ignore_ascii_case(n))
                })
                .chain(ep.custom_headers.iter())
                .cloned()
                .collect();
            let host_header = match headers
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case("host"))
            {
                Some(i) => headers.remove(i).1,
                None => match &ep.target {
                    EndpointTarget::Ipv6(a) => format!("[{a}]"),
                    _ => served.clone(),
                },
            };
            out.push(Target {
                key: (p.name.clone(), ep.name.clone()),
                spec: ProbeSpec {
                    protocol: m.protocol,
                    host: ep.probe_target.clone().unwrap_or(served),
                    port: m.port,
                    path: m.path.clone().unwrap_or_else(|| "/".into()),
                    host_header,
                    headers: if m.protocol == MonitorProtocol::Tcp {
                        Vec::new()
                    } else {
                        headers
                    },
                    expected_status: m.expected_status.clone(),
                    body_match: m.body_match.clone(),
                    validate_certificates: m.validate_certificates,
                    timeout: Duration::from_secs(u64::from(m.timeout_secs)),
                },
                interval: Duration::from_secs(u64::from(m.interval_secs)),
                tolerated_failures: m.tolerated_failures,
                recovery_threshold: m.recovery_threshold,
            });
        }
    }
    out
}
