//! The comparison's vocabulary: thresholds, figures and their statuses, what only one pack
//! has, and the matched pairs; with the helpers that make and judge a figure.

use pgshape_core::pack::EdgeMetrics;
use serde::Serialize;

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

/// A figure one pack has and the other lacks.
pub(super) fn only(kind: Kind, subject: &str, side: Side) -> OnlyIn {
    OnlyIn {
        kind,
        subject: subject.to_string(),
        side,
    }
}

/// What a figure is about.
#[derive(Clone, Copy)]
pub(super) enum Target<'a> {
    Table(&'a str),
    Edge(&'a EdgeMetrics),
    Column(&'a str, &'a str),
}

/// A blank figure (skipped until judged) of `metric` about `target`.
pub(super) fn figure(target: Target<'_>, metric: &str) -> Figure {
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
pub(super) fn noise_note(threshold: f64, noise: f64, n1: f64, n2: f64) -> String {
    format!("threshold {threshold} + sampling noise {noise:.3} ({n1:.0} and {n2:.0} rows)")
}

/// Passes or fails `f` on `value` ≤ `threshold`.
pub(super) fn judge(mut f: Figure, value: Option<f64>, threshold: f64) -> Figure {
    f.value = value;
    f.threshold = Some(threshold);
    f.status = match value {
        Some(v) if v <= threshold + 1e-12 => Status::Pass,
        Some(_) => Status::Fail,
        None => Status::Skipped,
    };
    f
}
