//! The CLI's HTTP client for the API: one request per call on a fresh connection (hyper's client
//! connection API over a tokio `TcpStream`), bearer token from `--token` / `SIGNPOST_TOKEN`.

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Where the API is and how to authenticate.
#[derive(Debug, Clone)]
pub struct Client {
    host: String,
    port: u16,
    token: Option<String>,
}

/// A response: status, ETag and JSON body (Null when empty).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The ETag header.
    pub etag: Option<String>,
    /// The body.
    pub body: Value,
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
    /// A client for `url` (`http://host:port`).
    pub fn new(url: &str, token: Option<String>) -> Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("--api-url {url:?}: only http:// URLs are supported"))?;
        let authority = rest.trim_end_matches('/');
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h.trim_matches(['[', ']']).to_string(),
                p.parse()
                    .with_context(|| format!("--api-url {url:?}: bad port"))?,
            ),
            _ => (authority.to_string(), 80),
        };
        Ok(Self { host, port, token })
    }

    /// Sends one request.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(self.send(method, path, headers, body))
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
                    "cannot reach the API at {}:{} (is `signpost serve` running? see --api-url)",
                    self.host, self.port
                )
            })?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(connection);
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, format!("{}:{}", self.host, self.port))
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(t) = &self.token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (n, v) in headers {
            request = request.header(*n, *v);
        }
        let response = sender.send_request(request.body(Full::new(bytes))?).await?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get(hyper::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
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
        Ok(Reply { status, etag, body })
    }
}
