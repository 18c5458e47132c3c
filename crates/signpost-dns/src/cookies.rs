//! DNS Cookies (RFC 7873) with server cookies in the interoperable format of RFC 9018.
//!
//! Every query that carries a client cookie gets our server cookie back: version 1, a timestamp,
//! and SipHash-2-4 over the client cookie, those fields and the client's address, keyed with a
//! 16-octet secret (`domain` computes it). A query that presents a server cookie we made, for its
//! address, no older than an hour and not from the future, proves the client receives our replies
//! at that address: response rate limiting lets it through. Nodes of an anycast fleet that share
//! the secret accept each other's cookies.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use domain::base::Serial;
use domain::base::opt::cookie::{ClientCookie, StandardServerCookie};

/// A server cookie older than this is no longer accepted (RFC 9018 4.3).
const MAX_AGE_SECS: u32 = 3600;
/// A timestamp this far in the future is still accepted (clock skew in a fleet, RFC 9018 4.3).
const MAX_SKEW_SECS: u32 = 300;

/// The COOKIE option of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryCookie {
    /// The client cookie.
    pub client: [u8; 8],
    /// The server cookie, when it has the 16-octet standard length (others cannot be ours).
    pub server: Option<[u8; 16]>,
}

/// The secret our server cookies are made with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CookieSecret(pub [u8; 16]);

impl std::fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSecret(..)")
    }
}

impl CookieSecret {
    /// A secret from the operating system's random source (std's `RandomState` keys come from
    /// it), for a node that does not share cookies with others.
    pub fn random() -> Self {
        let mut secret = [0u8; 16];
        for half in secret.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u8(0);
            half.copy_from_slice(&h.finish().to_le_bytes());
        }
        Self(secret)
    }

    /// Parses 32 hexadecimal digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 32 || !text.is_ascii() {
            return None;
        }
        let mut secret = [0u8; 16];
        for (i, byte) in secret.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(secret))
    }
}

/// Seconds since the Unix epoch, as the cookie timestamp counts them (serial arithmetic).
pub fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

impl QueryCookie {
    /// Whether the query's server cookie is one we made for `client_ip` recently.
    pub fn is_valid(&self, client_ip: IpAddr, secret: &CookieSecret, now: u32) -> bool {
        let Some(server) = self.server else {
            return false;
        };
        let server = StandardServerCookie::new(
            server[0],
            [server[1], server[2], server[3]],
            Serial::from_be_bytes([server[4], server[5], server[6], server[7]]),
            server[8..16].try_into().expect("16 octets"),
        );
        if server.version() != 1 {
            return false;
        }
        let stamp = server.timestamp().into_int();
        let age = now.wrapping_sub(stamp);
        let ahead = stamp.wrapping_sub(now);
        (age <= MAX_AGE_SECS || ahead <= MAX_SKEW_SECS)
            && server.check_hash(ClientCookie::from_octets(self.client), client_ip, &secret.0)
    }

    /// The server cookie to answer with.
    pub fn server_cookie(&self, client_ip: IpAddr, secret: &CookieSecret, now: u32) -> [u8; 16] {
        let cookie = StandardServerCookie::calculate(
            ClientCookie::from_octets(self.client),
            Serial(now),
            client_ip,
            &secret.0,
        );
        let cookie = domain::base::opt::cookie::ServerCookie::from(cookie);
        cookie.as_ref().try_into().expect("16 octets")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_we_made_is_valid_for_its_address_for_an_hour() {
        let secret = CookieSecret::random();
        let ip: IpAddr = "192.0.2.53".parse().unwrap();
        let mut q = QueryCookie {
            client: [1, 2, 3, 4, 5, 6, 7, 8],
            server: None,
        };
        assert!(!q.is_valid(ip, &secret, 1_000_000));
        q.server = Some(q.server_cookie(ip, &secret, 1_000_000));
        assert!(q.is_valid(ip, &secret, 1_000_000));
        assert!(q.is_valid(ip, &secret, 1_000_000 + 3600));
        assert!(!q.is_valid(ip, &secret, 1_000_000 + 3601), "too old");
        assert!(q.is_valid(ip, &secret, 1_000_000 - 300), "small skew");
        assert!(!q.is_valid(ip, &secret, 1_000_000 - 301), "from the future");
        assert!(!q.is_valid("192.0.2.54".parse().unwrap(), &secret, 1_000_000));
        assert!(!q.is_valid(ip, &CookieSecret::random(), 1_000_000));
        let mut other = q;
        other.client[0] ^= 1;
        assert!(!other.is_valid(ip, &secret, 1_000_000));
    }

    #[test]
    fn secrets_parse_from_hex() {
        let s = CookieSecret::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
        assert_eq!(s.0[15], 15);
        assert!(CookieSecret::from_hex("0001").is_none());
        assert!(CookieSecret::from_hex("zz0102030405060708090a0b0c0d0e0f").is_none());
        assert_ne!(CookieSecret::random(), CookieSecret::random());
    }
}
