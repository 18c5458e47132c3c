//! TCP probes: healthy when a connection is established.

use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::probe::{Failure, io_failure};

/// Connects and closes at once.
pub async fn probe(addr: SocketAddr) -> Result<(), Failure> {
    let stream = TcpStream::connect(addr).await.map_err(|e| io_failure(&e))?;
    drop(stream);
    Ok(())
}
