//! Bad specs get clear errors: each `tests/bad_specs/NAME.json` must fail with a message that
//! names the file and contains `NAME.expected` (the JSON path or the table and column).

use std::path::Path;

use pgshape_core::spec::Spec;
use pgshape_generator::Model;

#[test]
fn every_bad_spec_fails_with_its_expected_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_specs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        let expected = expected.trim();
        let err = match Spec::read(&path) {
            Err(e) => e.to_string(),
            Ok(spec) => match Model::new(spec, "ci", "seed") {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{} was accepted", path.display()),
            },
        };
        assert!(
            err.contains(expected),
            "{}:\n  got:      {err}\n  expected: {expected}",
            path.display()
        );
        if !err.starts_with("table ") {
            assert!(
                err.contains(path.to_str().unwrap()),
                "the message names the file: {err}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked} cases");
}
