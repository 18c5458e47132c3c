//! UDP workers: hops 1 and 5 of the query path (receive, send), in batches.
//!
//! One OS thread per worker, each with its own `SO_REUSEPORT` socket so the kernel spreads
//! datagrams over them; each receives up to [`BATCH`] datagrams with one `recvmmsg` call, answers
//! them into per-slot buffers and sends the replies with one `sendmmsg`. Nothing is allocated per
//! datagram, no task is spawned, no lock is taken.
//!
//! On a wildcard address (`0.0.0.0`, `::`) the socket asks for `IP_PKTINFO`/`IPV6_RECVPKTINFO`, and
//! each reply carries the destination address of its query as its source, so a client that asked
//! 192.0.2.53 hears back from 192.0.2.53 even when the host has several addresses.
#![allow(unsafe_code)]

use std::mem::{MaybeUninit, size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crate::answer::{Answerer, Transport};
use crate::rrl::{Class, RateLimiter, Verdict};

/// Datagrams handled per system call.
pub(crate) const BATCH: usize = 32;
/// Largest query accepted over UDP; longer datagrams are truncated by the kernel and dropped.
const MAX_QUERY: usize = 4096;

/// Room for one packet-info control message (either family), aligned for `cmsghdr`.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Control([u8; 64]);

/// A query holding this label makes a UDP worker panic, in builds with the `fault-injection`
/// feature (the crate's own tests), so that worker supervision can be tested for real.
#[cfg(feature = "fault-injection")]
pub(crate) const FAULT_LABEL: &[u8] = b"\x1esignpost-fault-injection-panic";

/// Receives, answers and replies until `stop` is set (checked at least every socket read timeout).
/// With `pktinfo` (wildcard binds, see [`enable_pktinfo`]) replies leave from the query's
/// destination address. A panic unwinds out of here; the server's supervisor restarts the worker.
///
/// With `rrl`, each response is first offered to the rate limiter, which may drop it or send it
/// truncated (counted in `stats`); queries with a valid server cookie are never limited.
pub(crate) fn serve(
    socket: &UdpSocket,
    answerer: &Answerer,
    stop: &AtomicBool,
    pktinfo: bool,
    mut rrl: Option<&mut RateLimiter>,
    stats: &WorkerStats,
) {
    let fd = socket.as_raw_fd();
    let mut controls = [Control([0; 64]); BATCH];
    let mut out_controls = [Control([0; 64]); BATCH];
    let mut rng = fastrand::Rng::new();
    let mut queries = vec![[0u8; MAX_QUERY]; BATCH];
    let mut replies: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(MAX_QUERY)).collect();
    let mut send: [bool; BATCH] = [false; BATCH];
    // SAFETY: all-zero bytes are valid values of these plain C structs.
    let mut peers: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
    let mut iovecs: [libc::iovec; BATCH] = unsafe { zeroed() };
    let mut headers: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
    let mut out_iovecs: [libc::iovec; BATCH] = unsafe { zeroed() };
    let mut out_headers: [libc::mmsghdr; BATCH] = unsafe { zeroed() };

    while !stop.load(Ordering::Relaxed) {
        for i in 0..BATCH {
            iovecs[i].iov_base = queries[i].as_mut_ptr().cast();
            iovecs[i].iov_len = MAX_QUERY;
            let h = &mut headers[i].msg_hdr;
            h.msg_name = (&mut peers[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut iovecs[i];
            h.msg_iovlen = 1;
            if pktinfo {
                h.msg_control = controls[i].0.as_mut_ptr().cast();
                h.msg_controllen = controls[i].0.len() as _;
            } else {
                h.msg_control = std::ptr::null_mut();
                h.msg_controllen = 0;
            }
            h.msg_flags = 0;
            headers[i].msg_len = 0;
        }
        // SAFETY: `headers` holds BATCH initialised mmsghdr whose name and iovec pointers refer to
        // `peers`, `iovecs` and `queries`, which outlive the call and are not otherwise borrowed.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n <= 0 {
            // Timeout (EAGAIN) lets us look at `stop`; EINTR and transient errors are retried.
            continue;
        }
        let n = n as usize;
        let now_ms = if rrl.is_some() { clock_ms() } else { 0 };
        let mut to_send = 0;
        for i in 0..n {
            send[i] = false;
            let h = &headers[i];
            if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                continue;
            }
            let Some(peer) = peer_addr(&peers[i]) else {
                continue;
            };
            let len = h.msg_len as usize;
            #[cfg(feature = "fault-injection")]
            if queries[i][..len]
                .windows(FAULT_LABEL.len())
                .any(|w| w == FAULT_LABEL)
            {
                panic!("fault injected into a UDP worker");
            }
            let Some(answered) = answerer.answer(
                &queries[i][..len],
                peer.ip(),
                Transport::Udp,
                &mut rng,
                &mut replies[i],
            ) else {
                continue;
            };
            if let Some(rrl) = rrl.as_deref_mut()
                && !answered.trusted
            {
                let class = Class {
                    name: answered.class_name(&queries[i][..len]),
                    qtype: answered.qtype,
                    rcode: answered.class_rcode,
                };
                match rrl.check(peer.ip(), class, now_ms) {
                    Verdict::Send => {}
                    Verdict::Drop => {
                        stats.rrl_dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Verdict::Slip => {
                        stats.rrl_slipped.fetch_add(1, Ordering::Relaxed);
                        truncate(&mut replies[i], answered.question_end as usize);
                    }
                }
            }
            send[i] = true;
        }
        for i in 0..n {
            if !send[i] {
                continue;
            }
            out_iovecs[to_send].iov_base = replies[i].as_mut_ptr().cast();
            out_iovecs[to_send].iov_len = replies[i].len();
            let h = &mut out_headers[to_send].msg_hdr;
            h.msg_name = (&mut peers[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = headers[i].msg_hdr.msg_namelen;
            h.msg_iov = &mut out_iovecs[to_send];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            if pktinfo {
                let len = reply_source(&headers[i].msg_hdr, &mut out_controls[to_send]);
                if len > 0 {
                    h.msg_control = out_controls[to_send].0.as_mut_ptr().cast();
                    h.msg_controllen = len as _;
                }
            }
            h.msg_flags = 0;
            to_send += 1;
        }
        let mut sent = 0;
        while sent < to_send {
            // SAFETY: the first `to_send` entries of `out_headers` are initialised above and point
            // into `peers`, `out_iovecs` and `replies`, all alive and unchanged during the call.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    out_headers[sent..].as_mut_ptr(),
                    (to_send - sent) as libc::c_uint,
                    0,
                )
            };
            if r <= 0 {
                // A reply that cannot be sent (e.g. unreachable peer) is skipped, as a lost datagram.
                sent += 1;
            } else {
                sent += r as usize;
            }
        }
    }
}

/// Counters of one UDP worker, summed by the server when asked (never shared between workers, so
/// counting touches no cache line another worker writes).
#[derive(Debug, Default)]
pub(crate) struct WorkerStats {
    /// Times the worker panicked and was restarted.
    pub restarts: AtomicU64,
    /// Responses dropped by rate limiting.
    pub rrl_dropped: AtomicU64,
    /// Responses sent truncated by rate limiting (`slip`).
    pub rrl_slipped: AtomicU64,
}

/// Milliseconds on a monotonic clock (from the first call).
fn clock_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Cuts a response back to its header and question with TC set: what a rate-limited client gets
/// on a slip, so that it retries over TCP.
fn truncate(reply: &mut Vec<u8>, question_end: usize) {
    reply.truncate(question_end);
    reply[2] |= 0x02;
    reply[6..12].fill(0);
}

/// The sender's address from a `sockaddr_storage` filled by the kernel.
fn peer_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            let mut sin = MaybeUninit::<libc::sockaddr_in>::uninit();
            // SAFETY: ss_family says the storage holds a sockaddr_in, which fits in it.
            let sin = unsafe {
                std::ptr::copy_nonoverlapping(
                    (storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>(),
                    sin.as_mut_ptr(),
                    1,
                );
                sin.assume_init()
            };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 => {
            let mut sin6 = MaybeUninit::<libc::sockaddr_in6>::uninit();
            // SAFETY: ss_family says the storage holds a sockaddr_in6, which fits in it.
            let sin6 = unsafe {
                std::ptr::copy_nonoverlapping(
                    (storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>(),
                    sin6.as_mut_ptr(),
                    1,
                );
                sin6.assume_init()
            };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::new(
                ip.to_canonical(),
                u16::from_be(sin6.sin6_port),
            ))
        }
        _ => None,
    }
}

