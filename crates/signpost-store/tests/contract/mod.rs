//! The store contract: what every backend must do under [`Store`], written once. A backend's test
//! file provides a [`Fixture`] and expands [`contract_tests!`], which makes each check its own
//! test.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use signpost_model::Limits;
use signpost_model::azure::ProfileDoc;
use signpost_store::{Backend, Change, Precondition, Store, StoreError};

/// How a backend's tests make spaces and open them.
pub trait Fixture {
    /// Names one empty key space (a file, a key prefix).
    type Space;
    /// A new, empty space.
    fn space(&self) -> Self::Space;
    /// A backend over `space`; opened twice, the two act as two processes (or nodes).
    fn open(&self, space: &Self::Space) -> Box<dyn Backend>;
}

fn store<F: Fixture>(f: &F, space: &F::Space) -> Arc<Store> {
    Store::new(f.open(space), Limits::default()).unwrap()
}

/// A document from JSON.
fn typed(v: Value) -> ProfileDoc {
    ProfileDoc::from_value(v).unwrap()
}

pub fn profile(name: &str, target: &str) -> ProfileDoc {
    typed(
        json!({"name": name, "properties": {"trafficRoutingMethod": "Priority",
        "endpoints": [{"name": "a", "type": "externalEndpoints", "properties": {"target": target}}]}}),
    )
}

fn nesting(name: &str, child: &str) -> ProfileDoc {
    typed(
        json!({"name": name, "properties": {"trafficRoutingMethod": "Priority",
        "endpoints": [{"name": "a", "type": "nestedEndpoints", "properties": {"targetResourceId": child}}]}}),
    )
}

fn put(s: &Store, name: &str, target: &str, pre: Precondition) -> Result<u64, StoreError> {
    s.write(name, Change::Put(Box::new(profile(name, target))), &pre)
        .map(|w| w.profile().unwrap().revision)
}

pub fn writes_get_increasing_revisions_and_survive_reopening<F: Fixture>(f: &F) {
    let space = f.space();
    let s = store(f, &space);
    assert_eq!(s.revision().unwrap(), 0);
    let a = put(&s, "a", "a.example.com", Precondition::None).unwrap();
    let b = put(&s, "b", "b.example.com", Precondition::None).unwrap();
    assert!(b > a);
    let a2 = s
        .write(
            "A",
            Change::Put(Box::new(profile("A", "a2.example.com"))),
            &Precondition::Revision(a),
        )
        .unwrap()
        .profile()
        .unwrap();
    assert_eq!(
        a2.name, "a",
        "names are case-insensitive and keep their first spelling"
    );
    assert_eq!(
        a2.doc.name.as_deref(),
        Some("a"),
        "in the stored document too"
    );
    drop(s);
    let s = store(f, &space);
    assert_eq!(s.list().unwrap().len(), 2);
    assert_eq!(
        s.get("a").unwrap().unwrap().doc,
        profile("a", "a2.example.com")
    );
    assert_eq!(s.revision().unwrap(), a2.revision);
    let (rev, set) = s.profile_set().unwrap();
    assert_eq!((rev, set.profiles().len()), (a2.revision, 2));
}

pub fn preconditions_are_checked_at_commit<F: Fixture>(f: &F) {
    let s = store(f, &f.space());
    let a = put(&s, "a", "x.example.com", Precondition::Absent).unwrap();
    assert!(matches!(
        put(&s, "a", "x.example.com", Precondition::Absent),
        Err(StoreError::Precondition(_))
    ));
    put(&s, "a", "y.example.com", Precondition::Revision(a)).unwrap();
    assert!(
        matches!(
            put(&s, "a", "z.example.com", Precondition::Revision(a)),
            Err(StoreError::Precondition(_))
        ),
        "a stale revision never overwrites"
    );
    assert_eq!(
        s.get("a").unwrap().unwrap().doc,
        profile("a", "y.example.com")
    );
    put(&s, "a", "w.example.com", Precondition::Exists).unwrap();
    assert!(matches!(
        put(&s, "new", "n.example.com", Precondition::Exists),
        Err(StoreError::Precondition(_))
    ));
    assert!(matches!(
        s.write("zz", Change::Delete, &Precondition::None),
        Err(StoreError::NotFound(_))
    ));
}

