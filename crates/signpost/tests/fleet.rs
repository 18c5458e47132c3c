//! Several nodes, one traffic manager: `signpost serve --etcd` against a real three-member etcd
//! cluster on loopback. A write through any node's API reaches every node's DNS answers; writes
//! on two nodes are serialised as on one; losing the etcd leader does not lose writes.

mod common;
#[path = "../../signpost-store/tests/etcd_cluster/mod.rs"]
mod etcd_cluster;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Server, http, temp_dir, wait_until};
use domain::base::iana::Rtype;
use etcd_cluster::EtcdCluster;

/// A profile `web` with one endpoint at `target`, served whatever its health.
fn profile(target: &str) -> serde_json::Value {
    serde_json::json!({
        "properties": {
            "trafficRoutingMethod": "Priority",
            "dnsConfig": {"relativeName": "web", "ttl": 30},
            "monitorConfig": {"protocol": "TCP", "port": 9, "intervalInSeconds": 30},
            "endpoints": [
                {"name": "one", "type": "externalEndpoints", "properties": {"target": target, "alwaysServe": "Enabled"}}
            ]
        }
    })
}

fn node(etcd: &EtcdCluster, dir: &std::path::Path, name: &str) -> Server {
    let urls = etcd.client_urls.join(",");
    Server::start(
        dir,
        &["--zone", "tm.test", "--etcd", &urls, "--node-name", name],
    )
}

/// The member that leads (from the gRPC gateway's maintenance status).
fn leader(etcd: &EtcdCluster) -> usize {
    for (i, url) in etcd.client_urls.iter().enumerate() {
        let addr: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
        let r = http(
            addr,
            "POST",
            "/v3/maintenance/status",
            &[],
            Some(&serde_json::json!({})),
        );
        if r.body["leader"] == r.body["header"]["member_id"] {
            return i;
        }
    }
    panic!("no member says it leads");
}

#[test]
fn nodes_share_configuration_through_etcd() {
    if !etcd_cluster::available() {
        return;
    }
    let mut etcd = EtcdCluster::start();
    let dirs: Vec<std::path::PathBuf> = (1..=3).map(|i| temp_dir(&format!("fleet-n{i}"))).collect();
    let mut nodes: Vec<Server> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| node(&etcd, d, &format!("n{}", i + 1)))
        .collect();

    // A write on node 1 is in the DNS answers of nodes 2 and 3.
    let put = Instant::now();
    let r = http(
        nodes[0].api,
        "PUT",
        "/api/v1/profiles/web",
        &[],
        Some(&profile("one.example.com")),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let acked = put.elapsed();
    // Polled every 2 ms, so the figure is the propagation delay to within that.
    let deadline = Instant::now() + Duration::from_secs(10);
    for n in &nodes[1..] {
        while n.ask("web.tm.test", Rtype::A) != ["CNAME one.example.com."] {
            assert!(
                Instant::now() < deadline,
                "the write never reached another node's DNS answers"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    eprintln!(
        "write acknowledged in {acked:?}; in every node's DNS answers {:?} after the PUT",
        put.elapsed()
    );

    // Two writers on two nodes with the same ETag: one wins, the other gets 412.
    let etag = r.header("etag").unwrap().to_string();
    let apis: Vec<SocketAddr> = nodes.iter().map(|n| n.api).collect();
    let racers: Vec<_> = [(apis[1], "alpha"), (apis[2], "beta")]
        .into_iter()
        .map(|(api, who)| {
            let etag = etag.clone();
            std::thread::spawn(move || {
                http(
                    api,
                    "PUT",
                    "/api/v1/profiles/web",
                    &[("If-Match", &etag)],
                    Some(&profile(&format!("{who}.example.com"))),
                )
                .status
            })
        })
        .collect();
    let mut statuses: Vec<u16> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 412]);

    // The etcd leader is killed: writes go on through the members left.
    let lead = leader(&etcd);
    etcd.kill_member(lead);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let r = http(
            nodes[0].api,
            "PUT",
            "/api/v1/profiles/web",
            &[],
            Some(&profile("after.example.com")),
        );
        if r.status == 200 || Instant::now() > deadline {
            break r.status;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status, 200, "a write after the leader was lost");
    for (i, n) in nodes.iter().enumerate() {
        wait_until(&format!("node {i} follows after the leader change"), || {
            let got = n.ask("web.tm.test", Rtype::A);
            if got != ["CNAME after.example.com."] {
                eprintln!("node {i}: {got:?}");
            }
            got == ["CNAME after.example.com."]
        });
    }

    // All of etcd is gone: every node keeps answering, reads say they may be stale, writes get
    // 503 and change nothing.
    for i in 0..3 {
        etcd.kill_member(i);
    }
    for n in &nodes {
        assert_eq!(n.ask("web.tm.test", Rtype::A), ["CNAME after.example.com."]);
    }
    let refused = http(
        nodes[0].api,
        "PUT",
        "/api/v1/profiles/web",
        &[],
        Some(&profile("lost.example.com")),
    );
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    let read = http(nodes[1].api, "GET", "/api/v1/profiles/web", &[], None);
    let read = if read.header("warning").is_none() {
        // The first read may be the one that finds etcd gone; the next says so.
        http(nodes[1].api, "GET", "/api/v1/profiles/web", &[], None)
    } else {
        read
    };
    assert_eq!(read.status, 200);
    assert!(
        read.header("warning")
            .is_some_and(|w| w.starts_with("110 ")),
        "a read from the local copy says it may be stale: {:?}",
        read.headers
    );
    // A node restarted meanwhile answers from its local copy.
    drop(nodes.remove(2));
    nodes.push(node(&etcd, &dirs[2], "n3"));
    assert_eq!(
        nodes[2].ask("web.tm.test", Rtype::A),
        ["CNAME after.example.com."],
        "a node started without etcd answers from its copy"
    );

    // etcd is back: everything converges, without restarts.
    for i in 0..3 {
        etcd.start_member(i);
    }
    etcd.wait_healthy(Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http(
            nodes[0].api,
            "PUT",
            "/api/v1/profiles/web",
            &[],
            Some(&profile("back.example.com")),
        );
        if r.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writes never resumed: {:?}",
            r.body
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    for (i, n) in nodes.iter().enumerate() {
        wait_until(&format!("node {i} converges once etcd is back"), || {
            n.ask("web.tm.test", Rtype::A) == ["CNAME back.example.com."]
        });
    }
}
