//! Determinism: threads, shards and formats never change the data; golden hashes pin it.

use std::collections::BTreeMap;
use std::path::Path;

use pgshape_core::spec::Spec;
use pgshape_generator::dataset::{self, combine, ChunkReport, Format, Report, RunOptions, Shard};
use pgshape_generator::Model;

const SEED: &str = "golden-ci-v1";

fn chat_spec() -> Spec {
    Spec::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/chat/spec.json"))
        .expect("chat spec")
}

fn run(model: &Model, threads: usize, shard: Shard, format: Format) -> Report {
    let opts = RunOptions {
        threads,
        shard,
        format,
        output: None,
        on_chunk: &|_, _| {},
    };
    dataset::run(model, "test", &opts, 0).expect("generation")
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
    let model = Model::new(chat_spec(), "ci", SEED).unwrap();
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
    let model = Model::new(chat_spec(), "ci", SEED).unwrap();
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
    let model = Model::new(chat_spec(), "ci", SEED).unwrap();
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
        &Model::new(chat_spec(), "ci", SEED).unwrap(),
        2,
        Shard { index: 1, count: 1 },
        Format::Binary,
    ));
    let b = hashes(&run(
        &Model::new(chat_spec(), "ci", "other").unwrap(),
        2,
        Shard { index: 1, count: 1 },
        Format::Binary,
    ));
    for (t, (_, h)) in &a {
        assert_ne!(h, &b[t].1, "{t}");
    }
}

/// Golden content hashes of the chat spec's `ci` band for seed `golden-ci-v1`. A change to
/// generation output changes them: update them deliberately, as `docs/testing.md` explains.
const GOLDEN: &[(&str, u64, &str)] = &[
    (
        "attachments",
        11186,
        "c83f8a5d0d86973d2da705f10d5bdd35383ef5754d1ff2b800c920e7296c6c26",
    ),
    (
        "conversation_users",
        4014,
        "12f3e2dc47c518d744d41577aa32d8a41081a6f1c90f85ac77f28570a81bc2c9",
    ),
    (
        "conversations",
        600,
        "156fd17cdab7c5c67c61f5e38c0e001815fe3c1ffec0cefc6dffb21efbf3db11",
    ),
    (
        "message_reads",
        200571,
        "c21bae152378e78d1183b990d7d7f62279e52765cb96c646c5d25cb595fa78ff",
    ),
    (
        "messages",
        199997,
        "f12cdbba9042e8ac0aface9aa8d980d64b5e21f433a1af6af2a301ee3fb408b9",
    ),
    (
        "users",
        800,
        "b84f4180ac749e9f005986701487726cd886094ab3c726acb5f6038a66fc1a2b",
    ),
];

#[test]
fn golden_hashes_of_the_ci_band() {
    let model = Model::new(chat_spec(), "ci", SEED).unwrap();
    let got = hashes(&run(
        &model,
        2,
        Shard { index: 1, count: 1 },
        Format::Binary,
    ));
    let printed: String = got
        .iter()
        .map(|(t, (n, h))| format!("    (\"{t}\", {n}, \"{h}\"),\n"))
        .collect();
    for (t, rows, hash) in GOLDEN {
        let (n, h) = &got[*t];
        assert_eq!(
            (n, h.as_str()),
            (rows, *hash),
            "golden hash of {t} changed; if on purpose, replace GOLDEN with:\n{printed}"
        );
    }
}
