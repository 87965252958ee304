//! `pgshape-generator compare` on real packs: the production fixture's pack against itself
//! passes, a copy with one fan-out quantile moved by 20 % fails on that edge, the HTML page
//! is well-formed with one plot per edge, profile, length histogram and category column, and
//! bad or expired packs are refused with the file named.

use std::path::Path;

use pgshape_e2e::{extract_pack, run, TestDb};
use serde_json::Value;

const SALT: &str = "15b9bb749779a0d3525651d336e2beaa6c3fbccca16644a3badbe624f9c2f249";

fn compare(production: &Path, synthetic: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "compare",
        "--production",
        production.to_str().unwrap(),
        "--synthetic",
        synthetic.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run("pgshape-generator", &args, &[])
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

#[test]
fn compare_packs_of_the_production_fixture() {
    let db = TestDb::new("compare");
    db.load_fixture("0.02");
    let dir = tempfile::tempdir().unwrap();
    let pack = extract_pack(&db, dir.path(), SALT);
    let pack_json: Value = serde_json::from_slice(&std::fs::read(&pack).unwrap()).unwrap();

    // The pack against itself: exit 0, every checked figure 0.
    let (html, json) = (dir.path().join("self.html"), dir.path().join("self.json"));
    let o = compare(
        &pack,
        &pack,
        &[
            "--html",
            html.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let stdout = text(&o.stdout);
    assert!(stdout.contains("PASS:"), "{stdout}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["passed"], true);
    assert_eq!(doc["failed"], 0);
    assert!(doc["checked"].as_u64().unwrap() > 50, "{}", doc["checked"]);
    assert_eq!(doc["only_in"].as_array().unwrap().len(), 0);
    for f in doc["figures"].as_array().unwrap() {
        if f["status"] == "pass" {
            assert_eq!(f["value"].as_f64(), Some(0.0), "{f}");
        }
    }

    // The page: well-formed XML, self-contained, one <svg> per plot.
    let page = std::fs::read_to_string(&html).unwrap();
    let xml = roxmltree::Document::parse_with_options(
        &page,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("the page is not well-formed: {e}"));
    let svgs = xml
        .descendants()
        .filter(|n| n.tag_name().name() == "svg")
        .count();
    let mut plots = pack_json["edges"].as_array().unwrap().len();
    for t in pack_json["tables"].as_object().unwrap().values() {
        for c in t["columns"].as_object().unwrap().values() {
            plots += ["hourly", "weekday", "length", "categories"]
                .iter()
                .filter(|k| c.get(**k).is_some())
                .count();
        }
    }
    assert!(
        plots >= 20,
        "the fixture has edges, timestamps and texts: {plots}"
    );
    assert_eq!(
        svgs, plots,
        "one plot per edge, profile and length histogram"
    );
    for forbidden in ["<script", "http://", "https://", "@import", "url("] {
        let outside_namespaces = page
            .replace("http://www.w3.org/1999/xhtml", "")
            .replace("http://www.w3.org/2000/svg", "");
        assert!(
            !outside_namespaces.contains(forbidden),
            "{forbidden} in the page"
        );
    }
    assert!(page.contains("class=\"verdict pass\""));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&html).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "the report is readable");
    }

    // One edge's quantile moved by 20 %: exit 1, and that edge is named.
    let mut perturbed = pack_json.clone();
    let edge = perturbed["edges"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["quantiles"]["p90"].as_f64().is_some_and(|v| v >= 10.0))
        .expect("an edge with p90 of at least 10 children");
    let fk = edge["foreign_key"].as_str().unwrap().to_string();
    let p90 = edge["quantiles"]["p90"].as_f64().unwrap();
    edge["quantiles"]["p90"] = (p90 * 1.2).into();
    let moved = dir.path().join("perturbed.json");
    write_json(&moved, &perturbed);
    let json2 = dir.path().join("perturbed-report.json");
    let o = compare(&pack, &moved, &["--json", json2.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let stdout = text(&o.stdout);
    assert!(stdout.contains("FAIL: 1 of"), "{stdout}");
    let verdict = &stdout[stdout.find("FAIL:").unwrap()..];
    assert!(
        verdict.contains(&fk) && verdict.contains("p90"),
        "{verdict}"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&json2).unwrap()).unwrap();
    let failed: Vec<&Value> = doc["figures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0]["subject"].as_str().unwrap().starts_with(&fk));
    assert_eq!(failed[0]["metric"], "p90");
    assert!((failed[0]["value"].as_f64().unwrap() - 0.2).abs() < 1e-9);

    // Invalid packs: exit 2 with the file named.
    let unknown = dir.path().join("unknown-key.json");
    let mut bad = pack_json.clone();
    bad["tables_typo"] = Value::Bool(true);
    write_json(&unknown, &bad);
    let not_json = dir.path().join("not-json.json");
    std::fs::write(&not_json, b"this is not a pack").unwrap();
    let missing = dir.path().join("missing.json");
    let mut future = pack_json.clone();
    future["pack_version"] = 99.into();
    let version = dir.path().join("future.json");
    write_json(&version, &future);
    for (path, expect) in [
        (&unknown, "tables_typo"),
        (&not_json, "expected"),
        (&missing, ""),
        (&version, "pack_version 99"),
    ] {
        let o = compare(&pack, path, &[]);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(
            stderr.contains(path.to_str().unwrap()) && stderr.contains(expect),
            "{stderr}"
        );
    }

    // Packs of unrelated schemas: nothing to compare is bad input, not a pass.
    let mut other = pack_json.clone();
    let renamed: serde_json::Map<String, Value> = other["tables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (format!("{k}_elsewhere"), v.clone()))
        .collect();
    other["tables"] = Value::Object(renamed);
    let unrelated = dir.path().join("unrelated.json");
    write_json(&unrelated, &other);
    let o = compare(&pack, &unrelated, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("no table of"),
        "{}",
        text(&o.stderr)
    );

    // An expired pack is refused (exit 4) unless --allow-expired.
    let mut old = pack_json.clone();
    old["expires_at"] = "2020-01-01T00:00:00Z".into();
    let expired = dir.path().join("expired.json");
    write_json(&expired, &old);
    let o = compare(&expired, &pack, &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(expired.to_str().unwrap()));
    let o = compare(&expired, &pack, &["--allow-expired"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}
