//! Calibration end to end: production fixture → sampler → calibrate the chat spec → the
//! generated fan-outs follow the pack's quantiles.

use pgshape_core::spec::{Rows, Spec};
use pgshape_e2e::{extract_pack, run, run_ok, TestDb};
use pgshape_generator::dataset::{jobs, visit_chunk, Shard};
use pgshape_generator::engine::Ctx;
use pgshape_generator::Model;

#[test]
fn calibrated_fanouts_are_generated() {
    let db = TestDb::new("calibrate");
    db.load_fixture("0.1");
    let dir = tempfile::tempdir().unwrap();
    let pack = extract_pack(&db, dir.path(), "calibrate-test-salt-0123456789abcdef0123");
    let out = dir.path().join("spec-calibrated.json");
    run_ok(
        "pgshape-generator",
        &[
            "calibrate",
            "--spec",
            "specs/chat/spec.json",
            "--pack",
            pack.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let spec = Spec::read(&out).unwrap();
    assert!(spec.calibrated_from.is_some(), "lineage recorded");
    let packed: pgshape_core::pack::Pack =
        serde_json::from_slice(&std::fs::read(&pack).unwrap()).unwrap();
    let edge = packed
        .edges
        .iter()
        .find(|e| e.child == "public.messages" && e.columns == ["conversation_id"])
        .unwrap();
    let Rows::PerParent(pp) = &spec.tables["messages"].rows else {
        panic!("messages are per conversation")
    };
    assert_eq!(pp.zero_fraction, edge.zero_fraction);
    // Sentence lengths follow the pack's (no content left production: only its lengths did).
    let length = packed.tables["public.messages"].columns["content"]
        .length
        .clone()
        .expect("content lengths in the pack");
    let dist = &spec.tables["messages"].columns["content"]
        .text
        .as_ref()
        .unwrap()
        .length;
    assert_eq!(
        Some(dist.quantile(0.5)),
        length.quantiles["p50"],
        "content length p50"
    );

    // Generate the ci band of the calibrated spec and measure messages per conversation.
    let model = Model::new(spec.clone(), "ci", "calibrated").unwrap();
    let ti = model.table_index("messages").unwrap();
    let mut ctx = Ctx::new(&model);
    let mut sizes = Vec::new();
    let mut live = 0;
    for job in jobs(&model, Shard { index: 1, count: 1 })
        .into_iter()
        .filter(|j| j.table == ti)
    {
        visit_chunk(&model, job, &mut ctx, &mut |b| {
            live += b.live_rows().count() as u64; // a large group comes in segments
            if b.ends_group() {
                sizes.push(std::mem::take(&mut live));
            }
            Ok(())
        })
        .unwrap();
    }
    let zero = sizes.iter().filter(|&&n| n == 0).count() as f64 / sizes.len() as f64;
    assert!(
        (zero - edge.zero_fraction).abs() < 0.01,
        "zero fraction {zero} vs {}",
        edge.zero_fraction
    );
    let mut nonzero: Vec<u64> = sizes.into_iter().filter(|&n| n > 0).collect();
    nonzero.sort_unstable();
    let scale = model.tables[ti].plan.scale();
    assert!(
        (scale - 1.0).abs() < 0.05,
        "bands rebalanced so the fan-out needs no scaling: {scale}"
    );
    for (name, p) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95)] {
        let Some(want) = edge.quantiles[name] else {
            continue;
        };
        let got = nonzero[((p * nonzero.len() as f64).ceil() as usize).max(1) - 1] as f64;
        let tolerance = (want * 0.05).max(1.0);
        assert!(
            (got - want).abs() <= tolerance,
            "{name}: generated {got}, pack {want}"
        );
    }

    // An expired pack is refused.
    let mut expired: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pack).unwrap()).unwrap();
    expired["expires_at"] = "2020-01-01T00:00:00Z".into();
    let old = dir.path().join("old.json");
    std::fs::write(&old, serde_json::to_vec(&expired).unwrap()).unwrap();
    let o = run(
        "pgshape-generator",
        &[
            "calibrate",
            "--spec",
            "specs/chat/spec.json",
            "--pack",
            old.to_str().unwrap(),
            "--output",
            dir.path().join("x.json").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dir.path().join("x.json").exists());
}
