//! Address ranges (`subnets`): a range, a CIDR block or one address.

use std::net::IpAddr;

use crate::azure::SubnetDoc;
use crate::error::Errors;
use crate::profile::IpRange;

/// One `subnets` item; `None` (with the error recorded) when it is not a range.
pub(super) fn subnet(errs: &mut Errors, p: &str, doc: &SubnetDoc) -> Option<IpRange> {
    let first = match doc.first.as_deref().map(|f| f.trim().parse::<IpAddr>()) {
        Some(Ok(a)) => a,
        Some(Err(_)) | None => {
            errs.push(
                format!("{p}.first"),
                format!(
                    "must be an IPv4 or IPv6 address, got {}",
                    doc.first
                        .as_deref()
                        .map_or("nothing".to_string(), |f| format!("{f:?}"))
                ),
            );
            return None;
        }
    };
    let max_len: i64 = if first.is_ipv4() { 32 } else { 128 };
    match (doc.last.as_deref(), doc.scope) {
        (Some(_), Some(_)) => {
            errs.push(
                p,
                "must give either last (a range) or scope (a CIDR block), not both",
            );
            None
        }
        (Some(last), None) => match last.trim().parse::<IpAddr>() {
            Ok(last) if last.is_ipv4() == first.is_ipv4() => {
                if last < first {
                    errs.push(
                        format!("{p}.last"),
                        format!("must not be below first ({first}), got {last}"),
                    );
                    return None;
                }
                Some(IpRange { first, last })
            }
            _ => {
                errs.push(
                    format!("{p}.last"),
                    format!("must be an address of the same family as first, got {last:?}"),
                );
                None
            }
        },
        (None, Some(scope)) => {
            if !(0..=max_len).contains(&scope) {
                errs.push(
                    format!("{p}.scope"),
                    format!("must be 0..={max_len}, got {scope}"),
                );
                return None;
            }
            let (net, last) = cidr_bounds(first, scope as u8);
            if net != first {
                errs.push(
                    format!("{p}.first"),
                    format!(
                        "must be the network address of the /{scope} block ({net}), got {first}"
                    ),
                );
                return None;
            }
            Some(IpRange { first, last })
        }
        (None, None) => Some(IpRange { first, last: first }),
    }
}

/// First and last address of the `/len` block containing `addr`.
pub fn cidr_bounds(addr: IpAddr, len: u8) -> (IpAddr, IpAddr) {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            (
                IpAddr::V4((bits & mask).into()),
                IpAddr::V4((bits | !mask).into()),
            )
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            (
                IpAddr::V6((bits & mask).into()),
                IpAddr::V6((bits | !mask).into()),
            )
        }
    }
}
