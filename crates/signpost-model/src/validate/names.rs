//! Names: profile names, DNS names, a nested endpoint's child profile.

use super::bounds::MAX_PROFILE_NAME;

/// Whether `n` is a profile name: letters, digits, hyphens and periods, starting and ending
/// with a letter or digit.
pub(super) fn is_resource_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_PROFILE_NAME
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
}

/// Whether `name` (no trailing dot) is one or more LDH labels of 1-63 characters.
pub fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        })
}

/// The child profile's name from a `targetResourceId`: a bare name, or the last segment of an ARM id
/// `.../providers/Microsoft.Network/trafficManagerProfiles/{name}`.
pub fn child_profile_name(id: &str) -> &str {
    let id = id.trim().trim_end_matches('/');
    match id.to_ascii_lowercase().rfind("/trafficmanagerprofiles/") {
        Some(at) => &id[at + "/trafficmanagerprofiles/".len()..],
        None => id,
    }
}
