//! HTTPS for the API: the real binary with a certificate the test makes, a rustls client that
//! trusts only that certificate, plain HTTP refused on the port, the certificate replaced while
//! serving (and a broken replacement ignored), a bad certificate stopping the start.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{Server, serve_fails, temp_dir, wait_until, write};

/// A self-signed certificate for `127.0.0.1` and `localhost`: (PEM certificate, PEM key, DER).
fn certificate() -> (String, String, Vec<u8>) {
    let c =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    (
        c.cert.pem(),
        c.signing_key.serialize_pem(),
        c.cert.der().to_vec(),
    )
}

fn install(dir: &Path, (cert, key, _): &(String, String, Vec<u8>)) {
    write(&dir.join("api.key"), key);
    write(&dir.join("api.crt"), cert);
}

/// `GET path` over HTTPS trusting only `trusted` (DER): the status line and body, and the DER of
/// the certificate the server presented; `None` when the handshake fails.
fn https_get(addr: SocketAddr, trusted: &[u8], path: &str) -> Option<(String, Vec<u8>)> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.to_vec().into()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).ok()?;
    let mut reply = Vec::new();
    // A close without close_notify still leaves the whole reply read.
    let _ = tls.read_to_end(&mut reply);
    let presented = tls.conn.peer_certificates()?.first()?.to_vec();
    Some((String::from_utf8_lossy(&reply).into_owned(), presented))
}

#[test]
fn the_api_serves_https_and_picks_up_a_new_certificate() {
    let dir = temp_dir("api-tls");
    let first = certificate();
    install(&dir, &first);
    let server = Server::start(
        &dir,
        &["--api-tls-cert", "api.crt", "--api-tls-key", "api.key"],
    );
    let (reply, presented) = https_get(server.api, &first.2, "/healthz").expect("a handshake");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("ok"), "{reply}");
    assert_eq!(presented, first.2);
    let (reply, _) = https_get(server.api, &first.2, "/api/v1/profiles").unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "the API itself: {reply}");

    // The CLI over HTTPS: trusting the certificate, and refusing one it was not told to trust.
    let url = format!("https://{}", server.api);
    let cli = |extra: &[&str]| {
        std::process::Command::new(common::BIN)
            .args(["--api-url", &url])
            .args(extra)
            .args(["profile", "list"])
            .env_remove("SIGNPOST_TOKEN")
            .output()
            .unwrap()
    };
    let ca = dir.join("api.crt");
    let listed = cli(&["--api-ca", ca.to_str().unwrap()]);
    assert!(listed.status.success(), "{}", common::stderr(&listed));
    assert!(
        common::stdout(&listed).contains("shop"),
        "the example profiles"
    );
    let untrusted = cli(&[]);
    assert!(!untrusted.status.success());
    assert!(
        common::stderr(&untrusted).contains("--api-ca"),
        "{}",
        common::stderr(&untrusted)
    );

    // Plain HTTP on the port gets no HTTP answer.
    let mut plain = TcpStream::connect(server.api).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw);
    assert!(
        !raw.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&raw)
    );

    // The files are replaced: new connections get the new certificate.
    let second = certificate();
    install(&dir, &second);
    wait_until("the new certificate is served", || {
        https_get(server.api, &second.2, "/healthz").is_some_and(|(_, p)| p == second.2)
    });
    server.wait_log("API TLS certificate reloaded");

    // A broken replacement is reported and the certificate in use stays.
    write(&dir.join("api.crt"), "not a certificate");
    server.wait_log("do not load");
    let (reply, presented) = https_get(server.api, &second.2, "/healthz").unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"));
    assert_eq!(presented, second.2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_certificate_that_does_not_load_stops_the_start() {
    let dir = temp_dir("api-tls-bad");
    std::fs::write(dir.join("api.crt"), "not a certificate").unwrap();
    std::fs::write(dir.join("api.key"), certificate().1).unwrap();
    let err = serve_fails(
        &dir,
        &[
            "--api-tls-cert",
            dir.join("api.crt").to_str().unwrap(),
            "--api-tls-key",
            dir.join("api.key").to_str().unwrap(),
        ],
    );
    assert!(err.contains("api_tls_cert"), "{err}");
    // A key that is not the certificate's.
    std::fs::write(dir.join("api.crt"), certificate().0).unwrap();
    let err = serve_fails(
        &dir,
        &[
            "--api-tls-cert",
            dir.join("api.crt").to_str().unwrap(),
            "--api-tls-key",
            dir.join("api.key").to_str().unwrap(),
        ],
    );
    assert!(err.contains("api_tls_key"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
