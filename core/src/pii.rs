//! PII detectors. Each answers which kind of PII a string looks like — never the matched text,
//! so findings can be printed and logged. Used by `validate` on every key, string and number of
//! a pack, and by the sampler to classify columns from a small in-memory sample.

use std::sync::OnceLock;

use regex::Regex;

/// A kind of PII (or of content) a detector found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Detector {
    Email,
    Phone,
    Ssn,
    Card,
    Ip,
    Iban,
    PersonName,
    LongString,
}

impl Detector {
    /// The detector's name in findings.
    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::Ssn => "ssn",
            Detector::Card => "card (Luhn)",
            Detector::Ip => "ip",
            Detector::Iban => "iban (mod-97)",
            Detector::PersonName => "person-name",
            Detector::LongString => "string over 100 chars",
        }
    }
}

struct Patterns {
    email: Regex,
    phone: Regex,
    ssn: Regex,
    digits: Regex,
    ipv4: Regex,
    iban: Regex,
    name: Regex,
    full_name: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        email: Regex::new(r"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}").expect("regex"),
        phone: Regex::new(
            r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.-]\d{3,4}[\s.-]?\d{3,4}",
        )
        .expect("regex"),
        ssn: Regex::new(r"\b\d{3}-\d{2}-\d{4}\b").expect("regex"),
        digits: Regex::new(r"\d[\d -]{11,22}\d").expect("regex"),
        ipv4: Regex::new(r"\b(?:\d{1,3}\.){3}\d{1,3}\b").expect("regex"),
        iban: Regex::new(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b").expect("regex"),
        name: Regex::new(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b").expect("regex"),
        full_name: Regex::new(r"^[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}$").expect("regex"),
    })
}

/// Every detector that fires on `s`.
pub fn scan(s: &str) -> Vec<Detector> {
    let p = patterns();
    let mut found = Vec::new();
    if p.email.is_match(s) {
        found.push(Detector::Email);
    }
    if p.ssn.is_match(s) {
        found.push(Detector::Ssn);
    }
    if p.phone
        .find_iter(s)
        .any(|m| m.as_str().chars().filter(char::is_ascii_digit).count() >= 9)
        && !p.ssn.is_match(s)
    {
        found.push(Detector::Phone);
    }
    if p.digits.find_iter(s).any(|m| luhn(m.as_str())) {
        found.push(Detector::Card);
    }
    if p.ipv4
        .find_iter(s)
        .any(|m| m.as_str().split('.').all(|o| o.parse::<u8>().is_ok()))
    {
        found.push(Detector::Ip);
    }
    if p.iban.find_iter(s).any(|m| iban_valid(m.as_str())) {
        found.push(Detector::Iban);
    }
    if p.name.is_match(s) {
        found.push(Detector::PersonName);
    }
    if s.chars().count() > 100 {
        found.push(Detector::LongString);
    }
    found
}

/// Whether the whole of `s` is a person's name: two or three capitalised words. Stricter than
/// the [`Detector::PersonName`] scan; used to classify a column from a sample of its values.
pub fn is_person_name(s: &str) -> bool {
    patterns().full_name.is_match(s)
}

/// Detectors that apply to a number (digits only: cards, phones).
pub fn scan_number(n: &serde_json::Number) -> Vec<Detector> {
    let s = n.to_string();
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let mut found = Vec::new();
    if (13..=19).contains(&digits.len()) && luhn(&digits) && !s.contains('.') {
        found.push(Detector::Card);
    }
    if digits.len() >= 10
        && digits.len() <= 15
        && !s.contains('.')
        && s.len() == digits.len()
        && digits.starts_with(['1', '2', '3', '4', '5', '6', '7', '8', '9'])
        && digits.len() != 13
    {
        // A bare 10-15 digit integer reads like a phone number; counts that large are
        // implausible in a pack of a database that fits on one server.
        found.push(Detector::Phone);
    }
    found
}

/// The Luhn check over the digits of `s` (13 to 19 digits).
pub fn luhn(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The IBAN mod-97 check.
pub fn iban_valid(s: &str) -> bool {
    if s.len() < 15 || s.len() > 34 {
        return false;
    }
    let rearranged = s[4..].chars().chain(s[..4].chars());
    let mut rem: u32 = 0;
    for c in rearranged {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        if v >= 10 {
            rem = (rem * 100 + v) % 97;
        } else {
            rem = (rem * 10 + v) % 97;
        }
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_kind() {
        assert_eq!(scan("write to a.b@example.com"), vec![Detector::Email]);
        assert!(scan("call +1-415-555-0172 now").contains(&Detector::Phone));
        assert!(scan("(212) 555-0147").contains(&Detector::Phone));
        assert!(scan("ssn 512-47-8391").contains(&Detector::Ssn));
        assert!(scan("card 4111111111111111").contains(&Detector::Card));
        assert!(!scan("order 4111111111111112").contains(&Detector::Card));
        assert!(scan("from 203.0.113.77").contains(&Detector::Ip));
        assert!(scan("GB82WEST12345698765432").contains(&Detector::Iban));
        assert!(!scan("GB82WEST12345698765433").contains(&Detector::Iban));
        assert!(scan("ask Quintessa Vandermolen").contains(&Detector::PersonName));
        assert!(scan(&"x".repeat(101)).contains(&Detector::LongString));
        assert!(is_person_name("Quintessa Vandermolen"));
        assert!(!is_person_name("ask Quintessa Vandermolen"));
    }

    #[test]
    fn identifiers_and_tokens_are_clean() {
        for s in [
            "order_line_items",
            "created_at",
            "timestamp with time zone",
            "3fa2b1c0d9e8f7a6",
            "p99.9",
            "tablesample_system",
        ] {
            assert!(scan(s).is_empty(), "{s}: {:?}", scan(s));
        }
    }

    #[test]
    fn numbers() {
        let card: serde_json::Number = 4111111111111111u64.into();
        assert!(scan_number(&card).contains(&Detector::Card));
        let count: serde_json::Number = 1144863u64.into();
        assert!(scan_number(&count).is_empty());
    }
}