pub fn invalid_writes_change_nothing<F: Fixture>(f: &F) {
    let s = store(f, &f.space());
    let bad = typed(json!({"name": "a", "properties": {"trafficRoutingMethod": "Sideways"}}));
    match s.write("a", Change::Put(Box::new(bad)), &Precondition::None) {
        Err(StoreError::Invalid(v)) => assert!(v.has("properties.trafficRoutingMethod"), "{v}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.write(
            "p",
            Change::Put(Box::new(nesting("p", "missing"))),
            &Precondition::None
        ),
        Err(StoreError::Invalid(_))
    ));
    put(&s, "c", "c.example.com", Precondition::None).unwrap();
    let last = s
        .write(
            "p",
            Change::Put(Box::new(nesting("p", "c"))),
            &Precondition::None,
        )
        .unwrap()
        .profile()
        .unwrap()
        .revision;
    match s.write("c", Change::Delete, &Precondition::None) {
        Err(StoreError::Invalid(v)) => {
            assert!(v.errors[0].path.starts_with("profiles['p']"), "{v}")
        }
        other => panic!("deleting a nested child must fail: {other:?}"),
    }
    let clash = typed(
        json!({"name": "d", "properties": {"trafficRoutingMethod": "Priority", "dnsConfig": {"relativeName": "c"}}}),
    );
    assert!(matches!(
        s.write("d", Change::Put(Box::new(clash)), &Precondition::None),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.revision().unwrap(),
        last,
        "the refused writes committed nothing"
    );
    assert_eq!(s.list().unwrap().len(), 2);
}

pub fn apply_is_idempotent_and_prunes_on_request<F: Fixture>(f: &F) {
    let s = store(f, &f.space());
    let docs = vec![profile("a", "a.example.com"), profile("b", "b.example.com")];
    let r = s.apply(docs.clone(), false).unwrap();
    assert_eq!(r.created, vec!["a", "b"]);
    let rev = s.revision().unwrap();
    assert!(
        s.apply(docs, false).unwrap().is_empty(),
        "the same documents change nothing"
    );
    assert_eq!(s.revision().unwrap(), rev);
    let planned = s.plan(vec![profile("a", "a2.example.com")], true).unwrap();
    assert_eq!(s.list().unwrap().len(), 2, "a plan changes nothing");
    assert_eq!(s.revision().unwrap(), rev);
    let r = s.apply(vec![profile("a", "a2.example.com")], true).unwrap();
    assert_eq!(planned, r, "the plan is what apply then does");
    assert_eq!(
        (r.updated, r.deleted),
        (vec!["a".to_string()], vec!["b".to_string()])
    );
    assert_eq!(s.list().unwrap().len(), 1);
    let r = s
        .apply(vec![profile("A", "a3.example.com")], false)
        .unwrap();
    assert_eq!(r.updated, ["a"], "the first spelling stays");
    assert_eq!(s.get("a").unwrap().unwrap().doc.name.as_deref(), Some("a"));
    // A child and its parent in one apply, in either order.
    let r = s
        .apply(
            vec![nesting("p", "q"), profile("q", "q.example.com")],
            false,
        )
        .unwrap();
    assert_eq!(r.created, vec!["p", "q"]);
}

