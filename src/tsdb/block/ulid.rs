//! Block IDs: ULIDs (48 bits of Unix milliseconds, then 80 random bits), written as 26
//! characters of Crockford base32 as Prometheus names its block directories. The block
//! writer makes them; the reader parses directory names and `meta.json` with them.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A 128-bit ULID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ulid(pub u128);

impl Ulid {
    /// A new ULID for the time `ms` (Unix milliseconds) with 80 random bits.
    pub fn new(ms: u64) -> Ulid {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        // Randomly keyed SipHash over a counter, the time and the process: not for
        // cryptography, but unpredictable and distinct across calls and processes.
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let word = |salt: u64| {
            let mut h = RandomState::new().build_hasher();
            h.write_u64(salt);
            h.write_u64(n);
            h.write_u64(nanos);
            h.write_u32(std::process::id());
            h.finish()
        };
        let random = (u128::from(word(1)) << 64 | u128::from(word(2))) & ((1u128 << 80) - 1);
        Ulid(u128::from(ms & ((1 << 48) - 1)) << 80 | random)
    }

    /// A new ULID for the current wall-clock time.
    pub fn now() -> Ulid {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Ulid::new(ms)
    }

    /// The time part, in Unix milliseconds.
    pub fn timestamp_ms(self) -> u64 {
        (self.0 >> 80) as u64
    }

    /// Parses 26 characters of Crockford base32 (case-insensitive; `None` otherwise).
    pub fn parse(s: &str) -> Option<Ulid> {
        let b = s.as_bytes();
        if b.len() != 26 || !matches!(b[0], b'0'..=b'7') {
            return None;
        }
        let mut v: u128 = 0;
        for &c in b {
            let c = c.to_ascii_uppercase();
            let d = ALPHABET.iter().position(|&a| a == c)?;
            v = v << 5 | d as u128;
        }
        Some(Ulid(v))
    }
}

impl fmt::Display for Ulid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; 26];
        for (i, o) in out.iter_mut().enumerate() {
            let shift = 125 - 5 * i as u32;
            *o = ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parses_and_keeps_the_time() {
        let u = Ulid::new(1_700_000_000_123);
        let s = u.to_string();
        assert_eq!(s.len(), 26);
        assert_eq!(Ulid::parse(&s), Some(u));
        assert_eq!(Ulid::parse(&s.to_lowercase()), Some(u));
        assert_eq!(u.timestamp_ms(), 1_700_000_000_123);
        assert_ne!(Ulid::new(5), Ulid::new(5));
        // The ULID spec's example prefix for time 1469918176385.
        assert!(
            Ulid::new(1_469_918_176_385)
                .to_string()
                .starts_with("01ARYZ6S41")
        );
        assert_eq!(Ulid::parse("01ARYZ6S41TSV4RRFFQ69G5FAVX"), None);
        assert_eq!(Ulid::parse("81ARYZ6S41TSV4RRFFQ69G5FAV"), None);
        assert_eq!(Ulid::parse("01ARYZ6S41TSV4RRFFQ69G5FAU"), None);
    }
}
