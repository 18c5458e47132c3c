//! Resolving probe targets given as names: the system resolver, or a DNS server given with
//! `--probe-resolver ADDR:PORT` (queried directly over UDP, A then AAAA, with `domain`).
//! [`Resolver::lookup`] gives every address and, from a DNS server, the records' TTL (ALIAS
//! answers need both).

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use domain::base::iana::{Class, Rcode, Rtype};
use domain::base::{Message, MessageBuilder, Name};
use domain::rdata::{A, Aaaa};
use tokio::net::UdpSocket;

/// Where probe target names are resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Resolver {
    /// The operating system's resolver (`getaddrinfo`).
    #[default]
    System,
    /// A DNS server asked directly.
    Server(SocketAddr),
}

/// Every address of a name, as [`Resolver::lookup`] found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The A addresses, then the AAAA addresses (may be empty: the name has none).
    pub addresses: Vec<IpAddr>,
    /// The smallest TTL of those records (seconds); `None` from the system resolver, which does
    /// not tell, or when there are no records.
    pub ttl: Option<u32>,
}

impl Resolver {
    /// The first address of `host`, or why there is none.
    pub async fn resolve(&self, host: &str) -> Result<IpAddr, String> {
        match self {
            Self::System => tokio::net::lookup_host((host, 0))
                .await
                .map_err(|e| e.to_string())?
                .next()
                .map(|a| a.ip())
                .ok_or_else(|| format!("{host} has no address")),
            Self::Server(server) => {
                for rtype in [Rtype::A, Rtype::AAAA] {
                    if let Some(&(ip, _)) = ask(*server, host, rtype).await?.first() {
                        return Ok(ip);
                    }
                }
                Err(format!("{host} has no address"))
            }
        }
    }

    /// Every A and AAAA address of `host`, with their TTL when the resolver gives it.
    pub async fn lookup(&self, host: &str) -> Result<Lookup, String> {
        match self {
            Self::System => {
                let mut addresses: Vec<IpAddr> = tokio::net::lookup_host((host, 0))
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|a| a.ip())
                    .collect();
                addresses.sort_by_key(|a| a.is_ipv6());
                addresses.dedup();
                Ok(Lookup {
                    addresses,
                    ttl: None,
                })
            }
            Self::Server(server) => {
                let (v4, v6) = tokio::join!(
                    ask(*server, host, Rtype::A),
                    ask(*server, host, Rtype::AAAA)
                );
                let records: Vec<(IpAddr, u32)> = v4?.into_iter().chain(v6?).collect();
                Ok(Lookup {
                    addresses: records.iter().map(|r| r.0).collect(),
                    ttl: records.iter().map(|r| r.1).min(),
                })
            }
        }
    }
}

/// The addresses of type `rtype` in the answer to `host`, with their TTLs.
async fn ask(server: SocketAddr, host: &str, rtype: Rtype) -> Result<Vec<(IpAddr, u32)>, String> {
    let name = Name::<Vec<u8>>::from_str(&format!("{}.", host.trim_end_matches('.')))
        .map_err(|e| format!("{host}: {e}"))?;
    let id = fastrand::u16(..);
    let mut b = MessageBuilder::new_vec();
    b.header_mut().set_id(id);
    b.header_mut().set_rd(true);
    let mut b = b.question();
    b.push((&name, rtype, Class::IN))
        .map_err(|e| e.to_string())?;
    let query = b.finish();
    let bind: SocketAddr = if server.is_ipv4() {
        ([127, 0, 0, 1], 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    let bind = if server.ip().is_loopback() {
        bind
    } else {
        SocketAddr::new(
            if server.is_ipv4() {
                [0, 0, 0, 0].into()
            } else {
                std::net::Ipv6Addr::UNSPECIFIED.into()
            },
            0,
        )
    };
    let socket = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    socket.connect(server).await.map_err(|e| e.to_string())?;
    socket
        .send(&query)
        .await
        .map_err(|e| format!("resolver {server}: {e}"))?;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf))
        .await
        .map_err(|_| format!("resolver {server} did not answer"))?
        .map_err(|e| format!("resolver {server}: {e}"))?;
    buf.truncate(n);
    let msg =
        Message::from_octets(buf).map_err(|_| format!("resolver {server}: malformed answer"))?;
    if msg.header().id() != id {
        return Err(format!("resolver {server}: answer to another query"));
    }
    match msg.header().rcode() {
        Rcode::NOERROR => {}
        Rcode::NXDOMAIN => return Err(format!("{host}: no such name (NXDOMAIN)")),
        r => return Err(format!("resolver {server} answered {r}")),
    }
    let answer = msg
        .answer()
        .map_err(|_| format!("resolver {server}: malformed answer"))?;
    let ips = if rtype == Rtype::A {
        answer
            .limit_to::<A>()
            .filter_map(Result::ok)
            .map(|r| (IpAddr::V4(r.data().addr()), r.ttl().as_secs()))
            .collect()
    } else {
        answer
            .limit_to::<Aaaa>()
            .filter_map(Result::ok)
            .map(|r| (IpAddr::V6(r.data().addr()), r.ttl().as_secs()))
            .collect()
    };
    Ok(ips)
}
