//! A round trip with differential privacy on (the default, ε = 1): the chat fixture's pack
//! noised → `init` → generate → load → the synthetic schema's pack → `compare`. Small data
//! (about 2,000 people) under ε = 1 loses most figures to the noise by design (docs/privacy.md
//! has the measured table at 10,000 people, `scripts/dp-fidelity.sh`), and which ones varies
//! from one extraction to the next: this test holds that a noisy pack goes through every step
//! whatever the draw, and that the worst case of a noisy pack's shapes (every fan-out quantile
//! and category count noised away, every zero fraction at 1, every parent count at 0) still
//! gives a spec.

use pgshape_core::pack::Pack;
use pgshape_e2e::{compare_synthetic, extract_pack_with, generate_and_load, run, TestDb};

const SALT: &str = "b7c1d9e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0";

#[test]
fn a_noisy_pack_goes_through_init_generate_load_and_compare() {
    let work = tempfile::tempdir().unwrap();
    let production = TestDb::new("dp_trip_prod");
    production.load_fixture("0.1");
    // DP on: no --no-dp.
    let pack_path = extract_pack_with(&production, work.path(), SALT, &[]);
    let pack: Pack = serde_json::from_slice(&std::fs::read(&pack_path).unwrap()).unwrap();
    let dp = pack.privacy.dp.as_ref().expect("DP is on by default");
    assert_eq!(dp.epsilon, 1.0);
    assert!(pack
        .tables
        .values()
        .all(|t| t.count_method == "noisy" || t.count_method == "band"));

    let spec = work.path().join("derived.json");
    let o = run(
        "pgshape-generator",
        &[
            "init",
            "--pack",
            pack_path.to_str().unwrap(),
            "--output",
            spec.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let target = TestDb::new("dp_trip_target");
    generate_and_load(&spec, "ci", "dp", work.path(), &target);
    let (code, doc) = compare_synthetic(
        &pack_path,
        &target,
        SALT,
        work.path(),
        &["--window-days", "60"],
    );
    let figures = doc["figures"].as_array().unwrap();
    let status = |s: &str| figures.iter().filter(|f| f["status"] == s).count();
    let (pass, fail) = (status("pass"), status("fail"));
    for f in figures.iter().filter(|f| f["status"] == "fail") {
        eprintln!("fails under DP: {} {}", f["subject"], f["metric"]);
    }
    eprintln!("dp round trip: compare exit {code}, {pass} pass, {fail} fail");
    assert!(code <= 1, "compare exit {code}");
    assert!(pass + fail > 0, "no figure judged");

    // The worst a noisy pack's shapes can say, on the exact counts of a --no-dp pack (so the
    // check does not depend on the draw): init must still make a spec (it refused such packs
    // with "this composite key cannot be kept unique", or a category of all-zero weights).
    let exact_dir = work.path().join("exact");
    std::fs::create_dir_all(&exact_dir).unwrap();
    let exact = extract_pack_with(&production, &exact_dir, SALT, &["--no-dp"]);
    let mut worst: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&exact).unwrap()).unwrap();
    worst_case(&mut worst);
    let worst_path = work.path().join("worst.json");
    std::fs::write(&worst_path, serde_json::to_vec(&worst).unwrap()).unwrap();
    let o = run(
        "pgshape-generator",
        &[
            "init",
            "--pack",
            worst_path.to_str().unwrap(),
            "--output",
            work.path().join("worst-spec.json").to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Every edge without quantiles, parents or children, every category count 0.
fn worst_case(pack: &mut serde_json::Value) {
    for e in pack["edges"].as_array_mut().unwrap() {
        e["parents"] = 0.into();
        e["zero_fraction"] = 1.0.into();
        for q in e["quantiles"].as_object_mut().unwrap().values_mut() {
            *q = serde_json::Value::Null;
        }
    }
    for t in pack["tables"].as_object_mut().unwrap().values_mut() {
        for c in t["columns"].as_object_mut().unwrap().values_mut() {
            if let Some(counts) = c.pointer_mut("/categories/counts") {
                for n in counts.as_object_mut().unwrap().values_mut() {
                    *n = 0.into();
                }
            }
        }
    }
}
