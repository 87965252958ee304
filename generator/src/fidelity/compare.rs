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

use std::collections::{BTreeMap, BTreeSet};

use pgshape_core::pack::{ColumnMetrics, EdgeMetrics, Pack};
use serde::Serialize;

use super::distance;

/// The fan-out quantiles compared (the pack's p99.9 describes too few parents to compare).
pub const COMPARED_QUANTILES: &[&str] = &["p50", "p90", "p95", "p99"];

/// A fan-out quantile passes when it is within the relative threshold *or* at most this many
/// children away: nearest-rank quantiles are integers, and at small values one child is a
/// large relative error (2 vs 3 is 50 %) that says nothing about the shape.
pub const FANOUT_SLACK: f64 = 1.0;

/// A table's share passes when its row count is at most this many rows from production's
/// share of the synthetic reference table: a small table cannot be scaled by any fraction.
pub const ROWS_SLACK: f64 = 1.0;

/// The thresholds a figure is held to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// Relative error of fan-out quantiles and of table proportions.
    pub max_error: f64,
    /// Total-variation distance of hourly and weekday profiles.
    pub max_tvd: f64,
    /// Kolmogorov–Smirnov distance of length histograms.
    pub max_ks: f64,
    /// Absolute difference of null and zero-child fractions.
    pub max_fraction_diff: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_error: 0.05,
            max_tvd: 0.03,
            max_ks: 0.05,
            max_fraction_diff: 0.02,
        }
    }
}

/// What a figure describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Table,
    Edge,
    Column,
}

/// A figure's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Within its threshold.
    Pass,
    /// Over its threshold.
    Fail,
    /// Reported without a threshold.
    Info,
    /// Not computable (suppressed in a pack, or not exported by one side).
    Skipped,
}

impl Status {
    /// The word the text report prints.
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "ok",
            Status::Fail => "FAIL",
            Status::Info => "info",
            Status::Skipped => "n/a",
        }
    }
}

/// One compared figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub kind: Kind,
    /// The table (`schema.table`, production's name), the column (`schema.table.column`) or
    /// the edge (`foreign_key (child(columns) -> parent)`).
    pub subject: String,
    /// `rows`, `rows_share`, `zero_fraction`, `p50` … `p99`, `null_fraction`, `hourly`,
    /// `weekday`, `length`.
    pub metric: String,
    /// Production's `schema.table` (the child's for an edge).
    pub table: String,
    /// The column, for column figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The foreign key's name, for edge figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreign_key: Option<String>,
    /// The production and synthetic values the figure is computed from, when they are single
    /// numbers.
    pub production: Option<f64>,
    pub synthetic: Option<f64>,
    /// The figure: a ratio, relative error, difference or distance.
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Which pack has something the other lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Production,
    Synthetic,
}

/// A table, edge or column present in one pack only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnlyIn {
    pub kind: Kind,
    pub subject: String,
    pub side: Side,
}

/// Two matched edges: indexes into each pack's `edges`.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgePair {
    pub subject: String,
    pub production: usize,
    pub synthetic: usize,
}

/// Two matched tables: production's and synthetic's qualified names.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePair {
    pub production: String,
    pub synthetic: String,
}

/// The outcome of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub thresholds: Thresholds,
    pub figures: Vec<Figure>,
    pub only_in: Vec<OnlyIn>,
    pub tables: Vec<TablePair>,
    pub edges: Vec<EdgePair>,
}

impl Comparison {
    /// Figures over their threshold.
    pub fn failures(&self) -> impl Iterator<Item = &Figure> {
        self.figures.iter().filter(|f| f.status == Status::Fail)
    }

    /// True when no figure is over its threshold.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// Figures held to a threshold (passed or failed).
    pub fn checked(&self) -> usize {
        self.figures
            .iter()
            .filter(|f| matches!(f.status, Status::Pass | Status::Fail))
            .count()
    }
}

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

