//! Determinism: threads, shards and formats never change the data; golden hashes pin it.

use std::collections::BTreeMap;
use std::path::Path;

use pgshape_core::dataset_report::{ChunkReport, Report};
use pgshape_core::spec::Spec;
use pgshape_generator::engine::{combine, Engine, Format, Model, RunOptions, Shard};

const SEED: &str = "golden-ci-v1";

fn chat_spec() -> Spec {
    Spec::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/chat/spec.json"))
        .expect("chat spec")
}

fn run(engine: &Engine, threads: usize, shard: Shard, format: Format) -> Report {
    let opts = RunOptions {
        threads,
        shard,
        format,
        output: None,
        on_chunk: &|_, _| {},
        tables: None,
        journal: None,
        done: None,
    };
    engine.run("test", &opts, 0).expect("generation")
}

fn hashes(report: &Report) -> BTreeMap<String, (u64, String)> {
    report
        .tables
        .iter()
        .map(|(t, r)| {
            (
                t.clone(),
                (r.rows, r.content_hash.clone().expect("complete run")),
            )
        })
        .collect()
}

#[test]
fn thread_count_never_changes_a_byte() {
    let model = Engine::new(chat_spec(), "ci", SEED).unwrap();
    let one = hashes(&run(
        &model,
        1,
        Shard { index: 1, count: 1 },
        Format::Binary,
    ));
    let two = hashes(&run(
        &model,
        2,
        Shard { index: 1, count: 1 },
        Format::Binary,
    ));
    let five = hashes(&run(
        &model,
        5,
        Shard { index: 1, count: 1 },
        Format::Binary,
    ));
    assert_eq!(one, two);
    assert_eq!(one, five);
}

#[test]
fn union_of_four_shards_equals_one_run() {
    let model = Engine::new(chat_spec(), "ci", SEED).unwrap();
    let whole = run(&model, 2, Shard { index: 1, count: 1 }, Format::Binary);
    let mut chunks: BTreeMap<String, Vec<ChunkReport>> = BTreeMap::new();
    for k in 1..=4 {
        let part = run(&model, 2, Shard { index: k, count: 4 }, Format::Binary);
        for (t, r) in part.tables {
            chunks.entry(t).or_default().extend(r.chunks);
        }
    }
    let chunk_total: usize = whole.tables.values().map(|t| t.chunk_count).sum();
    assert!(
        chunk_total >= 8,
        "the ci band must have enough chunks for shards to matter: {chunk_total}"
    );
    for (t, mut cs) in chunks {
        cs.sort_by_key(|c| c.index);
        let w = &whole.tables[&t];
        assert_eq!(
            cs.len(),
            w.chunk_count,
            "{t}: shards cover every chunk once"
        );
        assert_eq!(Some(combine(&cs)), w.content_hash, "{t}");
    }
}

#[test]
fn csv_and_binary_hash_the_same_rows() {
    let model = Engine::new(chat_spec(), "ci", SEED).unwrap();
    let bin = hashes(&run(
        &model,
        2,
        Shard { index: 1, count: 1 },
        Format::Binary,
    ));
    let csv = hashes(&run(&model, 2, Shard { index: 1, count: 1 }, Format::Csv));
    assert_eq!(bin, csv);
}

#[test]
fn another_seed_gives_other_data() {
    let a = hashes(&run(
        &Engine::new(chat_spec(), "ci", SEED).unwrap(),
        2,
        Shard { index: 1, count: 1 },
        Format::Binary,
    ));
    let b = hashes(&run(
        &Engine::new(chat_spec(), "ci", "other").unwrap(),
        2,
        Shard { index: 1, count: 1 },
        Format::Binary,
    ));
    for (t, (_, h)) in &a {
        assert_ne!(h, &b[t].1, "{t}");
    }
}

