//! Edge figures: the share of parents without a child, children-per-parent quantiles, and
//! (informational) timing quantiles.

use std::collections::{BTreeMap, BTreeSet};

use pgshape_core::pack::{EdgeMetrics, Pack};

use super::figure::{
    edge_subject, figure, judge, only, Comparison, EdgePair, Figure, Kind, Side, Status, Target,
    Thresholds, COMPARED_QUANTILES, FANOUT_SLACK,
};
use crate::fidelity::distance;

/// An edge's matching key, its tables renamed by `rename` (`None`: no counterpart).
fn edge_key(e: &EdgeMetrics, rename: impl Fn(&str) -> Option<String>) -> Option<String> {
    Some(format!(
        "{}|{}|{}|{}",
        rename(&e.child)?,
        e.columns.join(","),
        rename(&e.parent)?,
        e.ref_columns.join(",")
    ))
}

/// Edges matched by child, columns, parent and referenced columns: zero fraction, fan-out
/// quantiles and timings of each pair.
pub(super) fn edges(
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

/// One fan-out quantile, within the relative threshold or [`FANOUT_SLACK`] child.
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
