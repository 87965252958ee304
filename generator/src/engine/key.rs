//! Key numbers written as text or UUIDs.
//!
//! A `sequence` numbers its rows; with `format: text` or `format: uuid` the number is rendered
//! only when a row is encoded. Every column that refers to the key (`parent`, `reference`,
//! `pick`, `earlier`) carries the same number and the same [`KeyRender`], so a child's foreign
//! key is byte for byte its parent's key: no lookups, constant memory. Both renderings are
//! injective functions of the number, keyed by (seed, table, column) of the sequence.

use pgshape_core::dist::Compiled;
use pgshape_core::rng::{Permutation, StreamKey};

const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Base-36 digits a permutation covers: 36^12 < 2^63.
const PERMUTED_DIGITS: usize = 12;

/// How the key numbers of one sequence (and the columns referring to it) are written.
#[derive(Debug)]
pub enum KeyRender {
    /// Upper-case base-36 of a keyed permutation of the number within the numbers of its
    /// length, left-padded with `0` to a length drawn per number.
    Text {
        length: Compiled,
        key: StreamKey,
        /// `perms[d - 1]` permutes [0, 36^d).
        perms: Vec<Permutation>,
    },
    /// 63 bits of a keyed permutation of the number, spread over a version-4 UUID's free bits;
    /// the remaining bits are keyed noise of those 63 bits.
    Uuid { key: StreamKey, perm: Permutation },
}

impl KeyRender {
    /// Text keys whose lengths follow `length`.
    pub fn text(length: Compiled, key: StreamKey) -> KeyRender {
        let perms = (1..=PERMUTED_DIGITS)
            .map(|d| Permutation::new(&key, 36u64.pow(d as u32)))
            .collect();
        KeyRender::Text { length, key, perms }
    }

    /// UUID keys.
    pub fn uuid(key: StreamKey) -> KeyRender {
        KeyRender::Uuid {
            key,
            perm: Permutation::new(&key, 1 << 63),
        }
    }

    /// The text of key number `k` (>= 0): `L = max(round(Q(u_k)), digits(k), 1)` characters,
    /// where `u_k` is a keyed draw of `k`. Two numbers of the same length are distinct numbers
    /// of at most `L` digits, permuted within the same range, so they never collide; numbers of
    /// different lengths never do either.
    pub fn write_text(&self, k: i64, out: &mut Vec<u8>) {
        let KeyRender::Text { length, key, perms } = self else {
            unreachable!("a text rendering")
        };
        let k = k.max(0) as u64;
        let digits = digits36(k);
        let drawn = libm::round(length.quantile(key.unit_at(k, 0))).max(1.0) as usize;
        let len = drawn.max(digits);
        let m = len.min(PERMUTED_DIGITS);
        // Numbers of more digits than the permutations cover are written plainly; they are
        // >= 36^12 and so never equal a permuted value (< 36^12) of the same length.
        let v = if digits <= m {
            perms[m - 1].apply(k)
        } else {
            k
        };
        let start = out.len();
        out.resize(start + len, b'0');
        let mut x = v;
        for slot in out[start..].iter_mut().rev() {
            if x == 0 {
                break;
            }
            *slot = DIGITS[(x % 36) as usize];
            x /= 36;
        }
    }

    /// The 16 bytes of key number `k` (>= 0) as a UUID.
    pub fn uuid_bytes(&self, k: i64) -> [u8; 16] {
        let KeyRender::Uuid { key, perm } = self else {
            unreachable!("a uuid rendering")
        };
        let x = perm
            .apply((k.max(0) as u64) & ((1 << 63) - 1))
            .to_le_bytes();
        let hi = key.u64_at(u64::from_le_bytes(x), 1).to_le_bytes();
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(&x[..6]);
        b[6] = 0x40 | (hi[0] & 0x0f);
        b[7] = x[6];
        b[8] = 0x80 | (hi[1] & 0x3f);
        // x < 2^63: its top bit is free for noise.
        b[9] = x[7] | (hi[2] & 0x80);
        b[10..].copy_from_slice(&hi[2..8]);
        b
    }

    /// Whether the rendering is text (else UUID).
    pub fn is_text(&self) -> bool {
        matches!(self, KeyRender::Text { .. })
    }
}

/// Base-36 digits of `k` (1 for 0).
pub fn digits36(mut k: u64) -> usize {
    let mut d = 1;
    while k >= 36 {
        k /= 36;
        d += 1;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::dist::Dist;
    use pgshape_core::rng::Seed;
    use std::collections::HashSet;

    fn text(points: Vec<[f64; 2]>) -> KeyRender {
        KeyRender::text(
            Compiled::new(&Dist::Quantiles(points)),
            Seed::new("t").key("table", "code"),
        )
    }

    #[test]
    fn text_keys_are_injective_and_follow_their_lengths() {
        // Lengths 2 (20 %) and 3: 36^2 = 1,296 two-character keys at most, and numbers past
        // them grow to their digit count.
        let r = text(vec![[0.0, 2.0], [0.2, 2.0], [0.2, 3.0], [1.0, 3.0]]);
        let mut seen = HashSet::new();
        let mut short = 0;
        for k in 1..=5000i64 {
            let mut v = Vec::new();
            r.write_text(k, &mut v);
            assert!(v.iter().all(|c| DIGITS.contains(c)), "{v:?}");
            assert!(v.len() >= digits36(k as u64).max(2));
            short += usize::from(v.len() == 2);
            assert!(seen.insert(v), "key {k} collides");
        }
        // About 20 % of the keys that fit two characters are two characters long.
        assert!((150..350).contains(&short), "{short} two-character keys");
        let mut a = Vec::new();
        let mut b = Vec::new();
        r.write_text(77, &mut a);
        text(vec![[0.0, 2.0], [0.2, 2.0], [0.2, 3.0], [1.0, 3.0]]).write_text(77, &mut b);
        assert_eq!(a, b, "a pure function of the key and the number");
    }

    #[test]
    fn long_text_keys_past_the_permutations_stay_distinct() {
        let r = text(vec![[0.0, 13.0], [1.0, 13.0]]);
        let mut seen = HashSet::new();
        for k in (0..1000i64).chain((36i64.pow(12) - 500)..(36i64.pow(12) + 500)) {
            let mut v = Vec::new();
            r.write_text(k, &mut v);
            assert_eq!(v.len(), 13);
            assert!(seen.insert(v), "key {k} collides");
        }
    }

    #[test]
    fn uuid_keys_are_injective_version_4() {
        let r = KeyRender::uuid(Seed::new("t").key("table", "id"));
        let mut seen = HashSet::new();
        for k in (0..20_000i64).chain([i64::MAX - 1, i64::MAX]) {
            let b = r.uuid_bytes(k);
            assert_eq!(b[6] >> 4, 4, "version 4");
            assert_eq!(b[8] >> 6, 0b10, "RFC 4122 variant");
            assert!(seen.insert(b), "key {k} collides");
        }
    }
}
