//! The store contract over the etcd backend, against a real three-member etcd cluster on
//! loopback: each space is a key prefix; two backends on one prefix act as two nodes.

mod contract;
mod etcd_cluster;

use std::sync::atomic::{AtomicUsize, Ordering};

use etcd_cluster::EtcdCluster;
use signpost_store::{Backend, EtcdBackend, EtcdConfig};

struct Etcd {
    cluster: EtcdCluster,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl contract::Fixture for Etcd {
    type Space = String;

    fn space(&self) -> String {
        format!("/signpost-test-{}/", NEXT.fetch_add(1, Ordering::Relaxed))
    }

    fn open(&self, prefix: &String) -> Box<dyn Backend> {
        Box::new(
            EtcdBackend::connect(&EtcdConfig {
                endpoints: self.cluster.client_urls.clone(),
                prefix: prefix.clone(),
                user: None,
                tls: None,
            })
            .unwrap(),
        )
    }
}

/// One cluster for every check (starting three members costs seconds): the checks run in turn,
/// each in its own prefix.
#[test]
fn the_store_contract_holds_on_a_three_member_etcd_cluster() {
    if !etcd_cluster::available() {
        return;
    }
    let f = Etcd {
        cluster: EtcdCluster::start(),
    };
    contract::writes_get_increasing_revisions_and_survive_reopening(&f);
    contract::preconditions_are_checked_at_commit(&f);
    contract::invalid_writes_change_nothing(&f);
    contract::apply_is_idempotent_and_prunes_on_request(&f);
    contract::apply_file_records_the_hash_in_the_same_commit(&f);
    contract::two_writers_on_one_space_are_serialised_and_see_each_other(&f);
    contract::the_change_feed_announces_every_commit(&f);
    contract::overrides_are_announced_and_leave_with_their_endpoint(&f);
}

/// A fleet's views are read in pages: three nodes with 10,000 endpoints each hold more than the
/// 4 MiB one gRPC message may carry, and a node that joins must still read them all (a single
/// range read failed, and the node never got in session).
#[test]
fn a_node_joining_reads_views_larger_than_one_grpc_message() {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use signpost_model::{Observation, ProbeStatus};
    use signpost_store::{Fleet, FleetConfig};

    if !etcd_cluster::available() {
        return;
    }
    let cluster = EtcdCluster::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let config = |node: &str| FleetConfig {
        etcd: EtcdConfig {
            endpoints: cluster.client_urls.clone(),
            prefix: "/fleet-pages/".into(),
            user: None,
            tls: None,
        },
        node: node.into(),
        probe_source: None,
    };
    const VIEWS: usize = 30_000;
    let views: HashMap<(String, String), Observation> = (0..VIEWS)
        .map(|i| {
            (
                (
                    format!("profile-{}", i / 200),
                    format!("endpoint-{}", i % 200),
                ),
                Observation {
                    status: ProbeStatus::Degraded,
                    since_ms: 1_764_000_000_000 + i as u64,
                    reason: format!(
                        "connection refused by 127.0.0.1:{} {}",
                        i % 65536,
                        "x".repeat(60)
                    ),
                },
            )
        })
        .collect();
    let writer = Fleet::start(config("big"));
    writer.publish(views.clone());
    // The writer itself re-reads everything whenever its session starts; wait until its views
    // are all in etcd by asking a second node that joins afterwards.
    let deadline = Instant::now() + Duration::from_secs(60);
    let joiner = loop {
        std::thread::sleep(Duration::from_secs(2));
        let joiner = Fleet::start(config("joiner"));
        let mut peers = joiner.peers();
        let seen = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), peers.wait_for(|p| p.connected))
                .await
                .ok()
                .and_then(Result::ok)
                .map(|p| p.observations.get("big").map_or(0, HashMap::len))
        });
        if seen == Some(VIEWS) {
            break joiner;
        }
        assert!(
            Instant::now() < deadline,
            "the joining node never read the {VIEWS} views (saw {seen:?})"
        );
    };
    let peers = joiner.peers().borrow().clone();
    assert_eq!(peers.observations["big"], views, "every view, intact");
    assert_eq!(
        peers.nodes.keys().collect::<Vec<_>>(),
        ["big", "joiner"],
        "both nodes' records"
    );
}
