//! Signing keys: generated with `ring`, kept by the store as PKCS#8 documents, published as
//! DNSKEY (flags 257: a combined signing key, RFC 6781 3.1) and handed to the parent as DS.

use domain::utils::base64;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};

use super::DnssecError;

/// DNSKEY flags of a combined signing key: Zone Key and Secure Entry Point.
pub const CSK_FLAGS: u16 = 257;

/// A signing algorithm (RFC 8624 lists both as "MUST" for validators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256, algorithm 13 (RFC 6605): the default.
    EcdsaP256Sha256,
    /// Ed25519, algorithm 15 (RFC 8080).
    Ed25519,
}

impl Algorithm {
    /// The IANA algorithm number.
    pub fn number(self) -> u8 {
        match self {
            Self::EcdsaP256Sha256 => 13,
            Self::Ed25519 => 15,
        }
    }

    /// The mnemonic (RFC 8624), as the settings and the store spell it.
    pub fn mnemonic(self) -> &'static str {
        match self {
            Self::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Self::Ed25519 => "ED25519",
        }
    }

    /// Reads a mnemonic or number (case-insensitive): `ECDSAP256SHA256`/`13`, `ED25519`/`15`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "ECDSAP256SHA256" | "13" => Some(Self::EcdsaP256Sha256),
            "ED25519" | "15" => Some(Self::Ed25519),
            _ => None,
        }
    }
}

/// A key as the store keeps it: the algorithm and the PKCS#8 private key document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMaterial {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// PKCS#8 v1/v2 document of the private key.
    pub pkcs8: Vec<u8>,
}

impl KeyMaterial {
    /// A new random key.
    pub fn generate(algorithm: Algorithm) -> Result<Self, DnssecError> {
        let rng = SystemRandom::new();
        let doc = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            Algorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
        }
        .map_err(|_| DnssecError::Key("the system random source failed".into()))?;
        Ok(Self {
            algorithm,
            pkcs8: doc.as_ref().to_vec(),
        })
    }
}

impl KeyMaterial {
    /// The private key as base64 (how the store keeps it).
    pub fn to_base64(&self) -> String {
        base64::encode_string(&self.pkcs8)
    }

    /// A key from its algorithm and base64 private key.
    pub fn from_base64(algorithm: Algorithm, text: &str) -> Result<Self, DnssecError> {
        let pkcs8 = base64::decode::<Vec<u8>>(text)
            .map_err(|_| DnssecError::Key("the stored private key is not base64".into()))?;
        Ok(Self { algorithm, pkcs8 })
    }
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A key ready to sign: its pair, DNSKEY RDATA and key tag.
pub struct ZoneKey {
    algorithm: Algorithm,
    pair: Pair,
    dnskey: Vec<u8>,
    tag: u16,
}

impl std::fmt::Debug for ZoneKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneKey")
            .field("algorithm", &self.algorithm)
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

impl ZoneKey {
    /// Loads `material` (a document that does not parse is an error naming the algorithm).
    pub fn new(material: &KeyMaterial) -> Result<Self, DnssecError> {
        let bad = |e: ring::error::KeyRejected| {
            DnssecError::Key(format!(
                "the stored {} key does not load: {e}",
                material.algorithm.mnemonic()
            ))
        };
        let (pair, public) = match material.algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let pair = EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &material.pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(bad)?;
                // Uncompressed point 0x04 || x || y; DNSKEY carries x || y (RFC 6605 4).
                let public = pair.public_key().as_ref()[1..].to_vec();
                (Pair::Ecdsa(pair), public)
            }
            Algorithm::Ed25519 => {
                let pair =
                    Ed25519KeyPair::from_pkcs8_maybe_unchecked(&material.pkcs8).map_err(bad)?;
                let public = pair.public_key().as_ref().to_vec();
                (Pair::Ed25519(pair), public)
            }
        };
        let mut dnskey = Vec::with_capacity(4 + public.len());
        dnskey.extend_from_slice(&CSK_FLAGS.to_be_bytes());
        dnskey.push(3); // protocol
        dnskey.push(material.algorithm.number());
        dnskey.extend_from_slice(&public);
        let tag = key_tag(&dnskey);
        Ok(Self {
            algorithm: material.algorithm,
            pair,
            dnskey,
            tag,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key tag (RFC 4034 appendix B).
    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// The DNSKEY RDATA.
    pub fn dnskey_rdata(&self) -> &[u8] {
        &self.dnskey
    }

    /// The DNSKEY record in presentation form, for the parent or a trust anchor.
    pub fn dnskey_text(&self, zone: &str, ttl: u32) -> String {
        format!(
            "{}. {ttl} IN DNSKEY {CSK_FLAGS} 3 {} {}",
            zone.trim_end_matches('.'),
            self.algorithm.number(),
            base64::encode_string(&self.dnskey[4..])
        )
    }

    /// The DS record (digest type 2, SHA-256) the parent publishes, in presentation form.
    pub fn ds_text(&self, zone: &str, apex_wire: &[u8]) -> String {
        let mut input = apex_wire.to_vec();
        input.extend_from_slice(&self.dnskey);
        let digest = ring::digest::digest(&ring::digest::SHA256, &input);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        format!(
            "{}. IN DS {} {} 2 {hex}",
            zone.trim_end_matches('.'),
            self.tag,
            self.algorithm.number()
        )
    }

    /// Signs `message`: 64 bytes for both algorithms (ECDSA's r || s, RFC 6605 4).
    pub(crate) fn sign(&self, rng: &SystemRandom, message: &[u8]) -> Result<Vec<u8>, DnssecError> {
        match &self.pair {
            Pair::Ecdsa(p) => p
                .sign(rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| DnssecError::Key("ECDSA signing failed".into())),
            Pair::Ed25519(p) => Ok(p.sign(message).as_ref().to_vec()),
        }
    }
}

/// The key tag of DNSKEY RDATA (RFC 4034 appendix B; not algorithm 1).
fn key_tag(rdata: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for (i, b) in rdata.iter().enumerate() {
        acc += if i & 1 == 0 {
            u32::from(*b) << 8
        } else {
            u32::from(*b)
        };
    }
    acc += (acc >> 16) & 0xFFFF;
    (acc & 0xFFFF) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tag_matches_rfc_4034_example() {
        // The DNSKEY of RFC 4034 section 5.4's example (dskey.example.com, tag 60485).
        let public = base64::decode::<Vec<u8>>(
            "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
        )
        .unwrap();
        let mut rdata = vec![1, 0, 3, 5];
        rdata.extend_from_slice(&public);
        assert_eq!(key_tag(&rdata), 60485);
    }

    #[test]
    fn generated_keys_load_and_sign() {
        for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let material = KeyMaterial::generate(algorithm).unwrap();
            let key = ZoneKey::new(&material).unwrap();
            assert_eq!(key.dnskey_rdata()[3], algorithm.number());
            let expected = match algorithm {
                Algorithm::EcdsaP256Sha256 => 4 + 64,
                Algorithm::Ed25519 => 4 + 32,
            };
            assert_eq!(key.dnskey_rdata().len(), expected);
            let sig = key.sign(&SystemRandom::new(), b"message").unwrap();
            assert_eq!(sig.len(), 64);
            assert!(
                key.dnskey_text("tm.example.net", 3600)
                    .contains(" DNSKEY 257 3 ")
            );
        }
        let broken = KeyMaterial {
            algorithm: Algorithm::Ed25519,
            pkcs8: vec![1, 2, 3],
        };
        let err = ZoneKey::new(&broken).unwrap_err().to_string();
        assert!(err.contains("ED25519"), "{err}");
    }
}
