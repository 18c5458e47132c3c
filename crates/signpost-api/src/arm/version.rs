//! ARM's `api-version` query parameter: required on every request, and one of the versions
//! whose Traffic Manager shape Signpost serves. Every version gets the same documents (the
//! newest shape; older clients ignore fields they do not know, as ARM's own do).

use axum::http::StatusCode;

use super::errors::ArmError;

/// The versions accepted: those of the REST specification's stable Traffic Manager API from
/// 2017-05-01 on, and 2026-09-01, which `azure-mgmt-trafficmanager` 2.0.0 sends on every call.
pub(crate) const SUPPORTED: &[&str] = &[
    "2017-05-01",
    "2018-02-01",
    "2018-03-01",
    "2018-04-01",
    "2018-08-01",
    "2022-04-01",
    "2026-09-01",
];

/// Checks the request's query string (`None`: there is none).
pub(crate) fn check(query: Option<&str>) -> Result<(), ArmError> {
    let given = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            k.eq_ignore_ascii_case("api-version").then(|| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        });
    let Some(v) = given else {
        let mut e = ArmError::new(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            format!(
                "The api-version query parameter (?api-version=) is required for all requests. The supported api-versions are '{}'.",
                SUPPORTED.join(", ")
            ),
        );
        e.target = Some("api-version".into());
        return Err(e);
    };
    if SUPPORTED.contains(&v.trim()) {
        return Ok(());
    }
    let mut e = ArmError::new(
        StatusCode::BAD_REQUEST,
        "InvalidApiVersionParameter",
        format!(
            "The api-version '{v}' is invalid. The supported versions are '{}'.",
            SUPPORTED.join(", ")
        ),
    );
    e.target = Some("api-version".into());
    Err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_is_required_and_known() {
        assert!(check(Some("api-version=2018-08-01")).is_ok());
        assert!(check(Some("topLeft=1,2&api-version=2026-09-01")).is_ok());
        assert_eq!(check(None).unwrap_err().code, "MissingApiVersionParameter");
        assert_eq!(
            check(Some("api-version=2099-01-01")).unwrap_err().code,
            "InvalidApiVersionParameter"
        );
    }
}
