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
}
