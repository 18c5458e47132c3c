//! Bearer tokens with two roles: `reader` (GET) and `admin` (everything). With no token
//! configured the API is open, and the server only lets it listen on loopback. The dashboard's
//! page and assets are mounted outside this middleware (they hold no data; the page sends the
//! operator's token on its API calls).

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::routes::ApiState;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read only.
    Reader,
    /// Read and write.
    Admin,
}

/// The configured tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens(pub Vec<(String, Role)>);

impl Tokens {
    /// Whether any token is configured (if not, the API is open).
    pub fn enabled(&self) -> bool {
        !self.0.is_empty()
    }

    fn role(&self, presented: &str) -> Option<Role> {
        // Compare every token in full so timing does not reveal a matching prefix.
        let mut found = None;
        for (token, role) in &self.0 {
            let same = token.len() == presented.len()
                && token
                    .bytes()
                    .zip(presented.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0;
            if same {
                found = Some(*role);
            }
        }
        found
    }
}

/// Paths served without a token: liveness, the API's description, and what browsers on the
/// operator's sites call for Real User Measurements (they carry the user metrics key instead).
fn public(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/openapi.json" | "/rum.js" | "/api/v1/rum/targets" | "/api/v1/rum/reports"
    )
}

/// Middleware: 401 without a valid token, 403 when a reader writes. ARM's paths get ARM's codes
/// (`InvalidAuthenticationToken`, `AuthorizationFailed`) in ARM's envelope; on them a name
/// availability check is a read, as in ARM.
pub(crate) async fn require(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    if !state.tokens.enabled() || public(request.uri().path()) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let arm = crate::arm::is_arm(path);
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(role) = presented.and_then(|t| state.tokens.role(t)) else {
        if arm {
            return crate::arm::ArmError::unauthenticated().into_response();
        }
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "a valid bearer token is required",
        )
        .into_response();
    };
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    let name_check = if arm {
        let lower = path.to_ascii_lowercase();
        lower.ends_with("/checktrafficmanagernameavailability")
            || lower.ends_with("/checktrafficmanagernameavailabilityv2")
    } else {
        path.ends_with("/checkTrafficManagerNameAvailability")
    };
    if role == Role::Reader && !reads && !name_check {
        if arm {
            return crate::arm::ArmError::forbidden().into_response();
        }
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "this token may only read",
        )
        .into_response();
    }
    next.run(request).await
}
