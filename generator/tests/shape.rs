//! Shape: band targets, fan-out quantiles and hourly profiles of generated data match the spec.

use std::path::Path;

use pgshape_core::spec::{Rows, Spec};
use pgshape_generator::engine::value::Value;
use pgshape_generator::engine::{Engine, Shard};

fn engine() -> Engine {
    let spec =
        Spec::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/chat/spec.json")).unwrap();
    Engine::new(spec, "ci", "shape-test").unwrap()
}

/// Live rows per group of table `ti` (a large group comes in segments), and the values of
/// column `col` (if given).
fn walk(engine: &Engine, ti: usize, col: Option<usize>) -> (Vec<u64>, Vec<Value>) {
    let mut sizes = Vec::new();
    let mut values = Vec::new();
    let mut live = 0;
    for job in engine
        .jobs(Shard::ALL)
        .into_iter()
        .filter(|j| j.table == ti)
    {
        engine
            .visit_chunk(job, &mut |buf| {
                live += buf.live_rows().count() as u64;
                if buf.ends_group() {
                    sizes.push(std::mem::take(&mut live));
                }
                if let Some(c) = col {
                    values.extend(buf.live_rows().map(|r| buf.get(r, c)));
                }
                Ok(())
            })
            .unwrap();
    }
    (sizes, values)
}

fn quantile(sorted: &[u64], p: f64) -> f64 {
    // percentile_cont, as PostgreSQL computes it.
    let x = p * (sorted.len() - 1) as f64;
    let (i, f) = (x.floor() as usize, x - x.floor());
    let next = sorted[(i + 1).min(sorted.len() - 1)];
    sorted[i] as f64 * (1.0 - f) + next as f64 * f
}

#[test]
fn band_targets_are_met_within_half_a_percent() {
    let e = engine();
    let m = e.model();
    for (table, target) in &m.spec.bands["ci"].rows {
        let ti = m.table_index(table).unwrap();
        let (sizes, _) = walk(&e, ti, None);
        let rows: u64 = sizes.iter().sum();
        let err = (rows as f64 - *target as f64).abs() / *target as f64;
        assert!(
            err <= 0.005,
            "{table}: {rows} rows for a target of {target}"
        );
    }
}

#[test]
fn fanout_quantiles_follow_the_spec_within_five_percent() {
    let e = engine();
    let m = e.model();
    for (ti, t) in m.tables.iter().enumerate() {
        let Rows::PerParent(pp) = &m.spec.tables[&t.name].rows else {
            continue;
        };
        if t.may_drop || m.tables[t.parent.unwrap()].plan.rows < 500 {
            continue; // groups cut by distinct picks follow their pick set, not the fan-out
        }
        let (sizes, _) = walk(&e, ti, None);
        let zero = sizes.iter().filter(|&&n| n == 0).count() as f64 / sizes.len() as f64;
        assert!(
            (zero - pp.zero_fraction).abs() < 0.01,
            "{}: zero fraction {zero}",
            t.name
        );
        let mut nonzero: Vec<u64> = sizes.into_iter().filter(|&n| n > 0).collect();
        nonzero.sort_unstable();
        for p in [0.5, 0.95, 0.99] {
            let want = t.plan.scale() * pp.fanout.quantile(p);
            let got = quantile(&nonzero, p);
            if want < 20.0 {
                assert!(
                    (got - want).abs() <= 1.0,
                    "{} p{p}: {got} vs {want}",
                    t.name
                );
            } else {
                assert!(
                    (got - want).abs() / want < 0.05,
                    "{} p{p}: {got} vs {want}",
                    t.name
                );
            }
        }
    }
}

#[test]
fn hourly_profile_total_variation_below_three_percent() {
    // Only columns with enough values: with n values, sampling noise alone gives a TVD of
    // about 0.9 * sqrt(24 / n) / 2 (0.06 at n = 800, 0.01 at n = 50,000).
    let e = engine();
    let m = e.model();
    let mut checked = 0;
    for (ti, t) in m.tables.iter().enumerate() {
        for (ci, c) in t.columns.iter().enumerate() {
            let Some(ts) = &m.spec.tables[&t.name].columns[&c.name].timestamp else {
                continue;
            };
            let Some(hourly) = &ts.hourly else { continue };
            let (_, values) = walk(&e, ti, Some(ci));
            let mut counts = [0f64; 24];
            for v in &values {
                if let Value::Ts(us) = v {
                    counts[(us.div_euclid(1_000_000).rem_euclid(86_400) / 3600) as usize] += 1.0;
                }
            }
            let n: f64 = counts.iter().sum();
            if n < 50_000.0 {
                continue;
            }
            checked += 1;
            // The spec's hourly weights are thinned by the weekday weights too; the expected
            // hour mix is the hourly profile itself since weekdays and hours are independent.
            let w: f64 = hourly.iter().sum();
            let tvd: f64 = (0..24)
                .map(|h| (counts[h] / n - hourly[h] / w).abs())
                .sum::<f64>()
                / 2.0;
            let got: Vec<String> = (0..24)
                .map(|h| format!("{:.3}/{:.3}", counts[h] / n, hourly[h] / w))
                .collect();
            assert!(
                tvd < 0.03,
                "{}.{}: hourly TVD {tvd:.4} over {n} values: {got:?}",
                t.name,
                c.name
            );
        }
    }
    assert!(
        checked > 0,
        "no timestamp column with an hourly profile had enough values"
    );
}

