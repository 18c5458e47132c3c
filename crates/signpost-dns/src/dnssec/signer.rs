//! RRSIGs (RFC 4034 3, RFC 4035 2.2), made before they are needed and copied on the query path.
//!
//! An RRset is identified by its canonical form: owner, type, TTL and sorted RDATA, all
//! lower-case and uncompressed ([`RrsetKey`]). Two tables hold the signatures of each zone:
//! - [`Pinned`]: built with every snapshot ([`Pins`]) for every answer the snapshot can give
//!   (the apex records, each profile's answer per endpoint choice, hosted zones' RRsets); a
//!   signature still valid for [`REFRESH_BEFORE`] is carried over from the previous snapshot's
//!   table, so a health change re-signs only the answers it adds. Read without a lock.
//! - the signer's dynamic table: answers that cannot be listed in advance (a MultiValue subset,
//!   the denial for a name that does not exist, a wildcard expanded to the query name) are signed
//!   on first use (outside the table's lock) and kept in two generations of at most
//!   [`DYNAMIC_MAX`] each: a full generation turns over, and what is still asked for moves back.
//!
//! Signatures are valid from an hour before they are made (clock skew) for [`VALIDITY`] (up to
//! two days less, at random, so one publish's signatures come due over days); the publisher
//! re-publishes when a pinned one has less than [`REFRESH_BEFORE`] left.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ring::rand::SystemRandom;

use super::DnssecError;
use super::keys::ZoneKey;

/// How long a signature is valid.
pub const VALIDITY: u32 = 14 * 24 * 3600;
/// How much shorter than [`VALIDITY`] a signature may be made, at random.
const JITTER: u32 = 2 * 24 * 3600;
/// A signature with less than this left is made again.
pub const REFRESH_BEFORE: u32 = 7 * 24 * 3600;
/// How far before its making a signature's validity starts.
const BACKDATE: u32 = 3600;
/// Signatures kept in a zone's dynamic table.
pub const DYNAMIC_MAX: usize = 16_384;

const RRSIG: u16 = 46;

/// The RRSIG records of one RRset, one per key: record tails (type, class, TTL, rdlength,
/// rdata) back to back, to be written each after the owner name.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    tails: Box<[u8]>,
    /// When the first of them expires (seconds since the epoch, mod 2^32).
    expires: u32,
}

impl Signed {
    /// Each RRSIG's tail.
    pub(crate) fn tails(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.tails[..];
        std::iter::from_fn(move || {
            if rest.len() < 10 {
                return None;
            }
            let len = 10 + u16::from_be_bytes([rest[8], rest[9]]) as usize;
            let (tail, after) = rest.split_at(len);
            rest = after;
            Some(tail)
        })
    }

    fn fresh(&self, now: u32) -> bool {
        self.expires.wrapping_sub(now) as i32 >= REFRESH_BEFORE as i32
    }
}

/// The canonical form of an RRset: owner, type, TTL, then each RDATA (length-prefixed) in
/// canonical order. Also what the tables are keyed by.
#[derive(Debug, Default)]
pub(crate) struct RrsetKey {
    bytes: Vec<u8>,
}