pub fn apply_file_records_the_hash_in_the_same_commit<F: Fixture>(f: &F) {
    let s = store(f, &f.space());
    assert_eq!(s.applied_file_hash().unwrap(), None);
    s.apply_file(vec![profile("a", "a.example.com")], "h1")
        .unwrap();
    assert_eq!(s.applied_file_hash().unwrap().as_deref(), Some("h1"));
    // A file whose documents change nothing (a comment edited) still records its hash.
    assert!(
        s.apply_file(vec![profile("a", "a.example.com")], "h2")
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.applied_file_hash().unwrap().as_deref(), Some("h2"));
    // A rejected file records nothing.
    let bad = typed(json!({"name": "b", "properties": {"trafficRoutingMethod": "Sideways"}}));
    assert!(s.apply_file(vec![bad], "h3").is_err());
    assert_eq!(s.applied_file_hash().unwrap().as_deref(), Some("h2"));
    // API writes leave it alone.
    put(&s, "a", "b.example.com", Precondition::None).unwrap();
    assert_eq!(s.applied_file_hash().unwrap().as_deref(), Some("h2"));
}

/// Two stores over one space act as two processes or nodes: each sees the other's writes on its
/// change feed, and their writes are serialised as one store's are.
pub fn two_writers_on_one_space_are_serialised_and_see_each_other<F: Fixture>(f: &F) {
    let space = f.space();
    let one = store(f, &space);
    let two = store(f, &space);
    two.follow().unwrap();
    let mut feed = two.subscribe();
    let a = put(&one, "a", "a.example.com", Precondition::None).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), feed.wait_for(|r| *r >= a))
            .await
            .expect("the other store's write reaches the change feed")
            .unwrap();
    });
    // The second store's view catches up before it decides.
    assert_eq!(two.profile_set().unwrap().1.profiles().len(), 1);
    let b = put(&two, "a", "b.example.com", Precondition::Revision(a)).unwrap();
    assert!(matches!(
        put(&one, "a", "c.example.com", Precondition::Revision(a)),
        Err(StoreError::Precondition(_))
    ));
    // A stale cache does not let a cross-profile rule slip: two's "x" (relative name "shared")
    // clashes with one's "y", written after two last looked.
    let clash = typed(
        json!({"name": "x", "properties": {"trafficRoutingMethod": "Priority", "dnsConfig": {"relativeName": "shared"}}}),
    );
    let first = typed(
        json!({"name": "y", "properties": {"trafficRoutingMethod": "Priority", "dnsConfig": {"relativeName": "shared"}}}),
    );
    two.profile_set().unwrap();
    one.write("y", Change::Put(Box::new(first)), &Precondition::None)
        .unwrap();
    assert!(matches!(
        two.write("x", Change::Put(Box::new(clash)), &Precondition::None),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(one.get("a").unwrap().unwrap().revision, b);
    // Many changes at once (a backend may read them in one range rather than one by one).
    let many: Vec<ProfileDoc> = (0..40)
        .map(|i| profile(&format!("m{i}"), &format!("m{i}.example.com")))
        .collect();
    one.apply(many, false).unwrap();
    let (_, set) = two.profile_set().unwrap();
    assert_eq!(set.profiles().len(), 2 + 40);
    assert_eq!(
        two.get("m39").unwrap().unwrap().doc,
        profile("m39", "m39.example.com")
    );
}

pub fn the_change_feed_announces_every_commit<F: Fixture>(f: &F) {
    let s = store(f, &f.space());
    let feed = s.subscribe();
    assert_eq!(*feed.borrow(), 0);
    let a = put(&s, "a", "a.example.com", Precondition::None).unwrap();
    assert_eq!(*feed.borrow(), a, "announced before write returns");
    s.apply(vec![profile("b", "b.example.com")], false).unwrap();
    assert_eq!(*feed.borrow(), s.revision().unwrap());
    let before = *feed.borrow();
    s.plan(vec![profile("c", "c.example.com")], false).unwrap();
    assert_eq!(*feed.borrow(), before, "a plan commits nothing");
}

fn forced(reason: &str) -> signpost_model::Override {
    signpost_model::Override {
        state: signpost_model::OverrideState::Degraded,
        reason: reason.into(),
        expires_at: None,
        created_at: signpost_model::UtcTime::now(),
        created_by: None,
    }
}

/// Operator overrides: written beside the profiles (names without case, stored with the
/// profile's spelling), seen by a second store on the same space through its change feed,
/// surviving a reopen, and cleared with their endpoint or profile.
pub fn overrides_are_announced_and_leave_with_their_endpoint<F: Fixture>(f: &F) {
    let space = f.space();
    let s = store(f, &space);
    put(&s, "web", "a.example.com", Precondition::None).unwrap();
    put(&s, "api", "b.example.com", Precondition::None).unwrap();
    let other = store(f, &space);
    other.follow().unwrap();
    let mut feed = other.subscribe();
    let seen = *feed.borrow_and_update();

    let set = s.set_override("WEB", "A", forced("maintenance")).unwrap();
    assert_eq!((set.profile.as_str(), set.endpoint.as_str()), ("web", "a"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while *feed.borrow() == seen {
        assert!(
            std::time::Instant::now() < deadline,
            "the other store never saw the override"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let theirs = other.overrides().unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].record.reason, "maintenance");
    assert!(matches!(
        s.set_override("web", "nope", forced("x")),
        Err(StoreError::EndpointNotFound(..))
    ));
    assert!(matches!(
        s.set_override("nope", "a", forced("x")),
        Err(StoreError::NotFound(_))
    ));
    // Replaced, not added.
    s.set_override("web", "a", forced("still")).unwrap();
    s.set_override("api", "a", forced("api too")).unwrap();
    drop(s);
    let s = store(f, &space);
    assert_eq!(s.overrides().unwrap().len(), 2, "both survive a reopen");
    assert_eq!(
        s.get_override("web", "a").unwrap().unwrap().record.reason,
        "still"
    );

    // The endpoint leaves the profile: its override goes in the same commit.
    let renamed = typed(
        json!({"name": "web", "properties": {"trafficRoutingMethod": "Priority",
        "endpoints": [{"name": "b", "type": "externalEndpoints", "properties": {"target": "a.example.com"}}]}}),
    );
    s.write("web", Change::Put(Box::new(renamed)), &Precondition::None)
        .unwrap();
    assert!(s.get_override("web", "a").unwrap().is_none());
    // The profile is deleted: so are its overrides.
    s.write("api", Change::Delete, &Precondition::None).unwrap();
    assert!(s.overrides().unwrap().is_empty());

    put(&s, "api", "b.example.com", Precondition::None).unwrap();
    s.set_override("api", "a", forced("back")).unwrap();
    let removed = s.clear_override("API", "a").unwrap().unwrap();
    assert_eq!(removed.record.reason, "back");
    let revision = s.revision().unwrap();
    assert!(s.clear_override("api", "a").unwrap().is_none());
    assert_eq!(
        s.revision().unwrap(),
        revision,
        "clearing nothing writes nothing"
    );
}

/// Expands to one `#[test]` per contract check, over `$fixture`.
#[macro_export]
macro_rules! contract_tests {
    ($fixture:expr) => {
        #[test]
        fn writes_get_increasing_revisions_and_survive_reopening() {
            contract::writes_get_increasing_revisions_and_survive_reopening(&$fixture);
        }
        #[test]
        fn preconditions_are_checked_at_commit() {
            contract::preconditions_are_checked_at_commit(&$fixture);
        }
        #[test]
        fn invalid_writes_change_nothing() {
            contract::invalid_writes_change_nothing(&$fixture);
        }
        #[test]
        fn apply_is_idempotent_and_prunes_on_request() {
            contract::apply_is_idempotent_and_prunes_on_request(&$fixture);
        }
        #[test]
        fn apply_file_records_the_hash_in_the_same_commit() {
            contract::apply_file_records_the_hash_in_the_same_commit(&$fixture);
        }
        #[test]
        fn two_writers_on_one_space_are_serialised_and_see_each_other() {
            contract::two_writers_on_one_space_are_serialised_and_see_each_other(&$fixture);
        }
        #[test]
        fn the_change_feed_announces_every_commit() {
            contract::the_change_feed_announces_every_commit(&$fixture);
        }
        #[test]
        fn overrides_are_announced_and_leave_with_their_endpoint() {
            contract::overrides_are_announced_and_leave_with_their_endpoint(&$fixture);
        }
    };
}
