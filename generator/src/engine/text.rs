//! Gibberish text: pronounceable syllables, never shaped like PII (no digits runs, no `@`
//! outside the `email` style's reserved `example.invalid` domain).

use pgshape_core::rng::Stream;
use pgshape_core::spec::TextStyle;

const ONSETS: [&str; 20] = [
    "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st",
    "tr", "pl",
];
const VOWELS: [&str; 8] = ["a", "e", "i", "o", "u", "ai", "ou", "ea"];

/// Appends gibberish of exactly `len` bytes (ASCII) in `style` to `out`; `unique` ends it with
/// a row-derived suffix (base 36, so no long digit runs) that makes the value unique and counts
/// in `len` (a value is never shorter than its suffix and one character). The `email` style
/// adds its domain after `len`.
pub fn write(out: &mut String, s: &mut Stream, len: usize, style: TextStyle, unique: Option<u64>) {
    let mut suffix = String::new();
    if let Some(n) = unique {
        suffix.push(if style == TextStyle::Code { '-' } else { '_' });
        base36(&mut suffix, n);
    }
    let len = if unique.is_none() || style == TextStyle::Email {
        len
    } else {
        len.saturating_sub(suffix.len()).max(1)
    };
    let start = out.len();
    match style {
        TextStyle::Words => {
            let mut first = true;
            while out.len() - start < len {
                if !first {
                    out.push(' ');
                }
                let w = 2 + s.below(5) as usize;
                word(out, s, w, first);
                first = false;
            }
            out.truncate(start + len);
            if len > 1 {
                out.pop();
                out.push('.');
            }
        }
        TextStyle::Word => {
            word(out, s, len.max(1), false);
            out.truncate(start + len);
        }
        TextStyle::Name => {
            let a = (len.max(3) - 1) / 2;
            word(out, s, a.max(1), true);
            out.push(' ');
            word(out, s, (len.max(3) - 1 - a).max(1), true);
        }
        TextStyle::Email => {
            word(out, s, (len / 3).max(2), false);
            out.push('.');
            word(out, s, (len / 4).max(2), false);
        }
        TextStyle::Code => {
            for _ in 0..len.max(1) {
                let c = s.below(36) as u8;
                out.push(if c < 26 {
                    (b'A' + c) as char
                } else {
                    (b'0' + c - 26) as char
                });
            }
        }
    }
    out.push_str(&suffix);
    if style == TextStyle::Email {
        out.push_str("@example.invalid");
    }
}

/// A gibberish corpus for sentence-like text: values are slices of it, so long texts cost a
/// memcpy. Built from the column's own stream, so it is a pure function of (seed, table,
/// column); 1 MiB keeps values varied while memory stays constant. A slice may start inside a
/// word (it is gibberish either way); looking up word starts cost more than the rest of a row.
pub struct Corpus {
    text: String,
}

/// The corpus size in bytes.
pub const CORPUS_BYTES: usize = 1 << 20;

/// Texts up to this length are one slice: the corpus's first bytes are repeated after its end,
/// so a slice may start anywhere.
pub const WRAP_BYTES: usize = (1 << 16) - 1;

impl Corpus {
    /// Builds a corpus from `s`.
    pub fn new(s: &mut Stream) -> Corpus {
        let mut text = String::with_capacity(CORPUS_BYTES + WRAP_BYTES + 16);
        while text.len() < CORPUS_BYTES {
            if !text.is_empty() {
                text.push(' ');
            }
            let w = 2 + s.below(5) as usize;
            word(&mut text, s, w, false);
        }
        let head = text[..WRAP_BYTES + 1].to_string();
        text.push(' ');
        text.push_str(&head);
        Corpus { text }
    }

    /// Chooses a slice of exactly `len` bytes: `(start, len)`, or `None` when `len` is over
    /// [`WRAP_BYTES`] (the caller writes such a text out in full).
    pub fn choose(&self, s: &mut Stream, len: usize) -> Option<(u32, u32)> {
        if len > WRAP_BYTES {
            return None;
        }
        let mut o = s.below(CORPUS_BYTES as u64) as u32;
        if self.text.as_bytes()[o as usize] == b' ' {
            o += 1; // no leading blank; the wrapped tail leaves room
        }
        Some((o, len as u32))
    }

    /// Appends the sentence for a chosen slice: first letter upper-cased, last byte a full
    /// stop (when longer than one byte).
    pub fn append(&self, out: &mut Vec<u8>, start: u32, len: u32) {
        let (start, len) = (start as usize, len as usize);
        if len == 0 {
            return;
        }
        // One append, then the two bytes that differ from the corpus patched in place.
        let at = out.len();
        out.extend_from_slice(&self.text.as_bytes()[start..start + len]);
        out[at] = out[at].to_ascii_uppercase();
        if len > 1 {
            out[at + len - 1] = b'.';
        }
    }

