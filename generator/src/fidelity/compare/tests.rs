use super::*;
use serde_json::json;

/// A small pack built from JSON (so fields added to the format later keep it valid).
fn pack(schema: &str) -> Pack {
    let t = |n: &str| format!("{schema}.{n}");
    serde_json::from_value(json!({
        "pack_version": 1,
        "created_at": "2026-11-22T00:00:00Z",
        "expires_at": "2027-02-20T00:00:00Z",
        "tool_version": "0.1.0",
        "window": {"days": 30, "start": "2026-10-23T00:00:00Z", "end": "2026-11-22T00:00:00Z"},
        "sampling": {"method": "full", "fraction": 1.0},
        "privacy": {"k_min": 10},
        "salt_fingerprint": "0011223344556677",
        "schema": {"tables": [], "enums": []},
        "tables": {
            t("parents"): {"total_rows": 1000, "count_method": "exact", "columns": {
                "id": {"role": "key", "null_fraction": 0.0}
            }},
            t("children"): {"total_rows": 20000, "count_method": "exact", "columns": {
                "parent_id": {"role": "key", "null_fraction": 0.0},
                "kind": {"role": "category", "null_fraction": 0.0,
                         "categories": {"labels": true, "counts": {"x": 1500, "y": 500},
                                        "suppressed_rows": 0, "suppressed_categories": 0}},
                "at": {"role": "timestamp", "null_fraction": 0.1,
                       "hourly": (0..24).map(|h| 100 + h * 10).collect::<Vec<_>>(),
                       "weekday": [300, 300, 300, 300, 300, 200, 100]},
                "body": {"role": "text", "null_fraction": 0.0,
                         "length": {"quantiles": {"p50": 12.0},
                                    "histogram": [{"lo": 0, "hi": 0, "count": 100},
                                                  {"lo": 8, "hi": 15, "count": 900},
                                                  {"lo": 16, "hi": null, "count": 1000}]}}
            }}
        },
        "edges": [{"foreign_key": "children_parent_id_fkey", "child": t("children"),
                   "columns": ["parent_id"], "parent": t("parents"), "ref_columns": ["id"],
                   "parents": 1000, "zero_fraction": 0.1,
                   "quantiles": {"p50": 8.0, "p90": 40.0, "p95": 80.0, "p99": 300.0, "p99.9": null},
                   "histogram": [{"lo": 0, "hi": 0, "count": 100}, {"lo": 1, "hi": 1, "count": 100},
                                 {"lo": 2, "hi": null, "count": 800}]}]
    }))
    .expect("valid pack")
}

fn fig<'a>(c: &'a Comparison, subject: &str, metric: &str) -> &'a Figure {
    c.figures
        .iter()
        .find(|f| f.subject.contains(subject) && f.metric == metric)
        .unwrap_or_else(|| panic!("no {metric} of {subject}: {:#?}", c.figures))
}

#[test]
fn a_pack_against_itself_is_all_zeros() {
    let p = pack("public");
    let c = compare(&p, &p, Thresholds::default());
    assert!(c.passed());
    assert!(c.only_in.is_empty(), "{:?}", c.only_in);
    assert_eq!(c.edges.len(), 1);
    for f in &c.figures {
        match f.status {
            Status::Pass => assert_eq!(f.value, Some(0.0), "{f:?}"),
            Status::Info => assert_eq!(f.value, Some(1.0), "{f:?}"),
            _ => panic!("{f:?}"),
        }
    }
    // 2 tables × 2, edge 1 + 4, columns: id 1, parent_id 1, kind 2, at 3, body 2.
    assert_eq!(c.figures.len(), 4 + 5 + 9);
}

#[test]
fn edge_timings_are_shown_not_judged() {
    let mut p = pack("public");
    let timing = |p50: f64| pgshape_core::pack::Numbers {
        quantiles: [("p50".to_string(), Some(p50)), ("p90".to_string(), None)]
            .into_iter()
            .collect(),
        histogram: Vec::new(),
    };
    p.edges[0].offset_seconds = Some(timing(100.0));
    let mut s = p.clone();
    s.edges[0].offset_seconds = Some(timing(150.0));
    let c = compare(&p, &s, Thresholds::default());
    assert!(c.passed(), "informational only");
    let f = fig(&c, "children_parent_id_fkey", "offset_p50");
    assert_eq!((f.status, f.value), (Status::Info, Some(0.5)));
    assert_eq!(
        fig(&c, "children_parent_id_fkey", "offset_p90").status,
        Status::Skipped
    );
    // One pack without inter-arrival times: nothing to show.
    assert!(c
        .figures
        .iter()
        .all(|f| !f.metric.starts_with("inter_arrival")));
}

