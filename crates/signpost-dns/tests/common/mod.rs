//! Shared helpers: a real server on a free loopback port, and real queries over UDP and TCP.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use domain::base::iana::{Class, Rcode, Rtype};
use domain::base::opt::ClientSubnet;
use domain::base::{Message, MessageBuilder, Name, ParsedName, Record};
use domain::rdata::{A, Aaaa, AllRecordData};
use signpost_dns::{DnsServer, NameServer, ServerConfig, Snapshot, ZoneConfig};
use signpost_model::{Limits, ProfileSet};
use signpost_routing::{AllHealthy, RoutingTable};

pub struct TestServer {
    pub addr: SocketAddr,
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    pub zones: Vec<ZoneConfig>,
    _server: DnsServer,
    _runtime: tokio::runtime::Runtime,
}

/// One Priority profile, `contoso`, with one name endpoint: enough for tests of the transports
/// and defences, which care about packets rather than routing.
pub const ONE_PROFILE: &str = r#"
profiles:
  - name: contoso
    properties:
      trafficRoutingMethod: Priority
      endpoints:
        - { name: us, type: externalEndpoints, properties: { target: contoso-us.cloudapp.net } }
"#;

pub fn profiles(yaml: &str) -> ProfileSet {
    let file = signpost_model::set::parse_profiles_file(yaml, false).expect("profiles parse");
    ProfileSet::from_docs(&file.profiles, &Limits::default()).expect("profiles valid")
}

pub fn zone(apex: &str) -> ZoneConfig {
    ZoneConfig::new(apex, vec!["127.0.0.1".parse().unwrap()])
}

impl TestServer {
    pub fn start(yaml: &str) -> Self {
        Self::start_with(yaml, vec![zone("tm.test")], "127.0.0.1:0")
    }

    pub fn start_with(yaml: &str, zones: Vec<ZoneConfig>, listen: &str) -> Self {
        let config = ServerConfig {
            listen: vec![listen.parse().unwrap()],
            workers: 2,
            ..ServerConfig::default()
        };
        Self::start_config(yaml, zones, config)
    }

    pub fn start_config(yaml: &str, zones: Vec<ZoneConfig>, config: ServerConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let routing = RoutingTable::compile(&profiles(yaml), &AllHealthy);
        let snapshot = Arc::new(ArcSwap::from_pointee(
            Snapshot::build(&zones, routing, 7).unwrap(),
        ));
        let server = {
            let _guard = runtime.enter();
            DnsServer::start(&config, snapshot.clone()).unwrap()
        };
        Self {
            addr: server.local_addrs()[0],
            snapshot,
            zones,
            _server: server,
            _runtime: runtime,
        }
    }

    /// Responses rate limiting dropped and sent truncated: (dropped, slipped).
    pub fn snapshot_counts(&self) -> (u64, u64) {
        self._server.rrl_counts()
    }

    /// How many times a UDP worker was restarted after a panic.
    pub fn worker_restarts(&self) -> u64 {
        self._server.worker_restarts()
    }

    /// Replaces the served configuration, as the control loop does.
    pub fn publish(&self, yaml: &str) {
        let routing = RoutingTable::compile(&profiles(yaml), &AllHealthy);
        self.snapshot
            .store(Arc::new(Snapshot::build(&self.zones, routing, 8).unwrap()));
    }
}

pub fn many_nameservers(apex: &str, n: usize) -> ZoneConfig {
    let mut z = zone(apex);
    z.nameservers = (0..n)
        .map(|i| NameServer {
            name: format!("ns{i:02}.a-rather-long-name-server-domain-name.example"),
            addresses: vec![],
        })
        .collect();
    z
}

/// Options of a test query.
#[derive(Clone, Copy, Default)]
pub struct Q {
    pub edns: Option<u16>,
    pub ecs: Option<(IpAddr, u8)>,
    pub edns_version: u8,
    pub dnssec_ok: bool,
    pub id: u16,
}

pub fn query(name: &str, qtype: Rtype, o: Q) -> Vec<u8> {
    let mut b = MessageBuilder::new_vec();
    b.header_mut().set_id(o.id);
    b.header_mut().set_rd(true);
    let mut b = b.question();
    let name = Name::<Vec<u8>>::from_str(name).unwrap();
    b.push((&name, qtype, Class::IN)).unwrap();
    let mut b = b.additional();
    if let Some(size) = o.edns {
        b.opt(|opt| {
            opt.set_udp_payload_size(size);
            opt.set_version(o.edns_version);
            opt.set_dnssec_ok(o.dnssec_ok);
            if let Some((addr, prefix)) = o.ecs {
                opt.push(&ClientSubnet::new(prefix, 0, addr))?;
            }
            Ok(())
        })
        .unwrap();
    }
    b.finish()
}

