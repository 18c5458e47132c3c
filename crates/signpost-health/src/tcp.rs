//! TCP probes: healthy when a connection is established.

use std::net::{IpAddr, SocketAddr};

use crate::probe::Failure;

/// Connects (from `source`, when given) and closes at once.
pub async fn probe(addr: SocketAddr, source: Option<IpAddr>) -> Result<(), Failure> {
    let stream = crate::probe::connect(addr, source).await?;
    drop(stream);
    Ok(())
}