/// Golden content hashes of the chat spec's `ci` band for seed `golden-ci-v1`, in
/// `tests/golden/chat-ci.tsv`. A change to generation output changes them: update them
/// deliberately with `PGSHAPE_BLESS=1 cargo test -p pgshape-generator --test determinism golden`
/// and say why in the commit (see `docs/testing.md`).
#[test]
fn golden_hashes_of_the_ci_band() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/chat-ci.tsv");
    let model = Engine::new(chat_spec(), "ci", SEED).unwrap();
    let got = hashes(&run(
        &model,
        2,
        Shard { index: 1, count: 1 },
        Format::Binary,
    ));
    let current: String = std::iter::once("table\trows\tcontent_hash\n".to_string())
        .chain(got.iter().map(|(t, (n, h))| format!("{t}\t{n}\t{h}\n")))
        .collect();
    if std::env::var_os("PGSHAPE_BLESS").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let pinned = std::fs::read_to_string(&path).unwrap();
    assert_eq!(pinned.lines().count(), 7, "six tables pinned");
    assert!(
        pinned == current,
        "generated data changed: pinned\n{pinned}\nnow\n{current}\nIf on purpose: PGSHAPE_BLESS=1 cargo test -p pgshape-generator --test determinism golden"
    );
}

#[test]
fn segment_size_never_changes_a_byte() {
    // Large groups are generated in segments; any segment size gives the whole group's rows.
    let whole = Model::new(chat_spec(), "ci", SEED).unwrap();
    let largest = whole
        .tables
        .iter()
        .flat_map(|t| (0..t.plan.groups).map(|g| t.plan.group_rows(g)))
        .max()
        .unwrap();
    let mut whole = whole;
    whole.segment_rows = usize::MAX;
    let whole = Engine::from(whole);
    let mut segmented = Model::new(chat_spec(), "ci", SEED).unwrap();
    segmented.segment_rows = 97;
    let segmented = Engine::from(segmented);
    assert!(
        largest > 97 * 3,
        "the ci band has groups of several segments"
    );
    let one = Shard { index: 1, count: 1 };
    assert_eq!(
        hashes(&run(&whole, 2, one, Format::Binary)),
        hashes(&run(&segmented, 2, one, Format::Binary))
    );
}

/// The chat spec with what `calibrate` and `init` fill from a pack: a reference by
/// popularity (stratified over the referring rows) and a self-reference as a forest (blocks
/// of 1,024 rows carried across segments). Threads, segments and shards change no byte.
#[test]
fn popularity_and_trees_are_deterministic_too() {
    use pgshape_core::dist::Dist;
    use pgshape_core::spec::Popularity;
    let mut spec = chat_spec();
    let fanout = Dist::Quantiles(vec![[0.0, 1.0], [0.5, 4.0], [0.9, 20.0], [1.0, 80.0]]);
    let mut popular = 0;
    for t in spec.tables.values_mut() {
        for c in t.columns.values_mut() {
            if let Some(r) = &mut c.reference {
                r.popularity = Some(Popularity {
                    fanout: fanout.clone(),
                    zero_fraction: 0.1,
                });
                popular += 1;
            }
            if let Some(e) = &mut c.earlier {
                e.tree = Some(Popularity {
                    fanout: Dist::Quantiles(vec![[0.0, 1.0], [0.9, 1.0], [1.0, 3.0]]),
                    zero_fraction: 0.9,
                });
                popular += 1;
            }
        }
    }
    assert!(popular >= 2, "{popular}");
    let model = || Model::new(spec.clone(), "ci", SEED).unwrap();
    let engine = || Engine::from(model());
    let one = Shard { index: 1, count: 1 };
    let base = hashes(&run(&engine(), 1, one, Format::Binary));
    assert_eq!(base, hashes(&run(&engine(), 3, one, Format::Binary)));
    let mut segmented = model();
    segmented.segment_rows = 97;
    let segmented = Engine::from(segmented);
    assert_eq!(base, hashes(&run(&segmented, 2, one, Format::Binary)));
    let mut chunks: BTreeMap<String, Vec<ChunkReport>> = BTreeMap::new();
    for k in 1..=3 {
        let part = run(&engine(), 2, Shard { index: k, count: 3 }, Format::Binary);
        for (t, r) in part.tables {
            chunks.entry(t).or_default().extend(r.chunks);
        }
    }
    for (t, mut cs) in chunks {
        cs.sort_by_key(|c| c.index);
        assert_eq!(combine(&cs), base[&t].1, "{t}");
    }
    // And the data differs from the spec without them (the generators are in use).
    let plain = hashes(&run(
        &Engine::new(chat_spec(), "ci", SEED).unwrap(),
        2,
        one,
        Format::Binary,
    ));
    assert_ne!(base["messages"], plain["messages"]);
    assert_ne!(base["conversation_users"], plain["conversation_users"]);
}