#[test]
fn senders_are_participants_and_replies_point_back_in_the_group() {
    // Schema-generic check of the two cross-table rules the chat spec uses: a `pick` value is
    // in its set, and an `earlier` value is a key of an earlier row of the same group.
    let e = engine();
    let m = e.model();
    let ti = m.table_index("messages").unwrap();
    let t = &m.tables[ti];
    let id = t.columns.iter().position(|c| c.name == "id").unwrap();
    let reply = t
        .columns
        .iter()
        .position(|c| c.name == "reply_to_id")
        .unwrap();
    let mut replies = 0;
    let mut earlier = std::collections::HashSet::new();
    for job in e.jobs(Shard::ALL).into_iter().filter(|j| j.table == ti) {
        e.visit_chunk(job, &mut |buf| {
            if buf.base == 0 {
                earlier.clear(); // a new group (a large one comes in segments)
            }
            for r in 0..buf.rows {
                if let Value::Int(target) = buf.get(r, reply) {
                    assert!(
                        earlier.contains(&target),
                        "reply {target} not earlier in its group"
                    );
                    replies += 1;
                }
                if let Value::Int(k) = buf.get(r, id) {
                    earlier.insert(k);
                }
            }
            Ok(())
        })
        .unwrap();
    }
    assert!(replies > 1000, "{replies}");
}

/// NULLs are stratified over the table's rows: a table holds the spec's null fraction's count
/// of NULLs up to one, even when its groups are a row or two each (conversations per user)
/// and whatever the seed — a binomial count would miss by about √(p(1-p)N).
#[test]
fn null_counts_are_the_null_fraction_of_the_table() {
    for seed in ["nulls-a", "nulls-b", "nulls-c"] {
        let spec =
            Spec::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/chat/spec.json"))
                .unwrap();
        let e = Engine::new(spec, "ci", seed).unwrap();
        let m = e.model();
        let mut checked = 0;
        for (ti, t) in m.tables.iter().enumerate() {
            for (ci, c) in t.columns.iter().enumerate() {
                // An `earlier` column is also NULL on a group's first row (nothing before it).
                if c.null_fraction <= 0.0
                    || matches!(c.gen, pgshape_generator::engine::model::Gen::Earlier { .. })
                {
                    continue;
                }
                let (_, values) = walk(&e, ti, Some(ci));
                let nulls = values.iter().filter(|v| matches!(v, Value::Null)).count() as f64;
                let want = c.null_fraction * values.len() as f64;
                assert!(
                    (nulls - want).abs() <= 1.0,
                    "{seed} {}.{}: {nulls} NULLs of {} rows, want {want}",
                    t.name,
                    c.name,
                    values.len()
                );
                checked += 1;
            }
        }
        assert!(checked >= 3, "{checked}");
    }
}

/// A time within a day of its base is the base's plus the offset: the base's hour stays,
/// whatever the hourly profile says (a profile of hour 3 only would otherwise move every
/// value to 03 UTC, and reject those before the base's hour).
#[test]
fn an_offset_under_a_day_keeps_the_bases_hour() {
    use pgshape_core::dist::Dist;
    let mut spec =
        Spec::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/chat/spec.json")).unwrap();
    let users = spec.tables.get_mut("users").unwrap();
    let ts = users
        .columns
        .get_mut("verified_at")
        .unwrap()
        .timestamp
        .as_mut()
        .unwrap();
    assert_eq!(ts.after.as_deref(), Some("created_at"));
    ts.offset_seconds = Some(Dist::Lognormal {
        median: 600.0,
        sigma: 1.0,
        max: Some(7_200.0),
    });
    let mut hourly = vec![0.0; 24];
    hourly[3] = 1.0;
    ts.hourly = Some(hourly);
    let e = Engine::new(spec, "ci", "offset-test").unwrap();
    let m = e.model();
    let ti = m.table_index("users").unwrap();
    let col = |name: &str| m.tables[ti].columns.iter().position(|c| c.name == name);
    let (_, base) = walk(&e, ti, col("created_at"));
    let (_, after) = walk(&e, ti, col("verified_at"));
    let (mut pairs, mut at_three) = (0, 0);
    for (b, a) in base.iter().zip(&after) {
        let (Value::Ts(b), Value::Ts(a)) = (b, a) else {
            continue;
        };
        pairs += 1;
        let d = a - b;
        assert!((0..=7_200_000_000).contains(&d), "offset {d} µs");
        at_three += usize::from(a.rem_euclid(86_400_000_000) / 3_600_000_000 == 3);
    }
    assert!(pairs > 200, "{pairs} pairs");
    assert!(at_three * 4 < pairs, "{at_three} of {pairs} at 03 UTC");
}
