//! Calibration end to end: production fixture → sampler → calibrate the chat spec → the
//! generated fan-outs and child-minus-parent offsets follow the pack's quantiles.

use pgshape_core::spec::{Rows, Spec};
use pgshape_e2e::{extract_pack, run, run_ok, TestDb};
use pgshape_generator::engine::value::Value;
use pgshape_generator::engine::{Engine, Shard};

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
    let engine = Engine::new(spec.clone(), "ci", "calibrated").unwrap();
    let model = engine.model();
    let ti = model.table_index("messages").unwrap();
    let mut sizes = Vec::new();
    let mut live = 0;
    for job in engine
        .jobs(Shard::ALL)
        .into_iter()
        .filter(|j| j.table == ti)
    {
        engine
            .visit_chunk(job, &mut |b| {
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

    // Offsets: messages.created_at after their conversation's, from the pack's quantiles.
    let offsets = edge
        .offset_seconds
        .as_ref()
        .expect("the pack has the messages' offsets after their conversation");
    assert_eq!(edge.child_column.as_deref(), Some("created_at"));
    assert_eq!(edge.parent_column.as_deref(), Some("created_at"));
    let ts = spec.tables["messages"].columns["created_at"]
        .timestamp
        .as_ref()
        .unwrap();
    let calibrated = ts.offset_seconds.as_ref().unwrap();
    // The pack's values, at probabilities moved so that the window's cut gives them back.
    let pgshape_core::dist::Dist::Quantiles(points) = calibrated else {
        panic!("offsets calibrated to a quantile function")
    };
    let p50 = offsets.quantiles["p50"].unwrap();
    assert!(
        points.iter().any(|p| p[1] == p50),
        "the pack's p50 is a point: {points:?}"
    );
    // Measured from the generated rows: conversations' times by id, then each message's time
    // after its conversation's and after the previous message of the same conversation.
    let column = |t: usize, name: &str| {
        model.tables[t]
            .columns
            .iter()
            .position(|c| c.name == name)
            .unwrap()
    };
    let ci = model.table_index("conversations").unwrap();
    let (c_id, c_at) = (column(ci, "id"), column(ci, "created_at"));
    let mut conversation_at = std::collections::HashMap::new();
    for job in engine
        .jobs(Shard::ALL)
        .into_iter()
        .filter(|j| j.table == ci)
    {
        engine
            .visit_chunk(job, &mut |b| {
                for r in b.live_rows() {
                    if let (Value::Int(id), Value::Ts(at)) = (b.get(r, c_id), b.get(r, c_at)) {
                        conversation_at.insert(id, at);
                    }
                }
                Ok(())
            })
            .unwrap();
    }
    let (m_conv, m_at) = (column(ti, "conversation_id"), column(ti, "created_at"));
    let (mut offs, mut gaps) = (Vec::new(), Vec::new());
    let mut previous: Option<(i64, i64)> = None;
    for job in engine
        .jobs(Shard::ALL)
        .into_iter()
        .filter(|j| j.table == ti)
    {
        engine
            .visit_chunk(job, &mut |b| {
                for r in b.live_rows() {
                    let (Value::Int(conv), Value::Ts(at)) = (b.get(r, m_conv), b.get(r, m_at))
                    else {
                        continue;
                    };
                    offs.push((at - conversation_at[&conv]) as f64 / 1e6);
                    if let Some((pc, pat)) = previous {
                        if pc == conv {
                            gaps.push((at - pat) as f64 / 1e6);
                        }
                    }
                    previous = Some((conv, at));
                }
                Ok(())
            })
            .unwrap();
    }
    let nearest = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v[((p * v.len() as f64).ceil() as usize).max(1) - 1]
    };
    let inter = edge.inter_arrival_seconds.as_ref().unwrap();
    for (name, p) in [
        ("p10", 0.1),
        ("p25", 0.25),
        ("p50", 0.5),
        ("p75", 0.75),
        ("p90", 0.9),
        ("p99", 0.99),
    ] {
        let (got, gap) = (nearest(&mut offs, p), nearest(&mut gaps, p));
        eprintln!(
            "messages after their conversation, {name}: offset generated {got:.0} s, pack {:?}; inter-arrival generated {gap:.0} s, pack {:?}",
            offsets.quantiles[name], inter.quantiles[name]
        );
        if matches!(name, "p50" | "p90") {
            let want = offsets.quantiles[name].unwrap();
            assert!(
                (got - want).abs() <= 0.10 * want,
                "offset {name}: generated {got} s, pack {want} s"
            );
            // Inter-arrival is not calibrated: it follows from the offsets and the group
            // sizes (order statistics), so from the fan-out's unexported tail, now set to the
            // pack's mean: measured +34 % at p50 (+16 % with the earlier 4x-tail guess); held
            // to 40 % so a regression shows, not to the 10 % calibrated figures are.
            let want = inter.quantiles[name].unwrap();
            assert!(
                (gap - want).abs() <= 0.40 * want,
                "inter-arrival {name}: generated {gap} s, pack {want} s"
            );
        }
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
