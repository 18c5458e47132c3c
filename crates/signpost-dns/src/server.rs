//! Binding the listeners and running them: UDP worker threads plus TCP tasks.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;
use socket2::{Domain, Protocol, Socket, Type};
use tokio_util::sync::CancellationToken;

use crate::answer::Answerer;
use crate::cookies::CookieSecret;
use crate::metrics::DnsCounters;
use crate::rrl::{RateLimiter, RrlConfig};
use crate::snapshot::Snapshot;
use crate::udp::WorkerStats;

/// Listener settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Addresses to answer on, UDP and TCP (port 0 picks a free port, the same for both).
    pub listen: Vec<SocketAddr>,
    /// UDP worker threads per address (one `SO_REUSEPORT` socket each).
    pub workers: usize,
    /// Largest UDP response advertised and sent (default 1232).
    pub max_udp_payload: u16,
    /// TCP connections idle longer than this are closed (default 10 s).
    pub tcp_idle_timeout: Duration,
    /// TCP connections served at once (default 1024).
    pub max_tcp_connections: usize,
    /// TCP connections served at once per client address (default 16), so that one client
    /// cannot take the whole cap.
    pub max_tcp_connections_per_client: usize,
    /// Every TCP connection is closed this long after it was accepted (default 120 s), however
    /// busy: together with the idle timeout this bounds what a slow or stuck client can hold.
    pub tcp_lifetime: Duration,
    /// Response rate limiting for UDP; `None` (the default) turns it off.
    pub rrl: Option<RrlConfig>,
    /// Whether DNS Cookies are answered (default on).
    pub cookies: bool,
    /// The server cookie secret; `None` picks a random one at start. Nodes behind one anycast
    /// address share it so that each accepts the others' cookies.
    pub cookie_secret: Option<CookieSecret>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 5353))],
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_udp_payload: 1232,
            tcp_idle_timeout: Duration::from_secs(10),
            max_tcp_connections: 1024,
            max_tcp_connections_per_client: 16,
            tcp_lifetime: Duration::from_secs(120),
            rrl: None,
            cookies: true,
            cookie_secret: None,
        }
    }
}

/// A running DNS server; stops on [`DnsServer::shutdown`] or when dropped.
pub struct DnsServer {
    local: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    /// The workers' counters: always their restarts and rate-limiting counts, the responses
    /// too when the server was started counting.
    counters: Arc<DnsCounters>,
    threads: Vec<JoinHandle<()>>,
    /// Stops the TCP accept loops and their connections.
    tcp_stop: CancellationToken,
}

impl DnsServer {
    /// Binds every address and starts answering from `snapshot`. Must run inside a tokio runtime
    /// (TCP is served on it).
    pub fn start(config: &ServerConfig, snapshot: Arc<ArcSwap<Snapshot>>) -> io::Result<Self> {
        Self::start_counting(config, snapshot, None)
    }

    /// [`DnsServer::start`], counting every response in `counters` when given (each UDP worker
    /// in a set of its own, TCP in one set per runtime thread; see [`crate::metrics`]).
    pub fn start_counting(
        config: &ServerConfig,
        snapshot: Arc<ArcSwap<Snapshot>>,
        counters: Option<Arc<DnsCounters>>,
    ) -> io::Result<Self> {
        let secret = config
            .cookies
            .then(|| config.cookie_secret.unwrap_or_else(CookieSecret::random));
        let answerer = Answerer::new(snapshot, config.max_udp_payload).with_cookie_secret(secret);
        let stop = Arc::new(AtomicBool::new(false));
        // Counting responses is optional; the workers' own counts are always kept.
        let counting = counters.is_some();
        let counters = counters.unwrap_or_default();
        let tcp_stop = CancellationToken::new();
        let mut local = Vec::new();
        let mut threads = Vec::new();
        for addr in &config.listen {
            let (first, tcp) = bind_pair(*addr)?;
            let bound = first.local_addr()?;
            let mut sockets = vec![first];
            for _ in 1..config.workers.max(1) {
                sockets.push(udp_socket(bound)?);
            }
            let pktinfo = bound.ip().is_unspecified();
            for (i, socket) in sockets.into_iter().enumerate() {
                if pktinfo {
                    crate::udp::enable_pktinfo(&socket, bound.is_ipv6())?;
                }
                let worker = Worker {
                    socket,
                    answerer: if counting {
                        answerer.clone().counting_alone(&counters)
                    } else {
                        answerer.clone()
                    },
                    stop: stop.clone(),
                    stats: Arc::new(WorkerStats::default()),
                    pktinfo,
                    rrl: config.rrl,
                    workers: config.workers.max(1),
                };
                counters.add_udp_worker(worker.stats.clone());
                threads.push(
                    std::thread::Builder::new()
                        .name(format!("dns-udp-{i}"))
                        .spawn(move || worker.run())?,
                );
            }
            tokio::spawn(crate::tcp::serve(
                tcp,
                if counting {
                    answerer.clone().counting_per_thread(counters.clone())
                } else {
                    answerer.clone()
                },
                crate::tcp::TcpLimits {
                    idle_timeout: config.tcp_idle_timeout,
                    lifetime: config.tcp_lifetime,
                    max_connections: config.max_tcp_connections,
                    max_per_client: config.max_tcp_connections_per_client,
                },
                tcp_stop.clone(),
            ));
            tracing::info!(%bound, workers = config.workers, "answering DNS over UDP and TCP");
            local.push(bound);
        }
        Ok(Self {
            local,
            stop,
            counters,
            threads,
            tcp_stop,
        })
    }

