//! The web dashboard's assets over real HTTP from the real binary: served without a token while
//! the API itself requires one, with their content types and the Content-Security-Policy.
//! (The page's behaviour is tested in Chromium by `scripts/dashboard-test.sh`.)

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use common::{Server, http, temp_dir};

/// `GET path` without a token: the status code, the headers (lower-case names) and the body as
/// text (the shared helper reads bodies as JSON).
fn get(addr: SocketAddr, path: &str) -> (u16, Vec<(String, String)>, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status.parse().unwrap(), headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

#[test]
fn assets_are_served_without_a_token_with_their_types_and_csp() {
    let dir = temp_dir("dashboard");
    let s = Server::start_env(
        &dir,
        &["--zone", "tm.test"],
        &[("SIGNPOST_ADMIN_TOKEN", "admin-token-0123456789")],
    );
    // The API itself still wants the token...
    assert_eq!(
        http(s.api, "GET", "/api/v1/profiles", &[], None).status,
        401
    );
    // ...while the page and its assets, which hold no data, do not.
    let (status, headers, body) = get(s.api, "/");
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    let csp = header(&headers, "content-security-policy");
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert!(body.starts_with("<!doctype html>"));
    assert!(body.contains(r#"<script src="dashboard.js" defer></script>"#));
    // Nothing is loaded from elsewhere: no absolute URL to another origin in the page.
    assert!(!body.contains("http://") && !body.contains("https://"));

    for (path, kind) in [
        ("/dashboard.js", "text/javascript; charset=utf-8"),
        ("/dashboard.css", "text/css; charset=utf-8"),
    ] {
        let (status, headers, body) = get(s.api, path);
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&headers, "content-type"), kind, "{path}");
        assert!(header(&headers, "content-security-policy").starts_with("default-src 'self';"));
        assert!(body.len() > 1000, "{path}: {} bytes", body.len());
        // The SVG namespace is a name, not a fetch; any other URL would be.
        let body = body.replace("'http://www.w3.org/2000/svg'", "");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path}"
        );
    }
    // The script never writes data as markup.
    let (_, _, script) = get(s.api, "/dashboard.js");
    assert!(!script.contains(".innerHTML") && !script.contains("insertAdjacentHTML"));
}
