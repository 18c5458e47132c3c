//! HTTP and HTTPS probes: one GET on a fresh connection, no redirects followed.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use signpost_model::MonitorProtocol;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::probe::{Failure, ProbeSpec, io_failure};

/// Bytes of body read for `bodyMatch`.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Sends the GET and judges the response.
pub async fn probe(addr: SocketAddr, spec: &ProbeSpec) -> Result<u16, Failure> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| io_failure(&e))?;
    let _ = tcp.set_nodelay(true);
    if spec.protocol == MonitorProtocol::Https {
        let config = crate::tls::client_config(spec.validate_certificates);
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
        let name = crate::tls::server_name(&spec.host_header);
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::Other => Failure::Tls {
                    detail: e.to_string(),
                },
                _ => match io_failure(&e) {
                    Failure::Other { detail } => Failure::Tls { detail },
                    f => f,
                },
            })?;
        exchange(tls, spec).await
    } else {
        exchange(tcp, spec).await
    }
}

async fn exchange<S>(io: S, spec: &ProbeSpec) -> Result<u16, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| hyper_failure(&e))?;
    let driver = tokio::spawn(connection);
    let mut request = hyper::Request::get(spec.path.as_str())
        .header(hyper::header::HOST, spec.host_header.as_str())
        .header(hyper::header::USER_AGENT, "Signpost-Endpoint-Monitor")
        .header(hyper::header::CONNECTION, "close");
    for (name, value) in &spec.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| Failure::Other {
            detail: e.to_string(),
        })?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| hyper_failure(&e))?;
        let code = response.status().as_u16();
        if !spec
            .expected_status
            .iter()
            .any(|r| (r.min..=r.max).contains(&code))
        {
            return Err(Failure::Status { code });
        }
        if let Some(needle) = &spec.body_match {
            let body = read_prefix(response.into_body(), BODY_LIMIT).await?;
            if !contains(&body, needle.as_bytes()) {
                return Err(Failure::BodyMismatch);
            }
        }
        Ok(code)
    }
    .await;
    driver.abort();
    result
}

/// Reads the body until `limit` bytes or its end.
async fn read_prefix(mut body: hyper::body::Incoming, limit: usize) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    while out.len() < limit {
        match body.frame().await {
            None => break,
            Some(Err(e)) => return Err(hyper_failure(&e)),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let take = data.len().min(limit - out.len());
                    out.extend_from_slice(&data[..take]);
                }
            }
        }
    }
    Ok(out)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn hyper_failure(e: &hyper::Error) -> Failure {
    if let Some(io) = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>())
    {
        return crate::probe::io_failure(io);
    }
    if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        Failure::Reset
    } else {
        Failure::Other {
            detail: e.to_string(),
        }
    }
}
