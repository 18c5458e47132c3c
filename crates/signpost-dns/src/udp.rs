//! UDP workers: hops 1 and 5 of the query path (receive, send), in batches.
//!
//! One OS thread per worker, each with its own `SO_REUSEPORT` socket so the kernel spreads
//! datagrams over them; each receives up to [`BATCH`] datagrams with one `recvmmsg` call, answers
//! them into per-slot buffers and sends the replies with one `sendmmsg`. Nothing is allocated per
//! datagram, no task is spawned, no lock is taken.
#![allow(unsafe_code)]

use std::mem::{MaybeUninit, size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::answer::{Answerer, Transport};

/// Datagrams handled per system call.
pub const BATCH: usize = 32;
/// Largest query accepted over UDP; longer datagrams are truncated by the kernel and dropped.
const MAX_QUERY: usize = 4096;

/// Receives, answers and replies until `stop` is set (checked at least every socket read timeout).
pub fn serve(socket: UdpSocket, answerer: Answerer, stop: Arc<AtomicBool>) {
    let fd = socket.as_raw_fd();
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
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
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
            if answerer.answer(
                &queries[i][..len],
                peer.ip(),
                Transport::Udp,
                &mut rng,
                &mut replies[i],
            ) {
                send[i] = true;
            }
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
