//! Fidelity of a synthetic database to production: two metrics packs (production's, and the
//! one the sampler extracted from the loaded synthetic database) compared figure by figure.
//!
//! | figure | per | threshold |
//! |---|---|---|
//! | `rows`: synthetic / production row count | table | none (informational: bands differ in size) |
//! | `rows_share`: relative error of the table's count relative to the largest production table's | table | `max_error`, or at most [`ROWS_SLACK`] row off |
//! | `zero_fraction`: absolute difference of the share of parents without a child | edge | `max_fraction_diff` |
//! | `p50` `p90` `p95` `p99`: relative error of a children-per-parent quantile | edge | `max_error`, or at most [`FANOUT_SLACK`] child off |
//! | `offset_p50` `offset_p90` `inter_arrival_p50` `inter_arrival_p90`: relative error of the edge's timing quantiles (seconds), when both packs have them | edge | none (informational) |
//! | `null_fraction`: absolute difference | column | `max_fraction_diff` |
//! | `hourly`, `weekday`: total-variation distance of the arrival profiles | timestamp column | `max_tvd` + sampling noise |
//! | `length`: Kolmogorov–Smirnov distance of the binned length histograms | text / PII column | `max_ks` + sampling noise |
//! | `categories`: total-variation distance of the category frequencies, by label for enum labels, by rank for tokens (salted per namespace, they never match across packs) | category column | `max_tvd` + sampling noise |
//!
//! Tables match by qualified name, or by table name when the schemas differ (a synthetic copy
//! is often loaded into another schema) and the name is unambiguous; edges match by child,
//! columns, parent and referenced columns; columns by name. Whatever one pack has and the
//! other lacks is listed in [`Comparison::only_in`], never compared and never fatal.

mod columns;
mod edges;
mod figure;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use pgshape_core::pack::Pack;

pub use figure::*;

use super::distance;
use columns::column;
use edges::edges;

fn unqualified(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(_, t)| t)
}

/// Pairs production tables with synthetic ones: same qualified name, else the same table name
/// when exactly one unmatched table on each side has it.
fn match_tables(production: &Pack, synthetic: &Pack) -> Vec<TablePair> {
    let mut pairs: Vec<TablePair> = production
        .tables
        .keys()
        .filter(|n| synthetic.tables.contains_key(*n))
        .map(|n| TablePair {
            production: n.clone(),
            synthetic: n.clone(),
        })
        .collect();
    // Unmatched tables by table name, per side.
    let by_name = |pack: &Pack, other: &Pack| {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for n in pack
            .tables
            .keys()
            .filter(|n| !other.tables.contains_key(*n))
        {
            m.entry(unqualified(n).to_string())
                .or_default()
                .push(n.clone());
        }
        m
    };
    let (left, right) = (
        by_name(production, synthetic),
        by_name(synthetic, production),
    );
    for (name, p) in &left {
        if let (1, Some(s)) = (p.len(), right.get(name)) {
            if s.len() == 1 {
                pairs.push(TablePair {
                    production: p[0].clone(),
                    synthetic: s[0].clone(),
                });
            }
        }
    }
    pairs.sort_by(|a, b| a.production.cmp(&b.production));
    pairs
}

/// Compares a synthetic pack with production's.
pub fn compare(production: &Pack, synthetic: &Pack, t: Thresholds) -> Comparison {
    let tables = match_tables(production, synthetic);
    let mut out = Comparison {
        thresholds: t,
        figures: Vec::new(),
        only_in: Vec::new(),
        tables: tables.clone(),
        edges: Vec::new(),
    };
    let to_prod: BTreeMap<&str, &str> = tables
        .iter()
        .map(|p| (p.synthetic.as_str(), p.production.as_str()))
        .collect();
    let matched_p: BTreeSet<&str> = tables.iter().map(|p| p.production.as_str()).collect();
    let matched_s: BTreeSet<&str> = to_prod.keys().copied().collect();
    for n in production.tables.keys() {
        if !matched_p.contains(n.as_str()) {
            out.only_in.push(only(Kind::Table, n, Side::Production));
        }
    }
    for n in synthetic.tables.keys() {
        if !matched_s.contains(n.as_str()) {
            out.only_in.push(only(Kind::Table, n, Side::Synthetic));
        }
    }

    table_rows(production, synthetic, &tables, t, &mut out.figures);
    edges(production, synthetic, &to_prod, t, &mut out);
    for pair in &tables {
        let (pc, sc) = (
            &production.tables[&pair.production].columns,
            &synthetic.tables[&pair.synthetic].columns,
        );
        for (name, p) in pc {
            let target = Target::Column(&pair.production, name);
            match sc.get(name) {
                Some(s) => column(target, p, s, t, &mut out.figures),
                None => out.only_in.push(only(
                    Kind::Column,
                    &format!("{}.{name}", pair.production),
                    Side::Production,
                )),
            }
        }
        for name in sc.keys().filter(|n| !pc.contains_key(*n)) {
            out.only_in.push(only(
                Kind::Column,
                &format!("{}.{name}", pair.synthetic),
                Side::Synthetic,
            ));
        }
    }
    out
}

/// Row counts (informational) and each table's share of the largest production table's.
fn table_rows(
    production: &Pack,
    synthetic: &Pack,
    tables: &[TablePair],
    t: Thresholds,
    figures: &mut Vec<Figure>,
) {
    // The reference: the largest production table (bands are named after it).
    let reference = tables
        .iter()
        .map(|p| {
            (
                production.tables[&p.production].total_rows,
                synthetic.tables[&p.synthetic].total_rows,
                p,
            )
        })
        .filter(|(p, s, _)| *p > 0 && *s > 0)
        .max_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| b.2.production.cmp(&a.2.production))
        });
    for pair in tables {
        let (p, s) = (
            production.tables[&pair.production].total_rows as f64,
            synthetic.tables[&pair.synthetic].total_rows as f64,
        );
        let mut rows = figure(Target::Table(&pair.production), "rows");
        rows.production = Some(p);
        rows.synthetic = Some(s);
        rows.value = (p > 0.0).then(|| s / p);
        rows.status = Status::Info;
        rows.note = Some("synthetic / production (bands differ in size)".into());
        figures.push(rows);

        let mut share = figure(Target::Table(&pair.production), "rows_share");
        if let Some((rp, rs, r)) = reference {
            let (want, got) = (p / rp as f64, s / rs as f64);
            share.production = Some(want);
            share.synthetic = Some(got);
            share.note = Some(format!("rows / rows of {}", r.production));
            share = judge(share, distance::relative_error(want, got), t.max_error);
            // A count is an integer: 16 rows at a band of 0.6 cannot be 9.6 rows.
            let exact = want * rs as f64;
            if share.status == Status::Fail && (s - exact).abs() <= ROWS_SLACK {
                share.status = Status::Pass;
                share.note = Some(format!(
                    "rows / rows of {}; within {ROWS_SLACK} row of production's share ({exact:.1})",
                    r.production
                ));
            }
            if p == 0.0 {
                share.note = Some("empty in production".into());
            }
        }
        figures.push(share);
    }
}