/// An edge's name in reports.
pub fn edge_subject(e: &EdgeMetrics) -> String {
    format!(
        "{} ({}({}) -> {})",
        e.foreign_key,
        e.child,
        e.columns.join(", "),
        e.parent
    )
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

fn only(kind: Kind, subject: &str, side: Side) -> OnlyIn {
    OnlyIn {
        kind,
        subject: subject.to_string(),
        side,
    }
}

/// What a figure is about.
#[derive(Clone, Copy)]
enum Target<'a> {
    Table(&'a str),
    Edge(&'a EdgeMetrics),
    Column(&'a str, &'a str),
}

fn figure(target: Target<'_>, metric: &str) -> Figure {
    let (kind, subject, table, column, foreign_key) = match target {
        Target::Table(t) => (Kind::Table, t.to_string(), t, None, None),
        Target::Edge(e) => (
            Kind::Edge,
            edge_subject(e),
            e.child.as_str(),
            None,
            Some(e.foreign_key.clone()),
        ),
        Target::Column(t, c) => (
            Kind::Column,
            format!("{t}.{c}"),
            t,
            Some(c.to_string()),
            None,
        ),
    };
    Figure {
        kind,
        subject,
        metric: metric.to_string(),
        table: table.to_string(),
        column,
        foreign_key,
        production: None,
        synthetic: None,
        value: None,
        threshold: None,
        status: Status::Skipped,
        note: None,
    }
}

/// How a distribution figure's threshold was set: the flag's value plus what sampling alone
/// gives two samples of these sizes on average, so a small production table is not failed
/// for its noise (large tables add next to nothing).
fn noise_note(threshold: f64, noise: f64, n1: f64, n2: f64) -> String {
    format!("threshold {threshold} + sampling noise {noise:.3} ({n1:.0} and {n2:.0} rows)")
}

/// Passes or fails `f` on `value` ≤ `threshold`.
fn judge(mut f: Figure, value: Option<f64>, threshold: f64) -> Figure {
    f.value = value;
    f.threshold = Some(threshold);
    f.status = match value {
        Some(v) if v <= threshold + 1e-12 => Status::Pass,
        Some(_) => Status::Fail,
        None => Status::Skipped,
    };
    f
}

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

fn edge_key(e: &EdgeMetrics, rename: impl Fn(&str) -> Option<String>) -> Option<String> {
    Some(format!(
        "{}|{}|{}|{}",
        rename(&e.child)?,
        e.columns.join(","),
        rename(&e.parent)?,
        e.ref_columns.join(",")
    ))
}

fn edges(
    production: &Pack,
    synthetic: &Pack,
    to_prod: &BTreeMap<&str, &str>,
    t: Thresholds,
    out: &mut Comparison,
) {
    let mut synth: BTreeMap<String, usize> = BTreeMap::new();
    for (i, e) in synthetic.edges.iter().enumerate() {
        match edge_key(e, |n| to_prod.get(n).map(|p| p.to_string())) {
            Some(k) => {
                synth.insert(k, i);
            }
            None => out
                .only_in
                .push(only(Kind::Edge, &edge_subject(e), Side::Synthetic)),
        }
    }
    let mut used = BTreeSet::new();
    for (i, p) in production.edges.iter().enumerate() {
        let subject = edge_subject(p);
        let found = edge_key(p, |n| Some(n.to_string())).and_then(|k| synth.get(&k).copied());
        let Some(j) = found else {
            out.only_in
                .push(only(Kind::Edge, &subject, Side::Production));
            continue;
        };
        used.insert(j);
        let s = &synthetic.edges[j];
        out.edges.push(EdgePair {
            subject: subject.clone(),
            production: i,
            synthetic: j,
        });
        let mut zero = figure(Target::Edge(p), "zero_fraction");
        zero.production = Some(p.zero_fraction);
        zero.synthetic = Some(s.zero_fraction);
        out.figures.push(judge(
            zero,
            Some((s.zero_fraction - p.zero_fraction).abs()),
            t.max_fraction_diff,
        ));
        for q in COMPARED_QUANTILES {
            out.figures
                .push(quantile(p, q, p.quantiles.get(*q), s.quantiles.get(*q), t));
        }
        timings(p, s, out);
    }
    for (j, e) in synthetic.edges.iter().enumerate() {
        if !used.contains(&j) && edge_key(e, |n| to_prod.get(n).map(|p| p.to_string())).is_some() {
            out.only_in
                .push(only(Kind::Edge, &edge_subject(e), Side::Synthetic));
        }
    }
}

/// The timing quantiles shown side by side (informational: not held to a threshold yet).
pub const COMPARED_TIMINGS: &[&str] = &["p50", "p90"];

/// An edge's offsets and inter-arrival times, when both packs have them: `offset_p50` … and
/// `inter_arrival_p50` …, relative error, status `info`.
fn timings(p: &EdgeMetrics, s: &EdgeMetrics, out: &mut Comparison) {
    for (label, a, b) in [
        ("offset", &p.offset_seconds, &s.offset_seconds),
        (
            "inter_arrival",
            &p.inter_arrival_seconds,
            &s.inter_arrival_seconds,
        ),
    ] {
        let (Some(a), Some(b)) = (a, b) else {
            continue;
        };
        for q in COMPARED_TIMINGS {
            let mut f = figure(Target::Edge(p), &format!("{label}_{q}"));
            f.production = a.quantiles.get(*q).copied().flatten();
            f.synthetic = b.quantiles.get(*q).copied().flatten();
            f.value = f
                .production
                .zip(f.synthetic)
                .and_then(|(x, y)| distance::relative_error(x, y));
            f.status = if f.value.is_some() {
                Status::Info
            } else {
                Status::Skipped
            };
            f.note = Some("seconds; not held to a threshold".into());
            out.figures.push(f);
        }
    }
}

fn quantile(
    edge: &EdgeMetrics,
    name: &str,
    p: Option<&Option<f64>>,
    s: Option<&Option<f64>>,
    t: Thresholds,
) -> Figure {
    let mut f = figure(Target::Edge(edge), name);
    let (p, s) = (p.copied().flatten(), s.copied().flatten());
    f.production = p;
    f.synthetic = s;
    f.threshold = Some(t.max_error);
    let (Some(a), Some(b)) = (p, s) else {
        f.note = Some(
            match (p, s) {
                (None, None) => "suppressed in both packs (fewer than k parents beyond it)",
                (None, _) => "suppressed in production (fewer than k parents beyond it)",
                _ => "suppressed in synthetic (fewer than k parents beyond it)",
            }
            .into(),
        );
        return f;
    };
    let diff = (b - a).abs();
    f.value = distance::relative_error(a, b).or(Some(diff));
    let within_relative = f.value.is_some_and(|v| v <= t.max_error + 1e-12);
    let within_slack = diff <= FANOUT_SLACK;
    f.status = if within_relative || within_slack {
        Status::Pass
    } else {
        Status::Fail
    };
    if !within_relative && within_slack {
        f.note = Some(format!("within {FANOUT_SLACK} child"));
    }
    f
}

fn column(
    target: Target<'_>,
    p: &ColumnMetrics,
    s: &ColumnMetrics,
    t: Thresholds,
    out: &mut Vec<Figure>,
) {
    let mut null = figure(target, "null_fraction");
    null.production = Some(p.null_fraction);
    null.synthetic = Some(s.null_fraction);
    out.push(judge(
        null,
        Some((s.null_fraction - p.null_fraction).abs()),
        t.max_fraction_diff,
    ));
    let missing = |f: &mut Figure, has_p: bool| {
        f.note = Some(format!(
            "only the {} pack has it (roles: {} / {})",
            if has_p { "production" } else { "synthetic" },
            p.role,
            s.role
        ));
    };
    for (metric, pp, sp) in [
        ("hourly", &p.hourly, &s.hourly),
        ("weekday", &p.weekday, &s.weekday),
    ] {
        match (pp, sp) {
            (Some(a), Some(b)) => {
                let mut f = figure(target, metric);
                let rows = |c: &[Option<u64>]| c.iter().map(|x| x.unwrap_or(0)).sum::<u64>() as f64;
                let noise =
                    distance::shares(a).map_or(0.0, |p| distance::tvd_noise(&p, rows(a), rows(b)));
                f.note = Some(noise_note(t.max_tvd, noise, rows(a), rows(b)));
                out.push(judge(f, distance::tvd(a, b), t.max_tvd + noise));
            }
            (None, None) => {}
            (a, _) => {
                let mut f = figure(target, metric);
                f.threshold = Some(t.max_tvd);
                missing(&mut f, a.is_some());
                out.push(f);
            }
        }
    }
    if let (Some(a), Some(b)) = (&p.categories, &s.categories) {
        let mut f = figure(target, "categories");
        f.production = Some(a.counts.len() as f64);
        f.synthetic = Some(b.counts.len() as f64);
        f.note = Some(
            if a.labels && b.labels {
                "TVD by label; values are the categories listed"
            } else {
                "TVD by rank (tokens differ between packs); values are the categories listed"
            }
            .into(),
        );
        let shares = distance::category_shares(a, b);
        let value = shares.as_ref().map(|(_, x, y)| distance::tvd_shares(x, y));
        let total = |c: &pgshape_core::pack::Categories| {
            (c.counts.values().sum::<u64>() + c.suppressed_rows) as f64
        };
        let noise = shares
            .as_ref()
            .map_or(0.0, |(_, x, _)| distance::tvd_noise(x, total(a), total(b)));
        if let Some(n) = f.note.as_mut() {
            n.push_str("; ");
            n.push_str(&noise_note(t.max_tvd, noise, total(a), total(b)));
        }
        out.push(judge(f, value, t.max_tvd + noise));
    }
    match (&p.length, &s.length) {
        (Some(a), Some(b)) => {
            let mut f = figure(target, "length");
            f.production = a.quantiles.get("p50").copied().flatten();
            f.synthetic = b.quantiles.get("p50").copied().flatten();
            let rows =
                |h: &[pgshape_core::pack::Bin]| h.iter().map(|b| b.count).sum::<u64>() as f64;
            let noise = distance::ks_noise(rows(&a.histogram), rows(&b.histogram));
            f.note = Some(format!(
                "KS of binned lengths; values are the p50 lengths; {}",
                noise_note(t.max_ks, noise, rows(&a.histogram), rows(&b.histogram))
            ));
            out.push(judge(
                f,
                distance::ks_binned(&a.histogram, &b.histogram),
                t.max_ks + noise,
            ));
        }
        (None, None) => {}
        (a, _) => {
            let mut f = figure(target, "length");
            f.threshold = Some(t.max_ks);
            missing(&mut f, a.is_some());
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
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
}