pub fn udp(addr: SocketAddr, msg: &[u8]) -> Option<Vec<u8>> {
    let bind = if addr.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let s = UdpSocket::bind(bind).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    s.send_to(msg, addr).unwrap();
    let mut buf = vec![0u8; 65535];
    match s.recv_from(&mut buf) {
        Ok((n, _)) => {
            buf.truncate(n);
            Some(buf)
        }
        Err(_) => None,
    }
}

/// `n` client sockets on distinct source ports: with `SO_REUSEPORT` the kernel spreads them over
/// every worker, so asking from each one reaches each worker (a worker missed by 64 ports has a
/// chance of 2^-63 with two workers).
pub fn client_sockets(n: usize) -> Vec<UdpSocket> {
    (0..n)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            s
        })
        .collect()
}

/// Asks `msg` from `sock` until its reply comes (a datagram in a batch lost to a worker restart
/// is not answered), at most `tries` times; replies to earlier queries (another ID) are skipped.
pub fn ask_from(sock: &UdpSocket, addr: SocketAddr, msg: &[u8], tries: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65535];
    for _ in 0..tries {
        sock.send_to(msg, addr).unwrap();
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            if n >= 12 && buf[..2] == msg[..2] && buf[2] & 0x80 != 0 {
                buf.truncate(n);
                return Some(buf);
            }
        }
    }
    None
}

pub fn tcp_many(addr: SocketAddr, msgs: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut out = Vec::new();
    for m in msgs {
        out.extend_from_slice(&(m.len() as u16).to_be_bytes());
        out.extend_from_slice(m);
    }
    s.write_all(&out).unwrap();
    msgs.iter()
        .map(|_| {
            let mut len = [0u8; 2];
            s.read_exact(&mut len).unwrap();
            let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
            s.read_exact(&mut buf).unwrap();
            buf
        })
        .collect()
}

pub fn tcp(addr: SocketAddr, msg: &[u8]) -> Vec<u8> {
    tcp_many(addr, &[msg.to_vec()]).remove(0)
}

/// A parsed response, reduced to what tests compare.
#[derive(Debug)]
pub struct R {
    pub msg: Message<Vec<u8>>,
}

pub fn parse(bytes: Vec<u8>) -> R {
    R {
        msg: Message::from_octets(bytes).expect("a DNS message"),
    }
}

impl R {
    pub fn rcode(&self) -> Rcode {
        self.msg.header().rcode()
    }
    pub fn aa(&self) -> bool {
        self.msg.header().aa()
    }
    pub fn tc(&self) -> bool {
        self.msg.header().tc()
    }
    /// Answer records as "TYPE data" strings.
    pub fn answers(&self) -> Vec<String> {
        section(self.msg.answer().unwrap())
    }
    pub fn authority(&self) -> Vec<String> {
        section(self.msg.authority().unwrap())
    }
    pub fn additional(&self) -> Vec<String> {
        section(self.msg.additional().unwrap())
    }
    pub fn answer_ttls(&self) -> Vec<u32> {
        self.msg
            .answer()
            .unwrap()
            .map(|r| r.unwrap().ttl().as_secs())
            .collect()
    }
    pub fn authority_ttls(&self) -> Vec<u32> {
        self.msg
            .authority()
            .unwrap()
            .map(|r| r.unwrap().ttl().as_secs())
            .collect()
    }
    pub fn owners(&self) -> Vec<String> {
        self.msg
            .answer()
            .unwrap()
            .map(|r| r.unwrap().owner().to_string())
            .collect()
    }
    /// The extended RCODE from the OPT record, if any.
    pub fn opt_rcode(&self) -> Option<u16> {
        let opt = self.msg.opt()?;
        Some(opt.rcode(self.msg.header()).to_int())
    }
    /// The ECS option of the response: (addr, source, scope).
    pub fn ecs(&self) -> Option<(IpAddr, u8, u8)> {
        let opt = self.msg.opt()?;
        let ecs = opt.opt().iter::<ClientSubnet>().next()?.ok()?;
        Some((ecs.addr(), ecs.source_prefix_len(), ecs.scope_prefix_len()))
    }
    pub fn a(&self) -> Vec<String> {
        self.msg
            .answer()
            .unwrap()
            .limit_to::<A>()
            .map(|r| r.unwrap().data().to_string())
            .chain(
                self.msg
                    .answer()
                    .unwrap()
                    .limit_to::<Aaaa>()
                    .map(|r| r.unwrap().data().to_string()),
            )
            .collect()
    }
}

type ParsedRecord<'a> = Record<ParsedName<&'a [u8]>, AllRecordData<&'a [u8], ParsedName<&'a [u8]>>>;

fn section(s: domain::base::message::RecordSection<'_, Vec<u8>>) -> Vec<String> {
    s.limit_to::<AllRecordData<&[u8], ParsedName<&[u8]>>>()
        .map(|r| {
            let r: ParsedRecord<'_> = r.unwrap();
            format!("{} {}", r.rtype(), r.data())
        })
        .filter(|s| !s.starts_with("OPT"))
        .collect()
}
