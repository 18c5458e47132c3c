//! DNS over TCP (RFC 7766): length-prefixed messages, pipelining, idle timeout, connection cap.
//!
//! Queries on a connection are answered in order as they arrive; replies to pipelined queries are
//! flushed together once no further query is buffered. A connection idle for longer than the idle
//! timeout, or one that sends a message that must not be answered, is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::answer::{Answerer, Transport};

/// Accepts connections until `shutdown` changes, serving each on its own task.
pub async fn serve(
    listener: TcpListener,
    answerer: Answerer,
    idle_timeout: Duration,
    max_connections: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            // Over the cap: close at once rather than queue (RFC 7766 6.2.2).
            drop(stream);
            continue;
        };
        let answerer = answerer.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            connection(stream, peer, answerer, idle_timeout, shutdown).await;
            drop(permit);
        });
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    answerer: Answerer,
    idle: Duration,
    mut shutdown: watch::Receiver<bool>,
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
            res = tokio::time::timeout(idle, read) => match res {
                Ok(Ok(len)) => len,
                _ => break,
            },
            _ = shutdown.changed() => break,
        };
        if !answerer.answer(
            &query[..len],
            peer.ip(),
            Transport::Tcp,
            &mut rng,
            &mut reply,
        ) {
            break;
        }
        if w.write_u16(reply.len() as u16).await.is_err() || w.write_all(&reply).await.is_err() {
            break;
        }
        if r.buffer().is_empty() && w.flush().await.is_err() {
            break;
        }
    }
    let _ = w.flush().await;
    let _ = w.shutdown().await;
}
