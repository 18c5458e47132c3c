//! `monitorConfig`: protocol, port, path, timing, headers, expected status codes.

use super::bounds::{self, MAX_CUSTOM_HEADERS, MAX_STATUS_RANGES};
use super::{bounded, int_in};
use crate::azure::{HeaderDoc, MonitorConfigDoc, StatusCodeRangeDoc};
use crate::error::Errors;
use crate::profile::{MonitorConfig, MonitorProtocol, StatusCodeRange};

/// `p` is `monitorConfig`'s path.
pub(super) fn monitor_config(
    errs: &mut Errors,
    p: &str,
    doc: Option<&MonitorConfigDoc>,
) -> MonitorConfig {
    let default_doc = MonitorConfigDoc::default();
    let doc = doc.unwrap_or(&default_doc);
    let protocol = match doc.protocol.as_deref() {
        None => MonitorProtocol::Http,
        Some(v) if v.eq_ignore_ascii_case("HTTP") => MonitorProtocol::Http,
        Some(v) if v.eq_ignore_ascii_case("HTTPS") => MonitorProtocol::Https,
        Some(v) if v.eq_ignore_ascii_case("TCP") => MonitorProtocol::Tcp,
        Some(v) => {
            errs.push(
                format!("{p}.protocol"),
                format!("must be HTTP, HTTPS or TCP, got {v:?}"),
            );
            MonitorProtocol::Http
        }
    };
    let default_port = if protocol == MonitorProtocol::Https {
        bounds::DEFAULT_HTTPS_PORT
    } else {
        bounds::DEFAULT_HTTP_PORT
    };
    let port = int_in(
        errs,
        &format!("{p}.port"),
        doc.port,
        bounds::PORT.min,
        bounds::PORT.max,
        default_port,
    ) as u16;
    let path = match (protocol, doc.path.as_deref()) {
        (MonitorProtocol::Tcp, None) => None,
        (MonitorProtocol::Tcp, Some(_)) => {
            errs.push(format!("{p}.path"), "must not be set when protocol is TCP");
            None
        }
        (_, None) => Some("/".to_string()),
        (_, Some(path)) => {
            if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                errs.push(
                    format!("{p}.path"),
                    format!(
                        "must start with / and hold no spaces or control characters, got {path:?}"
                    ),
                );
            }
            Some(path.to_string())
        }
    };
    let interval_secs = bounded(
        errs,
        &format!("{p}.intervalInSeconds"),
        doc.interval_in_seconds,
        bounds::INTERVAL,
    ) as u32;
    let default_timeout = bounds::DEFAULT_TIMEOUT
        .min(i64::from(interval_secs) - 1)
        .max(bounds::TIMEOUT_MIN);
    let timeout_secs = int_in(
        errs,
        &format!("{p}.timeoutInSeconds"),
        doc.timeout_in_seconds,
        bounds::TIMEOUT_MIN,
        i64::from(interval_secs),
        default_timeout,
    ) as u32;
    let tolerated_failures = bounded(
        errs,
        &format!("{p}.toleratedNumberOfFailures"),
        doc.tolerated_number_of_failures,
        bounds::TOLERATED_FAILURES,
    ) as u8;
    let custom_headers = headers(
        errs,
        &format!("{p}.customHeaders"),
        doc.custom_headers.as_deref(),
    );
    let expected_status = status_ranges(
        errs,
        &format!("{p}.expectedStatusCodeRanges"),
        doc.expected_status_code_ranges.as_deref(),
    );
    let recovery_threshold = bounded(
        errs,
        &format!("{p}.recoveryThreshold"),
        doc.recovery_threshold,
        bounds::RECOVERY_THRESHOLD,
    ) as u8;
    let body_match = doc.body_match.clone().filter(|b| !b.is_empty());
    if let Some(b) = &body_match {
        if protocol == MonitorProtocol::Tcp {
            errs.push(
                format!("{p}.bodyMatch"),
                "must not be set when protocol is TCP",
            );
        } else if b.len() > bounds::MAX_BODY_MATCH_BYTES {
            errs.push(
                format!("{p}.bodyMatch"),
                format!(
                    "must be at most {} bytes, got {}",
                    bounds::MAX_BODY_MATCH_BYTES,
                    b.len()
                ),
            );
        }
    }
    let validate_certificates = doc.validate_certificates.unwrap_or(false);
    MonitorConfig {
        protocol,
        port,
        path,
        interval_secs,
        timeout_secs,
        tolerated_failures,
        custom_headers,
        expected_status,
        recovery_threshold,
        body_match,
        validate_certificates,
    }
}

/// Custom headers, at most [`MAX_CUSTOM_HEADERS`]; `p` is the list's path.
pub(super) fn headers(
    errs: &mut Errors,
    p: &str,
    docs: Option<&[HeaderDoc]>,
) -> Vec<(String, String)> {
    let docs = docs.unwrap_or(&[]);
    if docs.len() > MAX_CUSTOM_HEADERS {
        errs.push(
            p,
            format!(
                "must hold at most {MAX_CUSTOM_HEADERS} headers, got {}",
                docs.len()
            ),
        );
    }
    let mut out = Vec::with_capacity(docs.len());
    for (i, h) in docs.iter().enumerate() {
        let name = h.name.clone().unwrap_or_default();
        let value = h.value.clone().unwrap_or_default();
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            errs.push(
                format!("{p}[{i}].name"),
                format!("must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~), got {name:?}"),
            );
        }
        if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
            errs.push(format!("{p}[{i}].value"), "must not contain CR, LF or NUL");
        }
        out.push((name, value));
    }
    out
}

fn status_ranges(
    errs: &mut Errors,
    p: &str,
    docs: Option<&[StatusCodeRangeDoc]>,
) -> Vec<StatusCodeRange> {
    let Some(docs) = docs.filter(|d| !d.is_empty()) else {
        return vec![StatusCodeRange {
            min: bounds::DEFAULT_STATUS_CODE,
            max: bounds::DEFAULT_STATUS_CODE,
        }];
    };
    if docs.len() > MAX_STATUS_RANGES {
        errs.push(
            p,
            format!(
                "must hold at most {MAX_STATUS_RANGES} ranges, got {}",
                docs.len()
            ),
        );
    }
    let mut out = Vec::with_capacity(docs.len());
    for (i, r) in docs.iter().enumerate() {
        let (Some(min), Some(max)) = (r.min, r.max) else {
            errs.push(format!("{p}[{i}]"), "needs both min and max");
            continue;
        };
        let code = bounds::STATUS_CODE;
        let (min_ok, max_ok) = (code.contains(min), code.contains(max));
        if !min_ok {
            errs.push(
                format!("{p}[{i}].min"),
                format!("must be {}..={}, got {min}", code.min, code.max),
            );
        }
        if !max_ok {
            errs.push(
                format!("{p}[{i}].max"),
                format!("must be {}..={}, got {max}", code.min, code.max),
            );
        }
        if min_ok && max_ok && min > max {
            errs.push(
                format!("{p}[{i}]"),
                format!("min must not exceed max, got {min} > {max}"),
            );
        }
        out.push(StatusCodeRange {
            min: min as u16,
            max: max as u16,
        });
    }
    out
}