/// Asks the kernel for each datagram's destination address (needed on wildcard binds).
pub(crate) fn enable_pktinfo(socket: &UdpSocket, ipv6: bool) -> std::io::Result<()> {
    let one: libc::c_int = 1;
    let (level, name) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
    } else {
        (libc::IPPROTO_IP, libc::IP_PKTINFO)
    };
    // SAFETY: a valid socket descriptor, and a pointer to a c_int with its exact length.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Writes into `out` a control message that makes the reply leave from the destination address
/// of the query described by `received`; returns its length (0 when the query carried none).
fn reply_source(received: &libc::msghdr, out: &mut Control) -> usize {
    // SAFETY: `received` was filled by recvmmsg, so its control pointer and length describe valid
    // control messages inside our `controls` buffer; CMSG_* walk only within that length.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(received);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_PKTINFO {
                let got =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::in_pktinfo>());
                let info = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: got.ipi_addr,
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                return write_cmsg(out, libc::IPPROTO_IP, libc::IP_PKTINFO, &info);
            }
            if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_PKTINFO {
                let info =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::in6_pktinfo>());
                return write_cmsg(out, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &info);
            }
            cmsg = libc::CMSG_NXTHDR(received, cmsg);
        }
    }
    0
}

/// Encodes one control message holding `value` at the start of `out`; returns the space used.
fn write_cmsg<T: Copy>(
    out: &mut Control,
    level: libc::c_int,
    kind: libc::c_int,
    value: &T,
) -> usize {
    // SAFETY: CMSG_SPACE(size_of::<T>()) is at most 40 octets for the packet-info structs, within
    // the 64 of `out`, which is aligned for cmsghdr; a msghdr describing `out` lets CMSG_FIRSTHDR
    // and CMSG_DATA compute positions inside it.
    unsafe {
        let space = libc::CMSG_SPACE(size_of::<T>() as u32) as usize;
        out.0[..space].fill(0);
        let mut msg: libc::msghdr = zeroed();
        msg.msg_control = out.0.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = level;
        (*cmsg).cmsg_type = kind;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<T>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<T>(), *value);
        space
    }
}
