//! `dnsConfig`: the relative name, the TTL and the degraded TTL.

use super::bounds::{DEGRADED_TTL, TTL};
use super::names::is_dns_name;
use super::{bounded, int_in};
use crate::azure::DnsConfigDoc;
use crate::error::Errors;

/// The relative name (the profile's name when absent), the TTL and the degraded TTL, `p` being
/// `dnsConfig`'s path.
pub(super) fn dns_config(
    errs: &mut Errors,
    p: &str,
    doc: Option<&DnsConfigDoc>,
    profile_name: &str,
) -> (String, u32, Option<u32>) {
    let relative_name =
        crate::azure::relative_name(doc.and_then(|d| d.relative_name.as_deref()), profile_name);
    // `is_dns_name` also accepts `_` (legal in targets); the relative name is letters, digits, hyphens.
    if !is_dns_name(&relative_name) || relative_name.contains('_') {
        errs.push(
            format!("{p}.relativeName"),
            format!("must be DNS labels of 1-63 letters, digits or hyphens (not starting or ending with a hyphen), got {relative_name:?}"),
        );
    }
    let ttl = bounded(errs, &format!("{p}.ttl"), doc.and_then(|d| d.ttl), TTL) as u32;
    let degraded_ttl = doc.and_then(|d| d.degraded_ttl).map(|v| {
        let b = DEGRADED_TTL;
        int_in(
            errs,
            &format!("{p}.degradedTtl"),
            Some(v),
            b.min,
            b.max,
            b.min,
        ) as u32
    });
    (relative_name, ttl, degraded_ttl)
}