#[test]
fn another_schema_matches_by_table_name_and_scale_is_not_a_failure() {
    let p = pack("public");
    let mut s = pack("synthetic");
    for t in s.tables.values_mut() {
        t.total_rows *= 10;
    }
    let c = compare(&p, &s, Thresholds::default());
    assert!(c.passed(), "{:#?}", c.failures().collect::<Vec<_>>());
    assert_eq!(c.tables.len(), 2);
    assert_eq!(fig(&c, "public.children", "rows").value, Some(10.0));
    assert_eq!(fig(&c, "public.children", "rows_share").value, Some(0.0));
}

#[test]
fn a_small_table_passes_within_one_row_of_its_share() {
    // 16 parents in production; at 0.53 of the children, 8.48 parents would be exact.
    let mut p = pack("public");
    p.tables.get_mut("public.parents").unwrap().total_rows = 16;
    let mut s = p.clone();
    s.tables.get_mut("public.children").unwrap().total_rows = 10_600;
    s.tables.get_mut("public.parents").unwrap().total_rows = 8;
    let c = compare(&p, &s, Thresholds::default());
    let f = fig(&c, "public.parents", "rows_share");
    assert!(f.value.unwrap() > 0.05, "{f:?}");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    // Two rows off (7 for 8.48) fails.
    s.tables.get_mut("public.parents").unwrap().total_rows = 7;
    let c = compare(&p, &s, Thresholds::default());
    assert_eq!(fig(&c, "public.parents", "rows_share").status, Status::Fail);
}

#[test]
fn a_perturbed_quantile_fails_that_edge_only() {
    let p = pack("public");
    let mut s = p.clone();
    s.edges[0].quantiles.insert("p90".into(), Some(48.0)); // +20 %
    let c = compare(&p, &s, Thresholds::default());
    assert!(!c.passed());
    let failed: Vec<_> = c.failures().collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0].metric, "p90");
    assert!(failed[0].subject.starts_with("children_parent_id_fkey"));
    assert_eq!(
        failed[0].foreign_key.as_deref(),
        Some("children_parent_id_fkey")
    );
    assert_eq!(failed[0].table, "public.children");
    assert!((failed[0].value.unwrap() - 0.2).abs() < 1e-12);
}

#[test]
fn one_child_off_passes_at_small_quantiles() {
    let p = pack("public");
    let mut s = p.clone();
    s.edges[0].quantiles.insert("p50".into(), Some(9.0)); // 12.5 % but one child
    let c = compare(&p, &s, Thresholds::default());
    let f = fig(&c, "children_parent_id_fkey", "p50");
    assert_eq!(f.status, Status::Pass);
    assert_eq!(f.value, Some(0.125));
    assert!(f.note.as_deref().unwrap().contains("within 1 child"));
}

#[test]
fn sampling_noise_widens_the_threshold_of_small_samples_only() {
    // Weekdays off flat by TVD 0.05: within the noise of 140 rows a side (0.12), not of
    // 14,000 (0.012).
    let week = |n: u64| -> Vec<Option<u64>> {
        [27u64, 13, 20, 20, 20, 20, 20]
            .iter()
            .map(|x| Some(x * n))
            .collect()
    };
    let flat = |n: u64| -> Vec<Option<u64>> { vec![Some(20 * n); 7] };
    let status = |n: u64| {
        let mut p = pack("public");
        let mut s = p.clone();
        p.tables
            .get_mut("public.children")
            .unwrap()
            .columns
            .get_mut("at")
            .unwrap()
            .weekday = Some(week(n));
        s.tables
            .get_mut("public.children")
            .unwrap()
            .columns
            .get_mut("at")
            .unwrap()
            .weekday = Some(flat(n));
        let c = compare(&p, &s, Thresholds::default());
        let f = fig(&c, "public.children.at", "weekday");
        assert!(
            f.note.as_deref().unwrap().contains("sampling noise"),
            "{:?}",
            f.note
        );
        f.status
    };
    assert_eq!(status(1), Status::Pass);
    assert_eq!(status(100), Status::Fail);
}

