//! HTTP and HTTPS probes: one GET on a fresh connection, no redirects followed.
//!
//! What an endpoint sends is bounded in size as well as in time (the probe's timeout bounds the
//! whole exchange, TLS handshake included): a complete status line and headers longer than
//! [`HEAD_LIMIT`] fail the probe as [`Failure::Malformed`]; a head that never ends is held to
//! hyper's read buffer, capped at [`READ_BUFFER_LIMIT`], and fails the same way once that is full
//! (hyper checks the header size only when the head is complete); the body is read
//! only for `bodyMatch`, and then only its first [`BODY_LIMIT`] bytes. A 3xx is a status like any
//! other (a failure unless the expected ranges include it, as in Azure); `Location` is never
//! followed.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use signpost_model::MonitorProtocol;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::probe::{Failure, ProbeSpec, io_failure};

/// Bytes of body read for `bodyMatch`.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Bytes of status line and headers accepted in a response.
pub const HEAD_LIMIT: usize = 32 * 1024;

/// hyper's read buffer, at most (it holds the head while parsing, then body data in flight).
pub const READ_BUFFER_LIMIT: usize = 64 * 1024;

/// Sends the GET and judges the response.
pub async fn probe(
    addr: SocketAddr,
    source: Option<std::net::IpAddr>,
    spec: &ProbeSpec,
) -> Result<u16, Failure> {
    let tcp = crate::probe::connect(addr, source).await?;
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
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(READ_BUFFER_LIMIT)
        .max_header_size(HEAD_LIMIT)
        .handshake(TokioIo::new(io))
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

/// Reads the body until `limit` bytes or its end; an endless body costs `limit` bytes (plus one
/// frame, at most [`READ_BUFFER_LIMIT`], in flight).
async fn read_prefix<B>(mut body: B, limit: usize) -> Result<Vec<u8>, Failure>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut out = Vec::with_capacity(limit.min(8 * 1024));
    while out.len() < limit {
        match body.frame().await {
            None => break,
            Some(Err(e)) => return Err(body_failure(e.into())),
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

fn body_failure(e: Box<dyn std::error::Error + Send + Sync>) -> Failure {
    match e.downcast::<hyper::Error>() {
        Ok(e) => hyper_failure(&e),
        Err(e) => Failure::Other {
            detail: e.to_string(),
        },
    }
}

fn hyper_failure(e: &hyper::Error) -> Failure {
    if let Some(io) = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>())
    {
        return crate::probe::io_failure(io);
    }
    // An oversize head is a parse error too ("message head is too large"): hyper names it so
    // only with its server feature.
    if e.is_parse() {
        Failure::Malformed {
            detail: e.to_string(),
        }
    } else if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        Failure::Reset
    } else {
        Failure::Other {
            detail: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use hyper::body::{Body, Frame};

    use super::*;

    /// A body that never ends, counting the frames it was asked for.
    struct Endless {
        pulled: usize,
    }

    impl Body for Endless {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.pulled += 1;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&[b'x'; 1000])))))
        }
    }

    /// An endless body is read up to the limit and no further.
    #[tokio::test]
    async fn an_endless_body_is_read_only_up_to_the_limit() {
        let mut body = Endless { pulled: 0 };
        let got = read_prefix(&mut body, BODY_LIMIT).await.unwrap();
        assert_eq!(got.len(), BODY_LIMIT);
        assert_eq!(body.pulled, BODY_LIMIT.div_ceil(1000));
    }
}
