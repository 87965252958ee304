//! A conservative estimate of a secret's entropy in bits, for refusing weak salts.
//!
//! Not a password meter: it only has to tell a random secret (`openssl rand -hex 32`: 64 hex
//! characters, 256 bits) from a typed or patterned one. Each character is worth the bits of
//! the alphabet the whole string draws from (hex 4, base64 6, else the classes it uses),
//! except characters an attacker's model predicts, which are worth about 1 bit:
//!
//! - runs and sequences (`aaaa`, `1234`, `abcd`, `9876`): the third character on;
//! - repeats: a character inside a copy of an earlier substring of 3 characters or more;
//! - separators: a punctuation character seen before in the string (`-` between words);
//! - words: a run of 4 or more lowercase letters (outside a hex string) is worth one pick from
//!   a 65,536-word dictionary (16 bits), whatever its length.

/// The estimate (bits) below which a salt is refused.
pub const MIN_SALT_BITS: f64 = 128.0;

/// Bits of one dictionary word.
const WORD_BITS: f64 = 16.0;

/// Bits of a predicted character.
const PREDICTED_BITS: f64 = 1.0;

/// The estimated entropy of `s` in bits.
pub fn estimate_bits(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let hex = s.iter().all(u8::is_ascii_hexdigit);
    let per_char = alphabet_bits(s, hex);
    let predicted = predicted(s);
    let mut bits = 0.0;
    let mut i = 0;
    while i < s.len() {
        let word = if hex { 0 } else { word_len(&s[i..]) };
        if word >= 4 {
            // A word costs WORD_BITS, unless its letters were predicted anyway.
            let as_chars: f64 = (i..i + word)
                .map(|j| char_bits(predicted[j], per_char))
                .sum();
            bits += as_chars.min(WORD_BITS);
            i += word;
        } else {
            bits += char_bits(predicted[i], per_char);
            i += 1;
        }
    }
    bits
}

fn char_bits(predicted: bool, per_char: f64) -> f64 {
    if predicted {
        PREDICTED_BITS
    } else {
        per_char
    }
}

/// Bits per character of the alphabet `s` draws from.
fn alphabet_bits(s: &[u8], hex: bool) -> f64 {
    if hex {
        return 4.0;
    }
    let base64 = s
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    if base64 {
        return 6.0;
    }
    let mut size = 0.0;
    if s.iter().any(u8::is_ascii_lowercase) {
        size += 26.0;
    }
    if s.iter().any(u8::is_ascii_uppercase) {
        size += 26.0;
    }
    if s.iter().any(u8::is_ascii_digit) {
        size += 10.0;
    }
    if s.iter().any(|b| !b.is_ascii_alphanumeric()) {
        size += 33.0;
    }
    libm::log2(size)
}

/// Per character: whether it continues a run or sequence of three, or lies in a repeat.
fn predicted(s: &[u8]) -> Vec<bool> {
    let mut out = vec![false; s.len()];
    for i in 2..s.len() {
        let (a, b, c) = (s[i - 2] as i16, s[i - 1] as i16, s[i] as i16);
        if c - b == b - a && (c - b).abs() <= 1 {
            out[i] = true;
        }
    }
    for i in 1..s.len() {
        if !s[i].is_ascii_alphanumeric() && s[..i].contains(&s[i]) {
            out[i] = true;
        }
    }
    // Repeats: the longest earlier copy of s[i..] (O(n²) on a salt's few dozen bytes).
    let n = s.len().min(1024);
    let mut i = 3;
    while i < n {
        let longest = (0..i)
            .map(|j| {
                (0..n - i)
                    .take_while(|&l| j + l < i && s[j + l] == s[i + l])
                    .count()
            })
            .max()
            .unwrap_or(0);
        if longest >= 3 {
            out[i..i + longest].iter_mut().for_each(|p| *p = true);
            i += longest;
        } else {
            i += 1;
        }
    }
    out
}

/// The length of the run of lowercase letters at the start of `s`.
fn word_len(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_lowercase()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_secrets_pass_and_patterns_do_not() {
        // 32 random bytes as hex and as base64 (made with `openssl rand`).
        let hex = b"1be9d2bed735b581537d6b16cd2ab745fb3726bc371f62f4fd18675a57e5a03b";
        assert!(
            estimate_bits(hex) >= MIN_SALT_BITS,
            "{}",
            estimate_bits(hex)
        );
        let b64 = b"FSt9Bx6lflk4JBV0dmS3XBBMkB/rgAD4F41lMT4ExaQ=";
        assert!(
            estimate_bits(b64) >= MIN_SALT_BITS,
            "{}",
            estimate_bits(b64)
        );
        for weak in [
            "a".repeat(32),
            "abc".repeat(16),
            "0123456789abcdef0123456789abcdef".into(),
            "sampler-test-salt-0123456789abcdef0123456789".into(),
            "correct-horse-battery-staple-production-salt-v1".into(),
            "deadbeefdeadbeefdeadbeefdeadbeef".into(),
        ] {
            let bits = estimate_bits(weak.as_bytes());
            assert!(bits < MIN_SALT_BITS, "{weak}: {bits}");
        }
    }
}
