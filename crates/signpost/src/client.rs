//! The CLI's HTTP client for the API: one request per call on a fresh connection (hyper's client
//! connection API over a tokio `TcpStream`, or over TLS for `https://` URLs, on one runtime the
//! client keeps), bearer token from `--token` / `SIGNPOST_TOKEN`, every request bounded by
//! [`REQUEST_TIMEOUT`]. HTTPS trusts the system's roots, or the certificates of `--api-ca`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// How long one request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the API is and how to authenticate.
#[derive(Debug)]
pub struct Client {
    host: String,
    port: u16,
    token: Option<String>,
    /// For `https://`: the TLS client settings.
    tls: Option<Arc<rustls::ClientConfig>>,
    runtime: tokio::runtime::Runtime,
}

/// A response: HTTP status and JSON body (Null when empty).
#[derive(Debug)]
#[allow(missing_docs)] // said above
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// A name as one path segment or query value (profile and endpoint names may hold spaces and
/// other characters a URL cannot carry as they are).
pub fn segment(name: &str) -> String {
    utf8_percent_encode(name, NON_ALPHANUMERIC).to_string()
}

/// `/api/v1/profiles/{name}`, the name encoded.
pub fn profile_path(name: &str) -> String {
    format!("/api/v1/profiles/{}", segment(name))
}

impl Reply {
    /// The API's error message, for a failed request.
    pub fn error_text(&self) -> String {
        let e = &self.body["error"];
        let mut text = e["message"]
            .as_str()
            .unwrap_or("request failed")
            .to_string();
        if let Some(details) = e["details"].as_array().filter(|d| d.len() > 1) {
            text = details
                .iter()
                .map(|d| {
                    format!(
                        "{}: {}",
                        d["target"].as_str().unwrap_or(""),
                        d["message"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n  ");
        }
        format!("HTTP {}: {text}", self.status)
    }
}

impl Client {
    /// A client for `url` (`http://host[:port]` or `https://host[:port]`, IPv6 hosts in
    /// brackets); HTTPS trusts the certificates in `ca` (PEM) when given, else the system's.
    pub fn new(url: &str, token: Option<String>, ca: Option<&Path>) -> Result<Self> {
        let uri: hyper::Uri = url
            .parse()
            .with_context(|| format!("--api-url {url:?}: not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("http") => None,
            Some("https") => Some(tls_config(ca)?),
            _ => bail!("--api-url {url:?}: only http:// and https:// URLs are supported"),
        };
        if !matches!(uri.path(), "" | "/") {
            bail!("--api-url {url:?}: give the server's address only, without a path");
        }
        let host = uri
            .host()
            .with_context(|| format!("--api-url {url:?}: no host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let port = uri
            .port_u16()
            .unwrap_or(if tls.is_some() { 443 } else { 80 });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            host,
            port,
            token,
            tls,
            runtime,
        })
    }

    /// Sends one request (the path already encoded: see [`segment`]).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply> {
        self.runtime.block_on(async {
            tokio::time::timeout(REQUEST_TIMEOUT, self.send(method, path, headers, body))
                .await
                .with_context(|| {
                    format!(
                        "{method} {path}: no answer from {} within {} s",
                        self.authority(),
                        REQUEST_TIMEOUT.as_secs()
                    )
                })?
        })
    }

    /// `host:port`, an IPv6 host in brackets.
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply> {
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .with_context(|| {
                format!(
                    "cannot reach the API at {} (is `signpost serve` running? see --api-url)",
                    self.authority()
                )
            })?;
        match &self.tls {
            None => self.exchange(stream, method, path, headers, body).await,
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .with_context(|| {
                        format!("--api-url: {:?} is not a TLS server name", self.host)
                    })?;
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, stream)
                    .await
                    .with_context(|| {
                        format!(
                            "TLS with the API at {} failed (an untrusted certificate? see --api-ca)",
                            self.authority()
                        )
                    })?;
                self.exchange(tls, method, path, headers, body).await
            }
        }
    }

    /// One request and its response over `io` (a TCP or TLS stream).
    async fn exchange<S>(
        &self,
        io: S,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
        let driver = tokio::spawn(connection);
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.authority())
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(t) = &self.token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (n, v) in headers {
            request = request.header(*n, *v);
        }
        let response = sender.send_request(request.body(Full::new(bytes))?).await?;
        let status = response.status().as_u16();
        let collected = response.into_body().collect().await?.to_bytes();
        driver.abort();
        let body = if collected.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&collected) {
                Ok(v) => v,
                Err(_) => bail!("HTTP {status}: {}", String::from_utf8_lossy(&collected)),
            }
        };
        Ok(Reply { status, body })
    }
}

/// TLS client settings trusting the PEM certificates in `ca`, or the system's roots.
fn tls_config(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let Some(ca) = ca else {
        return Ok(signpost_health::tls::client_config(true).clone());
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)
        .with_context(|| format!("--api-ca: cannot read {}", ca.display()))?
    {
        let cert = cert.with_context(|| format!("--api-ca: {} is not PEM", ca.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("--api-ca: a certificate in {} is unusable", ca.display()))?;
    }
    if roots.is_empty() {
        bail!("--api-ca: {} holds no certificate", ca.display());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_name_host_and_port() {
        let at = |url: &str| Client::new(url, None, None).map(|c| c.authority());
        assert_eq!(at("http://127.0.0.1:8053").unwrap(), "127.0.0.1:8053");
        assert_eq!(at("http://127.0.0.1:8053/").unwrap(), "127.0.0.1:8053");
        assert_eq!(at("http://[::1]:8053").unwrap(), "[::1]:8053");
        assert_eq!(at("http://localhost").unwrap(), "localhost:80");
        assert_eq!(at("https://127.0.0.1").unwrap(), "127.0.0.1:443");
        for bad in [
            "ftp://127.0.0.1",
            "http://127.0.0.1:8053/api",
            "127.0.0.1:x",
        ] {
            assert!(at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_encoded_as_one_segment() {
        assert_eq!(
            profile_path("My profile/x"),
            "/api/v1/profiles/My%20profile%2Fx"
        );
        assert_eq!(segment("2001:db8::1"), "2001%3Adb8%3A%3A1");
    }
}
