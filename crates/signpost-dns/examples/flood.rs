//! A UDP flood of random and mutated DNS datagrams, for `bench/flood.sh` (loopback only).
//!
//! ```text
//! flood garbage ADDR:PORT [COUNT=1000000] [SOCKETS=64] [THREADS=2] [MAX_SECONDS=120]
//! flood check   ADDR:PORT NAME [SOCKETS=64]
//! flood valid   ADDR:PORT SECONDS SOCKETS NAME/TYPE...
//! ```
//!
//! `garbage` sends COUNT datagrams as fast as the sockets take them, spread round-robin over
//! SOCKETS sockets (each its own source port, so `SO_REUSEPORT` spreads them over every worker):
//! a quarter random bytes of random length 0..600, the rest valid queries (plain, EDNS, ECS,
//! COOKIE, TSIG-shaped, ANY, AXFR, NOTIFY and UPDATE opcodes, two questions, compression loops,
//! long names) with flipped bytes, truncated, extended, or with random header counts. Replies
//! are drained and counted but never awaited. Stops at COUNT or MAX_SECONDS, whichever first.
//!
//! `check` asks `NAME A` once from each of SOCKETS fresh source ports (up to 3 tries of 1 s each)
//! and exits 1 unless every port got a reply with its ID and RCODE NOERROR.
//!
//! `valid` sends the given queries (`contoso.trafficmanager.net/A`, types A, AAAA, SOA, or a
//! number) in turn, open loop (never waiting for a reply, so dropped responses do not slow it),
//! as fast as one thread can for SECONDS, and counts the replies: full answers and truncated
//! (TC=1) ones, e.g. what response rate limiting lets through.
//!
//! Only loopback targets are accepted.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: flood garbage ADDR:PORT [COUNT] [SOCKETS] [THREADS] [MAX_SECONDS] | flood check ADDR:PORT NAME [SOCKETS]";
    let (Some(mode), Some(target)) = (args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let target: SocketAddr = target.parse().expect("ADDR:PORT");
    assert!(target.ip().is_loopback(), "only loopback targets");
    let num = |i: usize, d: u64| args.get(i).map_or(d, |s| s.parse().expect("a number"));
    match mode.as_str() {
        "garbage" => garbage(
            target,
            num(3, 1_000_000),
            num(4, 64) as usize,
            num(5, 2) as usize,
            num(6, 120),
        ),
        "valid" => valid(
            target,
            num(3, 10),
            num(4, 64) as usize,
            &args[5.min(args.len())..],
        ),
        "check" => {
            let name = args.get(3).expect(usage);
            std::process::exit(check(target, name, num(4, 64) as usize));
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}

fn bind_for(target: SocketAddr) -> UdpSocket {
    let local: SocketAddr = if target.is_ipv4() {
        "127.0.0.1:0".parse().unwrap()
    } else {
        "[::1]:0".parse().unwrap()
    };
    let s = UdpSocket::bind(local).expect("bind");
    s.connect(target).expect("connect");
    s
}

fn garbage(target: SocketAddr, count: u64, sockets: usize, threads: usize, max_secs: u64) {
    let threads = threads.clamp(1, sockets.max(1));
    let per_thread = sockets.div_ceil(threads);
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let replies = Arc::new(AtomicU64::new(0));
    let kinds = Arc::new([(); KINDS].map(|_| AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs(max_secs);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (sent, errors, replies, kinds) =
                (sent.clone(), errors.clone(), replies.clone(), kinds.clone());
            let n = per_thread
                .min(sockets - (t * per_thread).min(sockets))
                .max(1);
            let quota = count / threads as u64 + u64::from((t as u64) < count % threads as u64);
            std::thread::spawn(move || {
                let socks: Vec<UdpSocket> = (0..n)
                    .map(|_| {
                        let s = bind_for(target);
                        s.set_nonblocking(true).unwrap();
                        s
                    })
                    .collect();
                let mut rng = fastrand::Rng::new();
                let mut buf = Vec::with_capacity(1024);
                let mut rbuf = [0u8; 4096];
                let (mut local_sent, mut local_err, mut local_replies) = (0u64, 0u64, 0u64);
                let mut local_kinds = [0u64; KINDS];
                let mut i = 0usize;
                while local_sent + local_err < quota {
                    let kind = datagram(&mut rng, &mut buf);
                    let s = &socks[i % socks.len()];
                    i += 1;
                    match s.send(&buf) {
                        Ok(_) => {
                            local_sent += 1;
                            local_kinds[kind] += 1;
                        }
                        // ENOBUFS/EAGAIN under load, ECONNREFUSED from an earlier ICMP: count, go on.
                        Err(_) => local_err += 1,
                    }
                    if i.is_multiple_of(64) {
                        let s = &socks[(i / 64) % socks.len()];
                        while s.recv(&mut rbuf).is_ok() {
                            local_replies += 1;
                        }
                        if i.is_multiple_of(65536) && Instant::now() > deadline {
                            break;
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
                for s in &socks {
                    while s.recv(&mut rbuf).is_ok() {
                        local_replies += 1;
                    }
                }
                sent.fetch_add(local_sent, Ordering::Relaxed);
                errors.fetch_add(local_err, Ordering::Relaxed);
                replies.fetch_add(local_replies, Ordering::Relaxed);
                for (k, v) in local_kinds.iter().enumerate() {
                    kinds[k].fetch_add(*v, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // The final 200 ms drain is not sending time.
    let secs = start.elapsed().as_secs_f64() - 0.2;
    let sent = sent.load(Ordering::Relaxed);
    println!(
        "sent {sent} datagrams from {sockets} sockets on {threads} threads in {secs:.2} s: {:.0}/s; send errors {}; replies drained {}",
        sent as f64 / secs,
        errors.load(Ordering::Relaxed),
        replies.load(Ordering::Relaxed)
    );
    let names = [
        "random bytes",
        "flipped bytes",
        "truncated",
        "extended",
        "random counts",
        "valid as built",
    ];
    let parts: Vec<String> = names
        .iter()
        .zip(kinds.iter())
        .map(|(n, k)| format!("{n} {}", k.load(Ordering::Relaxed)))
        .collect();
    println!("by kind: {}", parts.join(", "));
}

const KINDS: usize = 6;

/// Writes one flood datagram into `buf`; returns its kind (an index into the report's names).
fn datagram(rng: &mut fastrand::Rng, buf: &mut Vec<u8>) -> usize {
    buf.clear();
    if rng.u8(0..4) == 0 {
        let len = rng.usize(0..600);
        buf.extend((0..len).map(|_| rng.u8(..)));
        return 0;
    }
    valid_query(rng, buf);
    match rng.u8(0..20) {
        0..=6 => {
            for _ in 0..rng.usize(1..=8) {
                let i = rng.usize(0..buf.len());
                buf[i] ^= rng.u8(1..=255);
            }
            1
        }
        7..=10 => {
            buf.truncate(rng.usize(0..buf.len()));
            2
        }
        11..=14 => {
            let extra = rng.usize(1..=200);
            buf.extend((0..extra).map(|_| rng.u8(..)));
            if rng.bool() {
                // Claim the tail as records.
                let ar = rng.u16(1..=4);
                buf[10..12].copy_from_slice(&ar.to_be_bytes());
            }
            3
        }
        15..=18 => {
            for i in [4, 6, 8, 10] {
                if rng.bool() {
                    let c = if rng.bool() {
                        rng.u16(..)
                    } else {
                        rng.u16(0..4)
                    };
                    buf[i..i + 2].copy_from_slice(&c.to_be_bytes());
                }
            }
            4
        }
        _ => 5,
    }
}

const NAMES: &[&str] = &[
    "web.tm.test",
    "WeB.Tm.TeSt",
    "tm.test",
    "nothere.tm.test",
    "a.b.web.tm.test",
    "example.com",
    "flap.tm.test",
];

fn put_name(rng: &mut fastrand::Rng, buf: &mut Vec<u8>) {
    match rng.u8(0..16) {
        0 => {
            // Long name: labels of up to 63 octets, total around or over 255.
            for _ in 0..rng.usize(1..6) {
                let l = rng.u8(1..=63);
                buf.push(l);
                buf.extend((0..l).map(|_| rng.alphanumeric() as u8));
            }
            buf.push(0);
        }
        1 => buf.extend_from_slice(&[0xC0, 0x0C]), // a pointer to itself
        2 => buf.extend_from_slice(&[0xC0, rng.u8(..)]),
        _ => {
            let n = NAMES[rng.usize(0..NAMES.len())];
            for l in n.split('.') {
                buf.push(l.len() as u8);
                buf.extend_from_slice(l.as_bytes());
            }
            buf.push(0);
        }
    }
}

/// A well-formed query of a random shape: header, one (rarely two) questions, and sometimes
/// an OPT record (with ECS and/or COOKIE options) and a TSIG-shaped record.
fn valid_query(rng: &mut fastrand::Rng, buf: &mut Vec<u8>) {
    let opcode: u16 = match rng.u8(0..20) {
        0 => 4, // NOTIFY
        1 => 5, // UPDATE
        2 => rng.u16(0..16),
        _ => 0,
    };
    let mut flags = (opcode << 11) | if rng.bool() { 0x0100 } else { 0 };
    if rng.u8(0..20) == 0 {
        flags |= 0x8000; // a response
    }
    let qd: u16 = if rng.u8(0..16) == 0 { 2 } else { 1 };
    let edns = rng.u8(0..3) != 0;
    let tsig = rng.u8(0..8) == 0;
    let ar = u16::from(edns) + u16::from(tsig);
    buf.extend_from_slice(&rng.u16(..).to_be_bytes());
    buf.extend_from_slice(&flags.to_be_bytes());
    buf.extend_from_slice(&qd.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]);
    buf.extend_from_slice(&ar.to_be_bytes());
    for _ in 0..qd {
        put_name(rng, buf);
        let qtype: u16 = match rng.u8(0..12) {
            0..=4 => 1,
            5 | 6 => 28,
            7 => 255, // ANY
            8 => 252, // AXFR
            9 => 6,
            10 => 41, // OPT as a question type
            _ => rng.u16(..),
        };
        let qclass: u16 = match rng.u8(0..10) {
            0 => 255,
            1 => 3,
            2 => rng.u16(..),
            _ => 1,
        };
        buf.extend_from_slice(&qtype.to_be_bytes());
        buf.extend_from_slice(&qclass.to_be_bytes());
    }
    if edns {
        let mut opts = Vec::new();
        if rng.bool() {
            // ECS: family 1 or 2, a source prefix, that many address octets (sometimes wrong).
            let family: u16 = if rng.u8(0..4) == 0 { 2 } else { 1 };
            let max = if family == 1 { 32 } else { 128 };
            let prefix = rng.u8(0..=max);
            let mut octets = usize::from(prefix).div_ceil(8);
            if rng.u8(0..8) == 0 {
                octets = rng.usize(0..20);
            }
            opts.extend_from_slice(&8u16.to_be_bytes());
            opts.extend_from_slice(&(4 + octets as u16).to_be_bytes());
            opts.extend_from_slice(&family.to_be_bytes());
            opts.push(prefix);
            opts.push(if rng.u8(0..8) == 0 { rng.u8(..) } else { 0 });
            opts.extend((0..octets).map(|_| rng.u8(..)));
        }
        if rng.bool() {
            // COOKIE: client only (8), client + server (8 + 16), or a bad length.
            let len = match rng.u8(0..4) {
                0 => 8,
                1 => 24,
                2 => 16,
                _ => rng.usize(0..41),
            };
            opts.extend_from_slice(&10u16.to_be_bytes());
            opts.extend_from_slice(&(len as u16).to_be_bytes());
            opts.extend((0..len).map(|_| rng.u8(..)));
        }
        if rng.u8(0..8) == 0 {
            let len = rng.usize(0..32);
            opts.extend_from_slice(&rng.u16(..).to_be_bytes());
            opts.extend_from_slice(&(len as u16).to_be_bytes());
            opts.extend((0..len).map(|_| rng.u8(..)));
        }
        buf.push(0); // root owner
        buf.extend_from_slice(&41u16.to_be_bytes());
        let payload: u16 = match rng.u8(0..4) {
            0 => rng.u16(..),
            1 => 512,
            _ => 1232,
        };
        buf.extend_from_slice(&payload.to_be_bytes());
        let version = if rng.u8(0..10) == 0 { rng.u8(..) } else { 0 };
        buf.extend_from_slice(&[0, version]);
        buf.extend_from_slice(&(if rng.bool() { 0x8000u16 } else { 0 }).to_be_bytes());
        buf.extend_from_slice(&(opts.len() as u16).to_be_bytes());
        buf.extend_from_slice(&opts);
    }
    if tsig {
        // key name, TSIG, ANY, TTL 0, then algorithm, time, fudge, MAC, original ID, error, other.
        for l in ["key", "tm", "test"] {
            buf.push(l.len() as u8);
            buf.extend_from_slice(l.as_bytes());
        }
        buf.push(0);
        buf.extend_from_slice(&250u16.to_be_bytes());
        buf.extend_from_slice(&255u16.to_be_bytes());
        buf.extend_from_slice(&[0, 0, 0, 0]);
        let mut rd = Vec::new();
        rd.push(11);
        rd.extend_from_slice(b"hmac-sha256");
        rd.push(0);
        rd.extend((0..6).map(|_| rng.u8(..)));
        rd.extend_from_slice(&300u16.to_be_bytes());
        let mac = if rng.bool() { 32 } else { rng.usize(0..64) };
        rd.extend_from_slice(&(mac as u16).to_be_bytes());
        rd.extend((0..mac).map(|_| rng.u8(..)));
        rd.extend_from_slice(&buf[..2]);
        rd.extend_from_slice(&[0, 0, 0, 0]);
        buf.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        buf.extend_from_slice(&rd);
    }
}

fn valid(target: SocketAddr, secs: u64, sockets: usize, names: &[String]) {
    assert!(!names.is_empty(), "NAME/TYPE...");
    let queries: Vec<Vec<u8>> = names
        .iter()
        .map(|n| {
            let (name, t) = n.split_once('/').unwrap_or((n, "A"));
            let qtype: u16 = match t {
                "A" => 1,
                "AAAA" => 28,
                "SOA" => 6,
                t => t.parse().expect("a query type"),
            };
            query_type(fastrand::u16(..), name, qtype) // RD clear, as a resolver asks
        })
        .collect();
    let socks: Vec<UdpSocket> = (0..sockets.max(1))
        .map(|_| {
            let s = bind_for(target);
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    let mut rbuf = [0u8; 4096];
    let (mut sent, mut full, mut tc, mut errors) = (0u64, 0u64, 0u64, 0u64);
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut i = 0usize;
    let mut count = |n: usize, b: &[u8]| {
        if n >= 12 {
            if b[2] & 0x02 != 0 {
                tc += 1;
            } else {
                full += 1;
            }
        }
    };
    'outer: loop {
        for s in &socks {
            let q = &queries[i % queries.len()];
            i += 1;
            match s.send(q) {
                Ok(_) => sent += 1,
                Err(_) => errors += 1,
            }
            while let Ok(n) = s.recv(&mut rbuf) {
                count(n, &rbuf);
            }
            if i.is_multiple_of(4096) && Instant::now() >= end {
                break 'outer;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(200));
    for s in &socks {
        while let Ok(n) = s.recv(&mut rbuf) {
            count(n, &rbuf);
        }
    }
    println!(
        "sent {sent} in {secs:.2} s ({:.0}/s, {errors} send errors); replies {} ({:.0}/s): full answers {full} ({:.0}/s), truncated {tc} ({:.0}/s), no reply {}",
        sent as f64 / secs,
        full + tc,
        (full + tc) as f64 / secs,
        full as f64 / secs,
        tc as f64 / secs,
        sent.saturating_sub(full + tc)
    );
}

/// One plain `NAME A` query with the given ID.
fn query(id: u16, name: &str) -> Vec<u8> {
    query_type(id, name, 1)
}

/// One `NAME TYPE` query (class IN) with the given ID.
fn query_type(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.trim_end_matches('.').split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    q
}

fn check(target: SocketAddr, name: &str, sockets: usize) -> i32 {
    let mut answered = 0;
    let mut retried = 0;
    let mut ports = Vec::new();
    for _ in 0..sockets {
        let s = bind_for(target);
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        ports.push(s.local_addr().unwrap().port());
        let id = fastrand::u16(..);
        let q = query(id, name);
        let mut buf = [0u8; 4096];
        let mut ok = false;
        'tries: for attempt in 0..3 {
            if attempt > 0 {
                retried += 1;
            }
            s.send(&q).unwrap();
            let until = Instant::now() + Duration::from_secs(1);
            while Instant::now() < until {
                match s.recv(&mut buf) {
                    Ok(n) if n >= 12 && buf[..2] == id.to_be_bytes() => {
                        ok = buf[2] & 0x80 != 0 && buf[3] & 0x0f == 0;
                        break 'tries;
                    }
                    Ok(_) => continue,
                    Err(_) => break,
                }
            }
        }
        if ok {
            answered += 1;
        }
    }
    ports.sort_unstable();
    println!(
        "answered {answered}/{sockets} source ports (NOERROR replies with the query's ID; {retried} retries; ports {}..={})",
        ports.first().unwrap_or(&0),
        ports.last().unwrap_or(&0)
    );
    if answered == sockets { 0 } else { 1 }
}
