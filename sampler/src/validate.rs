//! `validate`: the last check before a pack leaves production.
//!
//! Every key, string and number of a pack or manifest goes through the PII detectors; strings
//! over 100 characters are refused; token paths must hold well-formed tokens; and the file must
//! match its closed format (unknown keys are findings). A finding names the file, the JSON path
//! and the detector — never the matched text: a key that is itself flagged is shown as
//! `<key #n>` in paths. A pack's `privacy.k_min` must be at least the floor ([`K_FLOOR`]), and
//! the pack's sha256 must be the one its manifest records ([`crate::handover`]).

use std::path::Path;

use pgshape_core::pack::{Manifest, Pack, K_FLOOR};
use pgshape_core::pii::{self, Detector};
use pgshape_core::token::is_token;
use serde_json::Value;

/// The finding of a pack extracted with `--no-dp`.
pub const NO_DP: &str =
    "no differential privacy (extracted with --no-dp): exact figures under k-suppression only";

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub json_path: String,
    pub what: String,
}

/// Paths whose values are tokens or hashes (checked for format, skipped by the detectors).
const TOKEN_PATHS: &[&str] = &["$.salt_fingerprint"];
const HASH_PATHS: &[&str] = &["$.pack_sha256"];

/// Validates one file. `Err` only when the file cannot be read at all.
pub fn validate_file(path: &Path) -> std::io::Result<Vec<Finding>> {
    let bytes = std::fs::read(path)?;
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => {
            return Ok(vec![Finding {
                json_path: "$".into(),
                what: "not JSON".into(),
            }]);
        }
    };
    let mut findings = validate_value(&value);
    findings.extend(crate::handover::check(path, &bytes, &value));
    Ok(findings)
}

/// Validates a parsed pack or manifest.
pub fn validate_value(value: &Value) -> Vec<Finding> {
    let mut findings = Vec::new();
    walk(value, "$", &mut findings);
    // The closed format: a pack or a manifest against its published schema, every unknown
    // key, missing key or wrong type a finding with its path...
    let (structure, parses) = if value.get("pack_version").is_some() {
        (
            crate::structure::check(value, &Pack::json_schema()),
            serde_json::from_value::<Pack>(value.clone()).is_ok(),
        )
    } else if value.get("manifest_version").is_some() {
        (
            crate::structure::check(value, &Manifest::json_schema()),
            serde_json::from_value::<Manifest>(value.clone()).is_ok(),
        )
    } else {
        (Vec::new(), false)
    };
    let structural = !structure.is_empty();
    // A pack without noise (`--no-dp`): exact figures under k-suppression only, which
    // differencing two packs defeats (docs/privacy.md). A finding, exit 1 like any other.
    if value.get("pack_version").is_some() && value.pointer("/privacy/dp").is_none() {
        findings.push(Finding {
            json_path: "$.privacy.dp".into(),
            what: NO_DP.into(),
        });
    }
    if let Some(k) = value.pointer("/privacy/k_min").and_then(Value::as_u64) {
        if k < K_FLOOR {
            findings.push(Finding {
                json_path: "$.privacy.k_min".into(),
                what: format!(
                    "k_min {k} is below the floor of {K_FLOOR}: figures may rest on fewer people"
                ),
            });
        }
    }
    findings.extend(structure);
    // ...and what the schema cannot say (integer ranges): the file must read as its type.
    // serde's message can quote an unknown key, which could be the leak: say only that.
    if !structural && !parses {
        findings.push(Finding {
            json_path: "$".into(),
            what: "does not match the pack or manifest format".into(),
        });
    }
    findings
}

/// The JSON path of key `k` (the `i`-th) of the object at `path`: `path.k`, or
/// `path.<key #i>` when a PII detector flags the key (a path never shows a flagged key).
pub fn key_segment(path: &str, i: usize, k: &str) -> String {
    let token_keys = path.ends_with(".categories.counts");
    if (token_keys && is_token(k)) || pii::scan(k).is_empty() {
        format!("{path}.{k}")
    } else {
        format!("{path}.<key #{i}>")
    }
}

fn walk(v: &Value, path: &str, out: &mut Vec<Finding>) {
    match v {
        Value::Object(map) => {
            // Category keys are tokens (declared token path): a well-formed token is exempt
            // from the detectors (64 random hex bits can look like digits), anything else there
            // is scanned like every other key.
            let token_keys = path.ends_with(".categories.counts");
            for (i, (k, child)) in map.iter().enumerate() {
                let key_hits = if token_keys && is_token(k) {
                    Vec::new()
                } else {
                    pii::scan(k)
                };
                let seg = key_segment(path, i, k);
                for d in key_hits {
                    out.push(Finding {
                        json_path: seg.clone(),
                        what: format!("{} in a key", d.name()),
                    });
                }
                walk(child, &seg, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) => {
            if TOKEN_PATHS.contains(&path) {
                if !is_token(s) {
                    out.push(Finding {
                        json_path: path.into(),
                        what: "token format (16 lowercase hex)".into(),
                    });
                }
                return;
            }
            if HASH_PATHS.contains(&path) {
                if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    out.push(Finding {
                        json_path: path.into(),
                        what: "sha256 format".into(),
                    });
                }
                return;
            }
            for d in pii::scan(s) {
                out.push(Finding {
                    json_path: path.into(),
                    what: d.name().into(),
                });
            }
        }
        Value::Number(n) => {
            for d in pii::scan_number(n) {
                out.push(Finding {
                    json_path: path.into(),
                    what: d.name().into(),
                });
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// The guide's summary lines for a clean file, each computed by a detector.
pub fn clean_summary() -> Vec<String> {
    [
        (Detector::Email, "No email addresses found"),
        (Detector::PersonName, "No personal names detected"),
        (
            Detector::LongString,
            "No message content present (no string over 100 chars)",
        ),
        (Detector::Phone, "No phone numbers found"),
        (Detector::Ssn, "No SSNs found"),
        (Detector::Card, "No card numbers found (Luhn)"),
        (Detector::Iban, "No IBANs found (mod-97)"),
        (Detector::Ip, "No IP addresses found"),
    ]
    .iter()
    .map(|(_, s)| format!("✓ {s}"))
    .chain(std::iter::once(
        "✓ All tokens are 16-char hex (HMAC truncated)".to_string(),
    ))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flagged_keys_are_not_printed() {
        let v = json!({"pack_version": 1, "tables": {"alice@example.com": 1}});
        let f = validate_value(&v);
        assert!(
            f.iter()
                .any(|f| f.json_path == "$.tables.<key #0>" && f.what.starts_with("email")),
            "{f:?}"
        );
        assert!(f.iter().all(|f| !f.json_path.contains("alice")));
    }

    #[test]
    fn values_and_numbers() {
        let v = json!({"a": "call +1-415-555-0172", "b": 4111111111111111u64, "salt_fingerprint": "nothex"});
        let f = validate_value(&v);
        assert!(
            f.iter().any(|f| f.json_path == "$.a" && f.what == "phone"),
            "{f:?}"
        );
        assert!(
            f.iter()
                .any(|f| f.json_path == "$.b" && f.what.starts_with("card")),
            "{f:?}"
        );
        assert!(
            f.iter().any(|f| f.json_path == "$.salt_fingerprint"),
            "{f:?}"
        );
    }
}