impl RrsetKey {
    /// Builds the key of the RRset `rtype` at `owner` (lower-case wire) with `ttl` and `rdatas`
    /// (canonical RDATA; sorted here).
    pub(crate) fn build(&mut self, owner: &[u8], rtype: u16, ttl: u32, rdatas: &mut [&[u8]]) {
        rdatas.sort_unstable();
        self.bytes.clear();
        self.bytes.extend_from_slice(owner);
        self.bytes.extend_from_slice(&rtype.to_be_bytes());
        self.bytes.extend_from_slice(&ttl.to_be_bytes());
        // An RRset has no duplicates (RFC 2181 5): a record written twice is signed once, as a
        // validator's canonical form keeps it once (RFC 4034 6.3).
        let mut last: Option<&[u8]> = None;
        for r in rdatas.iter() {
            if last == Some(*r) {
                continue;
            }
            last = Some(r);
            self.bytes
                .extend_from_slice(&(r.len() as u16).to_be_bytes());
            self.bytes.extend_from_slice(r);
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

thread_local! {
    /// The query path's scratch key, so looking a signature up allocates nothing.
    static SCRATCH: RefCell<RrsetKey> = RefCell::default();
}

/// Signatures made for one snapshot (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Pinned {
    map: HashMap<Box<[u8]>, Signed>,
    /// The earliest expiry among them (`None`: empty).
    earliest: Option<u32>,
}

impl Pinned {
    /// Whether a signature in this table has less than [`REFRESH_BEFORE`] left at `now`.
    pub(crate) fn due(&self, now: u32) -> bool {
        self.earliest
            .is_some_and(|e| (e.wrapping_sub(now) as i32) < REFRESH_BEFORE as i32)
    }

    /// Signatures in the table.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// The dynamic table in two generations: a full current generation becomes the previous one
/// (the one before is dropped), and a signature used from the previous one moves back to the
/// current one, so what is still asked for survives a turn and memory stays at most
/// 2 x [`DYNAMIC_MAX`] signatures.
#[derive(Debug, Default)]
struct Generations {
    current: HashMap<Box<[u8]>, Signed>,
    previous: HashMap<Box<[u8]>, Signed>,
}

impl Generations {
    fn get(&mut self, key: &[u8], now: u32) -> Option<&Signed> {
        if !self.current.contains_key(key)
            && let Some(s) = self.previous.remove(key)
        {
            self.insert(key, s);
        }
        self.current.get(key).filter(|s| s.fresh(now))
    }

    fn insert(&mut self, key: &[u8], signed: Signed) {
        if self.current.len() >= DYNAMIC_MAX && !self.current.contains_key(key) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key.into(), signed);
    }
}

/// The keys of one zone and its dynamic table.
pub struct ZoneSigner {
    /// Lower-case wire name of the apex: the signer name.
    apex: Vec<u8>,
    keys: Vec<ZoneKey>,
    rng: SystemRandom,
    dynamic: Mutex<Generations>,
    /// The last snapshot's pinned table, whose signatures the next one reuses.
    last_pinned: Mutex<Arc<Pinned>>,
}

impl std::fmt::Debug for ZoneSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneSigner")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl ZoneSigner {
    /// A signer for the zone whose lower-case wire apex is `apex`, signing with every key of
    /// `keys` (more than one while a roll is under way: double signatures, RFC 6781 4.1.1.2).
    pub fn new(apex: Vec<u8>, keys: Vec<ZoneKey>) -> Result<Self, DnssecError> {
        if keys.is_empty() {
            return Err(DnssecError::Key("a signed zone needs a key".into()));
        }
        Ok(Self {
            apex,
            keys,
            rng: SystemRandom::new(),
            dynamic: Mutex::new(Generations::default()),
            last_pinned: Mutex::new(Arc::default()),
        })
    }

    /// A signer for zone `name` (presentation form) with `keys`.
    pub fn for_zone(name: &str, keys: Vec<ZoneKey>) -> Result<Self, DnssecError> {
        Self::new(apex_wire(name)?, keys)
    }

    /// The zone's apex (lower-case wire): the signer name.
    pub(crate) fn apex(&self) -> &[u8] {
        &self.apex
    }

    /// The keys, as published in DNSKEY.
    pub fn keys(&self) -> &[ZoneKey] {
        &self.keys
    }

    /// The RRSIGs of the RRset `key` names, made at `now`.
    fn sign(&self, key: &[u8], now: u32) -> Signed {
        let (owner, rest) = split_name(key);
        let rtype = u16::from_be_bytes([rest[0], rest[1]]);
        let ttl = [rest[2], rest[3], rest[4], rest[5]];
        let mut rdatas = Vec::new();
        let mut at = &rest[6..];
        while at.len() >= 2 {
            let len = u16::from_be_bytes([at[0], at[1]]) as usize;
            rdatas.push(&at[2..2 + len]);
            at = &at[2 + len..];
        }
        let inception = now.wrapping_sub(BACKDATE);
        // Up to two days shorter at random, so signatures made in one publish (every answer,
        // after a key change) come due over days, not in one re-signing burst a week later.
        let expiration = now.wrapping_add(VALIDITY - fastrand::u32(0..JITTER));
        let mut labels = label_count(owner);
        if owner.starts_with(&[1, b'*']) {
            labels -= 1;
        }
        let mut tails = Vec::new();
        for k in &self.keys {
            let mut rdata = Vec::with_capacity(18 + self.apex.len() + 64);
            rdata.extend_from_slice(&rtype.to_be_bytes());
            rdata.push(k.algorithm().number());
            rdata.push(labels);
            rdata.extend_from_slice(&ttl);
            rdata.extend_from_slice(&expiration.to_be_bytes());
            rdata.extend_from_slice(&inception.to_be_bytes());
            rdata.extend_from_slice(&k.tag().to_be_bytes());
            rdata.extend_from_slice(&self.apex);
            let mut message = rdata.clone();
            for r in &rdatas {
                message.extend_from_slice(owner);
                message.extend_from_slice(&rtype.to_be_bytes());
                message.extend_from_slice(&1u16.to_be_bytes());
                message.extend_from_slice(&ttl);
                message.extend_from_slice(&(r.len() as u16).to_be_bytes());
                message.extend_from_slice(r);
            }
            // `ring` signs from memory with the system's random source; a failure here means
            // that source is broken, and no signature is the only safe answer.
            let Ok(signature) = k.sign(&self.rng, &message) else {
                tracing::error!(key = k.tag(), "dnssec: signing failed");
                continue;
            };
            rdata.extend_from_slice(&signature);
            tails.extend_from_slice(&RRSIG.to_be_bytes());
            tails.extend_from_slice(&1u16.to_be_bytes());
            tails.extend_from_slice(&ttl);
            tails.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            tails.extend_from_slice(&rdata);
        }
        Signed {
            tails: tails.into_boxed_slice(),
            expires: expiration,
        }
    }

    /// Calls `write` with the RRSIGs of the RRset `rtype` at `owner` with `ttl` and `rdatas`
    /// (canonical; reordered): from `pinned`, else from the dynamic table, else made now and
    /// kept there.
    pub(crate) fn with_signatures<R>(
        &self,
        pinned: &Pinned,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdatas: &mut [&[u8]],
        write: impl FnOnce(&Signed) -> R,
    ) -> R {
        SCRATCH.with_borrow_mut(|key| {
            key.build(owner, rtype, ttl, rdatas);
            if let Some(s) = pinned.map.get(key.as_bytes()) {
                return write(s);
            }
            let now = now_secs();
            {
                let mut dynamic = self.dynamic_table();
                if let Some(s) = dynamic.get(key.as_bytes(), now) {
                    return write(s);
                }
            }
            // Signed outside the lock: other workers' lookups do not wait for the signature.
            let signed = self.sign(key.as_bytes(), now);
            let result = write(&signed);
            if !signed.tails.is_empty() {
                self.dynamic_table().insert(key.as_bytes(), signed);
            }
            result
        })
    }

    fn dynamic_table(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.dynamic
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the pinned table of a new snapshot.
    pub(crate) fn pins(&self) -> Pins<'_> {
        let previous = self
            .last_pinned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        Pins {
            signer: self,
            previous,
            table: Pinned::default(),
            key: RrsetKey::default(),
            now: now_secs(),
        }
    }
}

/// A pinned table being built (see the module docs).
pub(crate) struct Pins<'s> {
    signer: &'s ZoneSigner,
    previous: Arc<Pinned>,
    table: Pinned,
    key: RrsetKey,
    now: u32,
}