    /// The bound addresses (with the ports picked for port 0), in `listen` order.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// How many times a UDP worker panicked and was restarted since the start.
    pub fn worker_restarts(&self) -> u64 {
        self.counters.worker_restarts()
    }

    /// Responses rate limiting dropped and sent truncated since the start: (dropped, slipped).
    pub fn rrl_counts(&self) -> (u64, u64) {
        self.counters.rrl()
    }

    /// Stops the listeners and waits for the UDP workers to finish.
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.tcp_stop.cancel();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// One UDP worker and what it needs to be restarted: a panic while answering (a bug) is logged,
/// counted and the worker started again on the same socket, so the kernel's `SO_REUSEPORT` share
/// of datagrams for this socket is never left unanswered. Only the batch in hand is lost.
struct Worker {
    socket: UdpSocket,
    answerer: Answerer,
    stop: Arc<AtomicBool>,
    stats: Arc<WorkerStats>,
    pktinfo: bool,
    rrl: Option<RrlConfig>,
    /// Workers on this address, which share the rate limit.
    workers: usize,
}

impl Worker {
    fn run(self) {
        let worker = std::thread::current()
            .name()
            .unwrap_or("dns-udp")
            .to_string();
        loop {
            // A fresh rate-limit table per (re)start: a panic may have left the old one mid-update.
            let mut rrl = self.rrl.map(|c| RateLimiter::new(c, self.workers));
            let served = catch_unwind(AssertUnwindSafe(|| {
                crate::udp::serve(
                    &self.socket,
                    &self.answerer,
                    &self.stop,
                    self.pktinfo,
                    rrl.as_mut(),
                    &self.stats,
                )
            }));
            let Err(panic) = served else { return };
            let restarts = self.stats.restarts.fetch_add(1, Ordering::Relaxed) + 1;
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%worker, panic = %what, restarts, "DNS worker panicked; restarted on the same socket");
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
        }
    }
}

/// The first UDP socket and the TCP listener on the same address and port. For port 0 the TCP
/// port is picked first (TCP ports are the contended ones: outgoing connections use the same
/// range) and the UDP socket joins it, retrying on the rare clash.
fn bind_pair(addr: SocketAddr) -> io::Result<(UdpSocket, tokio::net::TcpListener)> {
    if addr.port() != 0 {
        return Ok((udp_socket(addr)?, tcp_listener(addr)?));
    }
    let mut last = None;
    for _ in 0..32 {
        let tcp = tcp_listener(addr)?;
        match udp_socket(tcp.local_addr()?) {
            Ok(udp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no port free for both UDP and TCP")))
}

fn udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_port(true)?;
    // Wake up now and then to notice shutdown.
    socket.set_read_timeout(Some(Duration::from_millis(250)))?;
    let _ = socket.set_recv_buffer_size(4 << 20);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

fn tcp_listener(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    tokio::net::TcpListener::from_std(socket.into())
}