#[test]
fn each_distance_fails_its_own_figure() {
    let p = pack("public");
    let mut s = p.clone();
    let t = s.tables.get_mut("public.children").unwrap();
    let at = t.columns.get_mut("at").unwrap();
    at.weekday = Some(vec![Some(300); 7]); // flat week
    at.null_fraction = 0.15;
    let body = t.columns.get_mut("body").unwrap();
    body.length.as_mut().unwrap().histogram[1].count = 400; // shorter texts
    let kind = t.columns.get_mut("kind").unwrap();
    let counts = &mut kind.categories.as_mut().unwrap().counts;
    counts.insert("x".into(), 1000);
    counts.insert("y".into(), 1000); // 75/25 → 50/50: TVD 0.25
    s.edges[0].zero_fraction = 0.2;
    s.tables.get_mut("public.parents").unwrap().total_rows = 2000;
    let c = compare(&p, &s, Thresholds::default());
    let mut failed: Vec<_> = c
        .failures()
        .map(|f| format!("{} {}", f.subject, f.metric))
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            "children_parent_id_fkey (public.children(parent_id) -> public.parents) zero_fraction",
            "public.children.at null_fraction",
            "public.children.at weekday",
            "public.children.body length",
            "public.children.kind categories",
            "public.parents rows_share",
        ]
    );
    // Weekday: p = (3,3,3,3,3,2,1)/18, q = 1/7 each: ½ Σ |p - q| by hand.
    let want = 0.5
        * [3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 1.0]
            .iter()
            .map(|x: &f64| (x / 18.0 - 1.0 / 7.0).abs())
            .sum::<f64>();
    let got = fig(&c, "public.children.at", "weekday").value.unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // Lengths: cumulative at 0 is 100/2000 vs 100/1500, at 15 1000/2000 vs 500/1500.
    assert_eq!(
        fig(&c, "public.children.kind", "categories").value,
        Some(0.25)
    );
    let length = fig(&c, "public.children.body", "length");
    assert_eq!(
        (length.table.as_str(), length.column.as_deref()),
        ("public.children", Some("body"))
    );
    let ks = length.value.unwrap();
    assert!((ks - (0.5 - 1.0 / 3.0)).abs() < 1e-12, "{ks}");
}

#[test]
fn one_sided_tables_edges_and_columns_are_listed_not_compared() {
    let p = pack("public");
    let mut s = p.clone();
    s.tables.remove("public.parents");
    s.tables
        .get_mut("public.children")
        .unwrap()
        .columns
        .remove("body");
    let extra = s.tables["public.children"].columns["at"].clone();
    s.tables
        .get_mut("public.children")
        .unwrap()
        .columns
        .insert("extra".into(), extra);
    s.edges[0].quantiles.insert("p99".into(), None);
    let c = compare(&p, &s, Thresholds::default());
    assert!(c.passed());
    let listed: Vec<_> = c
        .only_in
        .iter()
        .map(|o| (o.kind, o.subject.as_str(), o.side))
        .collect();
    assert!(listed.contains(&(Kind::Table, "public.parents", Side::Production)));
    assert!(listed.contains(&(Kind::Column, "public.children.body", Side::Production)));
    assert!(listed.contains(&(Kind::Column, "public.children.extra", Side::Synthetic)));
    assert!(listed
        .iter()
        .any(|(k, _, s)| *k == Kind::Edge && *s == Side::Production));
    assert!(
        c.edges.is_empty(),
        "the edge's parent is not in the synthetic pack"
    );
}

#[test]
fn a_suppressed_quantile_is_skipped() {
    let p = pack("public");
    let mut s = p.clone();
    s.edges[0].quantiles.insert("p99".into(), None);
    let c = compare(&p, &s, Thresholds::default());
    let f = fig(&c, "children_parent_id_fkey", "p99");
    assert_eq!(f.status, Status::Skipped);
    assert!(f
        .note
        .as_deref()
        .unwrap()
        .contains("suppressed in synthetic"));
    assert!(c.passed());
}
