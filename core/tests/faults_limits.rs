//! Resource bounds of the JSON readers (issue 18): a file's size is checked before it is read,
//! a garbage file is refused at its first bad byte in constant memory, and what follows a
//! complete document is refused as a truncation is.

use std::io::Write;
use std::path::Path;

use pgshape_core::artifact::{read_json, MAX_JSON_BYTES};
use pgshape_core::dataset_report::Report;
use pgshape_core::spec::{Spec, MAX_SPEC_BYTES};

/// The process's peak resident memory (VmHWM), in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_200_mb_garbage_file_is_refused_in_constant_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report_ci_x.json");
    // 200 MB of garbage that starts like JSON: real bytes on disk, not a sparse file.
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"{\"report_version\": ").unwrap();
    let block = vec![b'7'; 1 << 20];
    for _ in 0..200 {
        f.write_all(&block).unwrap();
    }
    f.write_all(b"zz").unwrap();
    drop(f);
    let before = peak_kib();
    let err = Report::read(&path).unwrap_err().to_string();
    let grew = peak_kib() - before;
    assert!(
        err.starts_with(&format!("{}: at $", path.display())),
        "{err}"
    );
    assert!(grew < 32 << 10, "reading took {grew} KiB more at peak");

    // And one past the limit is refused before a byte is read.
    let big = dir.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MAX_JSON_BYTES + 1)
        .unwrap();
    let err = read_json::<serde_json::Value>(&big)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("{} bytes is more than", MAX_JSON_BYTES + 1)),
        "{err}"
    );
}

#[test]
fn a_spec_past_its_limit_and_trailing_bytes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.json");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(MAX_SPEC_BYTES + 1)
        .unwrap();
    let err = Spec::read(&path).unwrap_err().to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(err.contains("bytes is more than"), "{err}");

    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/chat/spec.json");
    let mut text = std::fs::read(&spec).unwrap();
    Spec::read(&spec).expect("the chat spec reads");
    text.extend_from_slice(b"\n{\"spec_version\": 2}");
    std::fs::write(&path, &text).unwrap();
    let err = Spec::read(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: at $: trailing characters", path.display())),
        "{err}"
    );
}
