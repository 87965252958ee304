//! The integrity of the handover: a pack and its manifest travel as a pair, and the manifest
//! records the pack's sha256. `validate` recomputes it, so a pack edited after extraction (or
//! swapped for another) fails.

use std::path::{Path, PathBuf};

use pgshape_core::artifact;
use serde_json::Value;

use crate::validate::Finding;

/// The pair's check for the file at `path` (parsed as `value`): for a pack, against the
/// manifest beside it (`x_mapping.json`); for a manifest, against the pack it names in its
/// directory. A counterpart that is absent is a finding too: the pair leaves together.
pub fn check(path: &Path, bytes: &[u8], value: &Value) -> Vec<Finding> {
    let finding = |what: String| {
        vec![Finding {
            json_path: "$.pack_sha256".into(),
            what,
        }]
    };
    if value.get("pack_version").is_some() {
        let manifest = crate::extract::manifest_path(path);
        let Some(recorded) = recorded_sha(&manifest) else {
            return finding(format!(
                "no readable manifest {} beside the pack: its sha256 cannot be checked",
                file_name(&manifest)
            ));
        };
        if recorded != artifact::sha256_hex(bytes) {
            return finding(format!(
                "the pack's sha256 differs from the one {} records: edited after extraction?",
                file_name(&manifest)
            ));
        }
    } else if value.get("manifest_version").is_some() {
        let Some(pack_file) = value.get("pack_file").and_then(Value::as_str) else {
            return Vec::new(); // the structural check reports it
        };
        // A bare file name only: never a path out of the manifest's directory.
        if Path::new(pack_file).file_name().and_then(|n| n.to_str()) != Some(pack_file) {
            return finding("pack_file is not a plain file name".into());
        }
        let pack = path.with_file_name(pack_file);
        let recorded = value.get("pack_sha256").and_then(Value::as_str);
        match std::fs::read(&pack) {
            Err(_) => {
                return finding(format!(
                    "the pack {pack_file} is not beside the manifest: its sha256 cannot be checked"
                ))
            }
            Ok(b) if Some(artifact::sha256_hex(&b).as_str()) != recorded => {
                return finding(format!(
                    "the sha256 of {pack_file} differs from the one recorded: edited after extraction?"
                ))
            }
            Ok(_) => {}
        }
    }
    Vec::new()
}

fn recorded_sha(manifest: &PathBuf) -> Option<String> {
    let v: Value = serde_json::from_slice(&std::fs::read(manifest).ok()?).ok()?;
    v.get("pack_sha256")?.as_str().map(str::to_string)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("manifest")
        .to_string()
}
