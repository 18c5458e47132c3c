//! The etcd write rate of fleet health: `NODES` fleet presences (the real [`Fleet`], as
//! `signpost serve --etcd` runs it) each publishing its view of `ENDPOINTS` endpoints, then
//! holding it unchanged, then changing `FLIPS` endpoints' status per second per node. A watch on
//! the prefix counts what reaches etcd: revisions (one per transaction or put) and key writes.
//!
//! `cargo run --release -p signpost-store --example fleet_writes -- ETCD_URLS [ENDPOINTS] [NODES]
//! [SECONDS] [FLIPS]` (defaults 10000, 3, 30, 10); `bench/fleet.sh` starts etcd and runs it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use etcd_client::{Client, WatchOptions};
use signpost_model::{Observation, ProbeStatus};
use signpost_store::{EtcdConfig, Fleet, FleetConfig};

type View = HashMap<(String, String), Observation>;

fn view(endpoints: usize, degraded: impl Fn(usize) -> bool) -> View {
    (0..endpoints)
        .map(|i| {
            let down = degraded(i);
            (
                (
                    format!("profile-{}", i / 200),
                    format!("endpoint-{}", i % 200),
                ),
                Observation {
                    status: if down {
                        ProbeStatus::Degraded
                    } else {
                        ProbeStatus::Online
                    },
                    since_ms: 0,
                    reason: if down { "timeout" } else { "HTTP 200 in 1 ms" }.to_string(),
                },
            )
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let urls: Vec<String> = args
        .first()
        .ok_or("usage: fleet_writes ETCD_URLS [ENDPOINTS] [NODES] [SECONDS] [FLIPS]")?
        .split(',')
        .map(str::to_string)
        .collect();
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (endpoints, nodes, seconds, flips) = (arg(1, 10_000), arg(2, 3), arg(3, 30), arg(4, 10));
    let prefix = format!("/bench-{}/", std::process::id());

    // Count every key write under the prefix, and every distinct revision.
    let mut client = Client::connect(&urls, None).await?;
    let start = client
        .get("x", None)
        .await?
        .header()
        .map_or(0, |h| h.revision());
    let keys = Arc::new(AtomicU64::new(0));
    let revisions = Arc::new(AtomicU64::new(0));
    {
        let (keys, last) = (Arc::clone(&keys), Arc::clone(&revisions));
        let mut stream = client
            .watch(
                prefix.as_str(),
                Some(
                    WatchOptions::new()
                        .with_prefix()
                        .with_start_revision(start + 1),
                ),
            )
            .await?;
        tokio::spawn(async move {
            // Revisions are counted from the events under the prefix only (others may write
            // to the same cluster): one per transaction or put that touched it.
            let mut previous = 0;
            while let Ok(Some(r)) = stream.message().await {
                keys.fetch_add(r.events().len() as u64, Ordering::Relaxed);
                for kv in r.events().iter().filter_map(|e| e.kv()) {
                    if kv.mod_revision() != previous {
                        previous = kv.mod_revision();
                        last.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    let sample = || {
        (
            keys.load(Ordering::Relaxed),
            revisions.load(Ordering::Relaxed),
        )
    };

    let fleets: Vec<Fleet> = (0..nodes)
        .map(|n| {
            Fleet::start(FleetConfig {
                etcd: EtcdConfig {
                    endpoints: urls.clone(),
                    prefix: prefix.clone(),
                    user: None,
                },
                node: format!("bench-{n}"),
                probe_source: None,
            })
        })
        .collect();
    println!(
        "{nodes} nodes x {endpoints} endpoints, etcd {}",
        urls.join(",")
    );

    // 1. Every node publishes its whole view.
    let began = Instant::now();
    for f in &fleets {
        f.publish(view(endpoints, |_| false));
    }
    let want = (nodes * endpoints) as u64;
    while sample().0 < want {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if began.elapsed() > Duration::from_secs(120) {
            return Err("the views never reached etcd".into());
        }
    }
    let (k0, r0) = sample();
    println!(
        "initial publication: {k0} key writes in {r0} revisions, {:.2} s",
        began.elapsed().as_secs_f64()
    );

    // 2. Nothing changes: only heartbeats.
    let report = |phase: &str, (k1, r1): (u64, u64), (k2, r2): (u64, u64), secs: f64| {
        println!(
            "{phase}: {:.2} key writes/s, {:.2} revisions/s ({} keys, {} revisions in {secs:.0} s)",
            (k2 - k1) as f64 / secs,
            (r2 - r1) as f64 / secs,
            k2 - k1,
            r2 - r1
        );
    };
    let before = sample();
    tokio::time::sleep(Duration::from_secs(seconds as u64)).await;
    report(
        "steady (no health change)",
        before,
        sample(),
        seconds as f64,
    );

    // 3. `flips` endpoints change status per second on every node.
    let before = sample();
    let began = Instant::now();
    for s in 0..seconds {
        let down_from = s * flips;
        for f in &fleets {
            f.publish(view(endpoints, |i| {
                (i + endpoints - down_from % endpoints) % endpoints < flips
            }));
        }
        tokio::time::sleep_until((began + Duration::from_secs(s as u64 + 1)).into()).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    report(
        &format!("churn ({flips} endpoints change per second per node)"),
        before,
        sample(),
        seconds as f64,
    );

    drop(fleets);
    let _ = client
        .delete(
            prefix.as_str(),
            Some(etcd_client::DeleteOptions::new().with_prefix()),
        )
        .await;
    Ok(())
}
