//! DNS over TCP (RFC 7766): length-prefixed messages, pipelining, and the limits that keep one
//! client from holding the listener: a global connection cap, a per-client cap, an idle timeout
//! (no query read, or no reply written, for that long), and a total lifetime per connection.
//!
//! Queries on a connection are answered in order as they arrive; replies to pipelined queries are
//! flushed together once no further query is buffered. A client that stops reading its replies
//! blocks only its own connection, which the idle timeout then closes; memory per connection is
//! one query buffer and one reply, whatever the client does.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::answer::{Answerer, Transport};

/// The TCP limits (see [`crate::ServerConfig`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpLimits {
    /// Close a connection that neither sends a query nor accepts a reply for this long.
    pub idle_timeout: Duration,
    /// Close every connection this long after it was accepted, busy or not.
    pub lifetime: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections served at once per client address.
    pub max_per_client: usize,
}

/// Open connections per client address, so one client cannot take every slot.
#[derive(Debug, Default)]
struct PerClient {
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerClient {
    /// Counts a connection from `ip` unless it already has `max` open.
    fn try_open(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= max.max(1) {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            table: self.clone(),
            ip,
        })
    }
}

/// One counted connection; uncounted when dropped.
struct ClientSlot {
    table: Arc<PerClient>,
    ip: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Accepts connections until `shutdown` is cancelled, serving each on its own task (which ends
/// its connection at the same signal).
pub(crate) async fn serve(
    listener: TcpListener,
    answerer: Answerer,
    limits: TcpLimits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let clients = Arc::new(PerClient::default());
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = shutdown.cancelled() => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        // Over a cap: close at once rather than queue (RFC 7766 6.2.2).
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "TCP connection cap reached; closed");
            continue;
        };
        let Some(slot) = clients.try_open(peer.ip(), limits.max_per_client) else {
            tracing::debug!(%peer, "per-client TCP connection cap reached; closed");
            continue;
        };
        let answerer = answerer.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + limits.lifetime;
            let _ = timeout_at(
                deadline,
                connection(stream, peer, answerer, limits.idle_timeout, shutdown),
            )
            .await;
            drop((permit, slot));
        });
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    answerer: Answerer,
    idle: Duration,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut w = BufWriter::new(w);
    let mut rng = fastrand::Rng::new();
    let mut query = vec![0u8; 65535];
    let mut reply = Vec::with_capacity(1024);
    loop {
        let read = async {
            let len = r.read_u16().await? as usize;
            r.read_exact(&mut query[..len]).await?;
            Ok::<usize, std::io::Error>(len)
        };
        let len = tokio::select! {
            res = timeout(idle, read) => match res {
                Ok(Ok(len)) => len,
                _ => break,
            },
            () = shutdown.cancelled() => break,
        };
        if answerer
            .answer(
                &query[..len],
                peer.ip(),
                Transport::Tcp,
                &mut rng,
                &mut reply,
            )
            .is_none()
        {
            break;
        }
        // A client that does not read its replies gets as long to make room as it would have
        // to send a query.
        let write = async {
            w.write_u16(reply.len() as u16).await?;
            w.write_all(&reply).await?;
            if r.buffer().is_empty() {
                w.flush().await?;
            }
            Ok::<(), std::io::Error>(())
        };
        if !matches!(timeout(idle, write).await, Ok(Ok(()))) {
            return; // nothing more can be written: no graceful close either
        }
    }
    let _ = timeout(idle, async {
        let _ = w.flush().await;
        let _ = w.shutdown().await;
    })
    .await;
}