    /// Appends `len` bytes of sentence-like text however long (slices joined end to end).
    pub fn write_long(&self, out: &mut Vec<u8>, s: &mut Stream, len: usize) {
        let at = out.len();
        let mut left = len;
        while left > 0 {
            let take = left.min(WRAP_BYTES);
            let (o, n) = self.choose(s, take).expect("take fits");
            out.extend_from_slice(&self.text.as_bytes()[o as usize..(o + n) as usize]);
            left -= take;
        }
        if len > 0 {
            out[at] = out[at].to_ascii_uppercase();
        }
        if len > 1 {
            out[at + len - 1] = b'.';
        }
    }
}

fn word(out: &mut String, s: &mut Stream, syllable_chars: usize, capital: bool) {
    let start = out.len();
    // One u64 gives four syllables: 16 bits each, mapped onto the onset x vowel table by
    // multiply-shift (a bias below 0.3 %, irrelevant for gibberish, and deterministic).
    let mut bits = 0u64;
    let mut left = 0;
    while out.len() - start < syllable_chars {
        if left == 0 {
            bits = s.next_u64();
            left = 4;
        }
        let i = (((bits & 0xffff) * (ONSETS.len() * VOWELS.len()) as u64) >> 16) as usize;
        bits >>= 16;
        left -= 1;
        // Byte pushes: a memcpy call per 1-2 byte syllable costs more than the syllable.
        for &b in ONSETS[i / VOWELS.len()]
            .as_bytes()
            .iter()
            .chain(VOWELS[i % VOWELS.len()].as_bytes())
        {
            out.push(b as char);
        }
    }
    out.truncate(start + syllable_chars);
    if capital {
        let first = out[start..start + 1].to_ascii_uppercase();
        out.replace_range(start..start + 1, &first);
    }
}

fn base36(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 13];
    let mut i = digits.len();
    loop {
        i -= 1;
        let d = (n % 36) as u8;
        digits[i] = if d < 10 { b'0' + d } else { b'a' + d - 10 };
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[i..]).expect("ascii"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::rng::Seed;

    #[test]
    fn words_have_the_exact_length_and_no_pii_shapes() {
        let mut s = Seed::new("t").key("t", "c").stream(0);
        for len in [0usize, 1, 5, 80, 1000] {
            let mut out = String::new();
            write(&mut out, &mut s, len, TextStyle::Words, None);
            assert_eq!(out.len(), len);
            assert!(
                !out.contains('@') && !out.chars().any(|c| c.is_ascii_digit()),
                "{out}"
            );
        }
    }

    #[test]
    fn unique_values_count_their_suffix_in_the_length() {
        let mut s = Seed::new("t").key("t", "c").stream(0);
        for (len, row, want) in [(14usize, 5u64, 14usize), (14, 36u64.pow(5), 14), (1, 7, 3)] {
            let mut out = String::new();
            write(&mut out, &mut s, len, TextStyle::Word, Some(row));
            assert_eq!(out.len(), want, "{out}");
            assert!(out.ends_with(&format!("_{}", {
                let mut b = String::new();
                base36(&mut b, row);
                b
            })));
        }
    }

    #[test]
    fn corpus_slices_have_the_exact_length() {
        let mut s = Seed::new("t").key("t", "c").stream(0);
        let corpus = Corpus::new(&mut s);
        for len in [0usize, 1, 2, 57, 4000, CORPUS_BYTES] {
            let mut out = b"x".to_vec();
            match corpus.choose(&mut s, len) {
                Some((o, n)) => corpus.append(&mut out, o, n),
                None => corpus.write_long(&mut out, &mut s, len),
            }
            assert_eq!(out.len(), len + 1);
            assert!(!out.contains(&b'@') && !out.iter().any(|c| c.is_ascii_digit()));
            if len > 1 {
                assert_eq!(out[len], b'.');
                assert!(
                    out[1].is_ascii_uppercase() || out[1] == b' ',
                    "{}",
                    String::from_utf8_lossy(&out[..len.min(20)])
                );
            }
        }
    }

    #[test]
    fn unique_suffix_is_base36() {
        let mut s = Seed::new("t").key("t", "c").stream(0);
        let mut out = String::new();
        write(&mut out, &mut s, 4, TextStyle::Word, Some(36 * 36));
        assert!(out.ends_with("_100"), "{out}");
    }
}
