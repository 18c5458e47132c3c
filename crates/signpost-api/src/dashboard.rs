//! The web dashboard: one HTML page, one script and one style sheet, compiled into the binary
//! (`include_str!`), served at `GET /`, `/dashboard.js` and `/dashboard.css` of the API listener.
//!
//! The assets hold no data: the page reads everything through the REST API with the token the
//! operator types (kept in the browser's `sessionStorage`, sent as `Authorization: Bearer`), so
//! these routes need no token themselves and are mounted outside the token middleware. Nothing
//! is loaded from anywhere else (no CDN, no web fonts): the `Content-Security-Policy` allows
//! this origin only, so the page works on a closed network and injected markup could not load
//! or run anything. No build step: the files are plain HTML, CSS and JavaScript, edited as they
//! are served.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The page's markup.
const INDEX_HTML: &str = include_str!("../assets/index.html");
/// The page's script (vanilla JavaScript, no framework).
const DASHBOARD_JS: &str = include_str!("../assets/dashboard.js");
/// The page's style sheet.
const DASHBOARD_CSS: &str = include_str!("../assets/dashboard.css");

/// Only this origin: scripts, styles, images and API calls alike; no framing, no `<base>`, forms
/// post nowhere else. No `'unsafe-inline'`: the page has no inline script or style.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The dashboard's routes (no state, no token: see the module's documentation).
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/dashboard.js",
            get(|| async { asset("text/javascript; charset=utf-8", DASHBOARD_JS) }),
        )
        .route(
            "/dashboard.css",
            get(|| async { asset("text/css; charset=utf-8", DASHBOARD_CSS) }),
        )
}

/// One asset with its content type and the security headers every dashboard response carries.
/// `no-cache` makes the browser revalidate, so a new binary's page is never mixed with an old
/// script.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