impl Pins<'_> {
    /// Signs (or carries over the signatures of) the RRset `rtype` at `owner`.
    pub(crate) fn add(&mut self, owner: &[u8], rtype: u16, ttl: u32, rdatas: &mut [&[u8]]) {
        self.key.build(owner, rtype, ttl, rdatas);
        if self.table.map.contains_key(self.key.as_bytes()) {
            return;
        }
        let signed = match self.previous.map.get(self.key.as_bytes()) {
            Some(s) if s.fresh(self.now) => s.clone(),
            _ => self.signer.sign(self.key.as_bytes(), self.now),
        };
        if signed.tails.is_empty() {
            return; // signing failed (logged): asked again on the query path
        }
        let earliest = self.table.earliest.get_or_insert(signed.expires);
        if (signed.expires.wrapping_sub(*earliest) as i32) < 0 {
            *earliest = signed.expires;
        }
        self.table.map.insert(self.key.as_bytes().into(), signed);
    }

    /// The finished table, also kept for the next snapshot to reuse.
    pub(crate) fn finish(self) -> Arc<Pinned> {
        let table = Arc::new(self.table);
        *self
            .signer
            .last_pinned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = table.clone();
        table
    }
}

/// The lower-case wire form of zone `name`.
pub fn apex_wire(name: &str) -> Result<Vec<u8>, DnssecError> {
    crate::snapshot::lower_wire(name)
        .ok_or_else(|| DnssecError::Key(format!("{name:?} is not a zone name")))
}

