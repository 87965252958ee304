//! A comparison as a plain-text table (stdout) and as the JSON document of `compare --json`
//! (`docs/formats.md`).

use std::fmt::Write as _;

use serde::Serialize;

use super::compare::{Comparison, Figure, OnlyIn, Side, Status, Thresholds, FANOUT_SLACK};

/// The `--json` document's format version.
pub const COMPARE_VERSION: u32 = 1;

/// One compared pack, as the report names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackInfo {
    /// The path as given on the command line.
    pub file: String,
    pub sha256: String,
    pub created_at: String,
    pub expires_at: String,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub compare_version: u32,
    pub tool_version: &'a str,
    pub production: &'a PackInfo,
    pub synthetic: &'a PackInfo,
    pub thresholds: ThresholdsDoc,
    /// True when no figure is over its threshold (the exit code is 0).
    pub passed: bool,
    /// Figures held to a threshold, and how many of them failed.
    pub checked: usize,
    pub failed: usize,
    pub figures: &'a [Figure],
    pub only_in: &'a [OnlyIn],
}

/// The thresholds, with the fan-out slack spelled out.
#[derive(Debug, Serialize)]
pub struct ThresholdsDoc {
    #[serde(flatten)]
    pub limits: Thresholds,
    pub fanout_slack_children: f64,
}

/// The `--json` document of a comparison.
pub fn document<'a>(
    c: &'a Comparison,
    production: &'a PackInfo,
    synthetic: &'a PackInfo,
) -> Document<'a> {
    Document {
        compare_version: COMPARE_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        production,
        synthetic,
        thresholds: ThresholdsDoc {
            limits: c.thresholds,
            fanout_slack_children: FANOUT_SLACK,
        },
        passed: c.passed(),
        checked: c.checked(),
        failed: c.failures().count(),
        figures: &c.figures,
        only_in: &c.only_in,
    }
}

/// A number for people: integers as such, else at most four decimals without trailing
/// zeros, tiny values in scientific notation (`-` when absent).
pub fn num(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) if v.abs() < 1e-3 => format!("{v:.1e}"),
        Some(v) => format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string(),
    }
}

/// The plain-text report: a header, one line per figure (subject, metric, production,
/// synthetic, figure, threshold, result), what one pack lacks, and the verdict.
pub fn text(c: &Comparison, production: &PackInfo, synthetic: &PackInfo) -> String {
    let mut out = String::new();
    let t = c.thresholds;
    let _ = writeln!(
        out,
        "production: {} (created {})\nsynthetic:  {} (created {})",
        production.file, production.created_at, synthetic.file, synthetic.created_at
    );
    let _ = writeln!(
        out,
        "thresholds: relative error {} (fan-out quantiles: or within {} child), TVD {}, KS {}, fraction difference {}\n",
        t.max_error, FANOUT_SLACK, t.max_tvd, t.max_ks, t.max_fraction_diff
    );
    figure_table(c, &mut out);
    only_in(c, &mut out);
    verdict(c, &mut out);
    out
}

/// One block per subject: its name, then its figures indented, in aligned columns.
fn figure_table(c: &Comparison, out: &mut String) {
    let header = [
        "metric",
        "production",
        "synthetic",
        "figure",
        "threshold",
        "result",
    ];
    let rows: Vec<[String; 6]> = c
        .figures
        .iter()
        .map(|f| {
            let mut result = f.status.word().to_string();
            if let Some(n) = &f.note {
                if f.status == Status::Skipped || n.starts_with("within") {
                    result.push_str(&format!(" ({n})"));
                }
            }
            [
                f.metric.clone(),
                num(f.production),
                num(f.synthetic),
                num(f.value),
                num(f.threshold),
                result,
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut s = String::from("  ");
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            let pad = " ".repeat(w.saturating_sub(cell.chars().count()));
            match i {
                0 => s.push_str(&format!("{cell}{pad}  ")),
                5 => s.push_str(cell),
                _ => s.push_str(&format!("{pad}{cell}  ")),
            }
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(header));
    let mut subject = None;
    for (f, r) in c.figures.iter().zip(&rows) {
        if subject != Some(&f.subject) {
            let kind = serde_json::to_value(f.kind).expect("a string");
            let _ = writeln!(out, "{} {}", kind.as_str().unwrap_or(""), f.subject);
            subject = Some(&f.subject);
        }
        let cells: [&str; 6] = std::array::from_fn(|i| r[i].as_str());
        let _ = writeln!(out, "{}", line(cells));
    }
}

/// What one pack has and the other lacks.
fn only_in(c: &Comparison, out: &mut String) {
    if !c.only_in.is_empty() {
        let _ = writeln!(out, "\nnot compared (in one pack only):");
        for o in &c.only_in {
            let side = match o.side {
                Side::Production => "production",
                Side::Synthetic => "synthetic",
            };
            let kind = serde_json::to_value(o.kind).expect("a string");
            let _ = writeln!(
                out,
                "  {} {} only in {side}",
                kind.as_str().unwrap_or(""),
                o.subject
            );
        }
    }
}

/// PASS, or FAIL with the figures over their thresholds.
fn verdict(c: &Comparison, out: &mut String) {
    let failed: Vec<&Figure> = c.failures().collect();
    if failed.is_empty() {
        let _ = writeln!(
            out,
            "\nPASS: {} figures within their thresholds",
            c.checked()
        );
    } else {
        let _ = writeln!(
            out,
            "\nFAIL: {} of {} figures over their thresholds:",
            failed.len(),
            c.checked()
        );
        for f in failed {
            let _ = writeln!(
                out,
                "  {} {}: {} > {}",
                f.subject,
                f.metric,
                num(f.value),
                num(f.threshold)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(num(None), "-");
        assert_eq!(num(Some(16.0)), "16");
        assert_eq!(num(Some(0.05)), "0.05");
        assert_eq!(num(Some(0.123456)), "0.1235");
        assert_eq!(num(Some(0.00012)), "1.2e-4");
    }
}
