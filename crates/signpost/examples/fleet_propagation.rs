//! How long a write on one node takes to reach the other nodes' DNS answers: `COUNT` PUTs of a
//! profile on the first node's API, each with a new target, and for each the time from sending
//! the PUT until every other node answers with that target (each polled over UDP every 1 ms).
//! Prints the percentiles.
//!
//! `cargo run --release -p signpost --example fleet_propagation -- API DNS[,DNS...] [COUNT]`
//! (`bench/fleet.sh` starts a fleet with `scripts/fleet.sh` and runs it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::str::FromStr;
use std::time::{Duration, Instant};

use domain::base::iana::{Class, Rtype};
use domain::base::{Message, MessageBuilder, Name, ParsedName};
use domain::rdata::AllRecordData;

fn put(api: SocketAddr, target: &str) -> Result<u16, Box<dyn std::error::Error>> {
    let body = serde_json::json!({
        "properties": {
            "trafficRoutingMethod": "Priority",
            "dnsConfig": {"relativeName": "propagation", "ttl": 5},
            "monitorConfig": {"protocol": "TCP", "port": 9, "intervalInSeconds": 30},
            "endpoints": [{"name": "one", "type": "externalEndpoints",
                           "properties": {"target": target, "alwaysServe": "Enabled"}}]
        }
    })
    .to_string();
    let mut s = TcpStream::connect(api)?;
    write!(
        s,
        "PUT /api/v1/profiles/propagation HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    Ok(reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

/// The CNAME target a node answers for the profile, if any.
fn answer(sock: &UdpSocket, dns: SocketAddr, query: &[u8]) -> Option<String> {
    sock.send_to(query, dns).ok()?;
    let mut buf = vec![0; 1232];
    let n = sock.recv(&mut buf).ok()?;
    buf.truncate(n);
    let msg = Message::from_octets(buf).ok()?;
    let first = msg
        .answer()
        .ok()?
        .limit_to::<AllRecordData<&[u8], ParsedName<&[u8]>>>()
        .next()?
        .ok()?;
    Some(first.data().to_string())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: fleet_propagation API DNS[,DNS...] [COUNT]";
    let api: SocketAddr = args.first().ok_or(usage)?.parse()?;
    let others: Vec<SocketAddr> = args
        .get(1)
        .ok_or(usage)?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let count: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(200);
    let zone = std::env::var("ZONE").unwrap_or_else(|_| "tm.test".into());
    let mut b = MessageBuilder::new_vec().question();
    b.push((
        Name::<Vec<u8>>::from_str(&format!("propagation.{zone}"))?,
        Rtype::CNAME,
        Class::IN,
    ))?;
    let query = b.finish();
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;

    let mut delays = Vec::with_capacity(count);
    for i in 0..count {
        let target = format!("t{i}.example.com");
        let want = format!("{target}.");
        let sent = Instant::now();
        let status = put(api, &target)?;
        if !(200..300).contains(&status) {
            return Err(format!("PUT answered {status}").into());
        }
        for &dns in &others {
            while answer(&sock, dns, &query).as_deref() != Some(want.as_str()) {
                if sent.elapsed() > Duration::from_secs(10) {
                    return Err(format!("write {i} never reached {dns}").into());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        delays.push(sent.elapsed());
    }
    delays.sort();
    let at =
        |q: f64| delays[((delays.len() as f64 * q).ceil() as usize).clamp(1, delays.len()) - 1];
    println!(
        "{count} writes on {api}, until in the answers of {}: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        others
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        at(0.50).as_secs_f64() * 1e3,
        at(0.90).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        delays.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    Ok(())
}