/// Seconds since the epoch, mod 2^32 (RRSIG times are serial numbers, RFC 4034 3.1.5).
pub(crate) fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

/// Splits a wire name off the front of `bytes`.
fn split_name(bytes: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    while bytes[at] != 0 {
        at += 1 + bytes[at] as usize;
    }
    bytes.split_at(at + 1)
}

/// Labels of a wire name, the root not counted.
pub(crate) fn label_count(name: &[u8]) -> u8 {
    let mut n = 0;
    let mut at = 0;
    while name[at] != 0 {
        n += 1;
        at += 1 + name[at] as usize;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::super::keys::{Algorithm, KeyMaterial};
    use super::*;
    use domain::base::Name;
    use domain::rdata::Rrsig;
    use std::str::FromStr;

    fn signer(algorithm: Algorithm) -> ZoneSigner {
        let key = ZoneKey::new(&KeyMaterial::generate(algorithm).unwrap()).unwrap();
        let apex = Name::<Vec<u8>>::from_str("tm.example.net.").unwrap();
        ZoneSigner::new(apex.as_slice().to_vec(), vec![key]).unwrap()
    }

    /// Verifies `signed` over the RRset with `ring`, the way a validator does (RFC 4035 5.3).
    fn verify(
        signer: &ZoneSigner,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdatas: &[&[u8]],
        signed: &Signed,
    ) {
        use domain::dep::octseq::Parser;
        let key = &signer.keys()[0];
        for tail in signed.tails() {
            let rdata = &tail[10..];
            let mut parser = Parser::from_ref(rdata);
            let rrsig =
                Rrsig::<&[u8], domain::base::ParsedName<&[u8]>>::parse(&mut parser).unwrap();
            assert_eq!(rrsig.type_covered().to_int(), rtype);
            assert_eq!(rrsig.original_ttl().as_secs(), ttl);
            assert_eq!(rrsig.key_tag(), key.tag());
            let signature = rrsig.signature();
            let mut message = rdata[..rdata.len() - signature.len()].to_vec();
            let mut sorted = rdatas.to_vec();
            sorted.sort();
            for r in sorted {
                message.extend_from_slice(owner);
                message.extend_from_slice(&rtype.to_be_bytes());
                message.extend_from_slice(&[0, 1]);
                message.extend_from_slice(&ttl.to_be_bytes());
                message.extend_from_slice(&(r.len() as u16).to_be_bytes());
                message.extend_from_slice(r);
            }
            let alg: &dyn ring::signature::VerificationAlgorithm = match key.algorithm() {
                Algorithm::EcdsaP256Sha256 => &ring::signature::ECDSA_P256_SHA256_FIXED,
                Algorithm::Ed25519 => &ring::signature::ED25519,
            };
            let mut public = key.dnskey_rdata()[4..].to_vec();
            if key.algorithm() == Algorithm::EcdsaP256Sha256 {
                public.insert(0, 4);
            }
            ring::signature::UnparsedPublicKey::new(alg, &public)
                .verify(&message, signature)
                .expect("signature verifies");
        }
    }

    #[test]
    fn signatures_verify_and_are_reused() {
        for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let s = signer(algorithm);
            let owner = Name::<Vec<u8>>::from_str("www.tm.example.net.").unwrap();
            let owner = owner.as_slice();
            let a: &[u8] = &[192, 0, 2, 1];
            let b: &[u8] = &[192, 0, 2, 2];
            let pinned = Arc::new(Pinned::default());
            let first = s.with_signatures(&pinned, owner, 1, 60, &mut [b, a], |x| x.clone());
            verify(&s, owner, 1, 60, &[a, b], &first);
            // Same RRset in another order: the same signature, from the dynamic table.
            let again = s.with_signatures(&pinned, owner, 1, 60, &mut [a, b], |x| x.clone());
            assert_eq!(first.tails, again.tails);
            // Pinned, then carried into the next table without signing again.
            let mut pins = s.pins();
            pins.add(owner, 1, 60, &mut [a]);
            let table = pins.finish();
            assert_eq!(table.len(), 1);
            assert!(!table.due(now_secs()));
            assert!(table.due(now_secs().wrapping_add(VALIDITY)));
            let pinned_sig = s.with_signatures(&table, owner, 1, 60, &mut [a], |x| x.clone());
            verify(&s, owner, 1, 60, &[a], &pinned_sig);
            let mut pins = s.pins();
            pins.add(owner, 1, 60, &mut [a]);
            let next = pins.finish();
            let carried = s.with_signatures(&next, owner, 1, 60, &mut [a], |x| x.clone());
            assert_eq!(carried.tails, pinned_sig.tails);
        }
    }

    #[test]
    fn the_dynamic_table_turns_over_keeping_what_is_asked_for() {
        let now = now_secs();
        let signed = |n: u8| Signed {
            tails: vec![n].into_boxed_slice(),
            expires: now.wrapping_add(VALIDITY),
        };
        let mut t = Generations::default();
        t.insert(b"kept", signed(1));
        for i in 0..DYNAMIC_MAX as u32 {
            t.insert(&i.to_be_bytes(), signed(2));
        }
        // The first generation turned over once; "kept" is in the previous one, and asking for
        // it brings it back into the current one.
        assert!(t.current.len() <= DYNAMIC_MAX && t.previous.len() == DYNAMIC_MAX);
        assert_eq!(t.get(b"kept", now).map(|s| s.tails[0]), Some(1));
        assert!(t.current.contains_key(&b"kept"[..]));
        // A signature near its end is not served (made again by the caller).
        t.insert(
            b"old",
            Signed {
                tails: vec![3].into_boxed_slice(),
                expires: now + 60,
            },
        );
        assert!(t.get(b"old", now).is_none());
    }

    #[test]
    fn duplicates_are_signed_once() {
        let mut a = RrsetKey::default();
        let mut b = RrsetKey::default();
        let x: &[u8] = &[192, 0, 2, 1];
        a.build(b"\0", 1, 60, &mut [x, x]);
        b.build(b"\0", 1, 60, &mut [x]);
        assert_eq!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn wildcard_owners_do_not_count_the_star() {
        let s = signer(Algorithm::Ed25519);
        let owner = Name::<Vec<u8>>::from_str("*.tm.example.net.").unwrap();
        let signed = s.with_signatures(
            &Pinned::default(),
            owner.as_slice(),
            16,
            60,
            &mut [&[3, b'a', b'b', b'c'][..]],
            |x| x.clone(),
        );
        let tail = signed.tails().next().unwrap();
        assert_eq!(tail[10 + 3], 3, "labels of tm.example.net");
    }
}
