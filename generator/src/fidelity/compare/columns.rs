//! Column figures: null fraction, arrival profiles (hourly, weekday), category frequencies and
//! binned lengths, each distance held to its threshold plus the sampling noise of the sizes.

use pgshape_core::pack::{Bin, Categories, ColumnMetrics, Shape};

use super::figure::{figure, judge, noise_note, Figure, Target, Thresholds};
use crate::fidelity::distance;

/// Every figure of a column both packs have.
pub(super) fn column(
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
    let missing = |metric: &str, threshold: f64, has_p: bool| {
        let mut f = figure(target, metric);
        f.threshold = Some(threshold);
        f.note = Some(format!(
            "only the {} pack has it (roles: {} / {})",
            if has_p { "production" } else { "synthetic" },
            p.role,
            s.role
        ));
        f
    };
    for (metric, pp, sp) in [
        ("hourly", &p.hourly, &s.hourly),
        ("weekday", &p.weekday, &s.weekday),
    ] {
        match (pp, sp) {
            (Some(a), Some(b)) => out.push(profile(target, metric, a, b, t)),
            (None, None) => {}
            (a, _) => out.push(missing(metric, t.max_tvd, a.is_some())),
        }
    }
    if let (Some(a), Some(b)) = (&p.categories, &s.categories) {
        out.push(categories(target, a, b, t));
    }
    match (&p.length, &s.length) {
        (Some(a), Some(b)) => out.push(length(target, a, b, t)),
        (None, None) => {}
        (a, _) => out.push(missing("length", t.max_ks, a.is_some())),
    }
}

/// An arrival profile's total-variation distance.
fn profile(
    target: Target<'_>,
    metric: &str,
    a: &[Option<u64>],
    b: &[Option<u64>],
    t: Thresholds,
) -> Figure {
    let mut f = figure(target, metric);
    let rows = |c: &[Option<u64>]| c.iter().map(|x| x.unwrap_or(0)).sum::<u64>() as f64;
    let noise = distance::shares(a).map_or(0.0, |p| distance::tvd_noise(&p, rows(a), rows(b)));
    f.note = Some(noise_note(t.max_tvd, noise, rows(a), rows(b)));
    judge(f, distance::tvd(a, b), t.max_tvd + noise)
}

/// Category frequencies' total-variation distance, by label or by rank.
fn categories(target: Target<'_>, a: &Categories, b: &Categories, t: Thresholds) -> Figure {
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
    let total = |c: &Categories| (c.counts.values().sum::<u64>() + c.suppressed_rows) as f64;
    let noise = shares
        .as_ref()
        .map_or(0.0, |(_, x, _)| distance::tvd_noise(x, total(a), total(b)));
    if let Some(n) = f.note.as_mut() {
        n.push_str("; ");
        n.push_str(&noise_note(t.max_tvd, noise, total(a), total(b)));
    }
    judge(f, value, t.max_tvd + noise)
}

/// The Kolmogorov–Smirnov distance of the binned length histograms.
fn length(target: Target<'_>, a: &Shape, b: &Shape, t: Thresholds) -> Figure {
    let mut f = figure(target, "length");
    f.production = a.quantiles.get("p50").copied().flatten();
    f.synthetic = b.quantiles.get("p50").copied().flatten();
    let rows = |h: &[Bin]| h.iter().map(|b| b.count).sum::<u64>() as f64;
    let noise = distance::ks_noise(rows(&a.histogram), rows(&b.histogram));
    f.note = Some(format!(
        "KS of binned lengths; values are the p50 lengths; {}",
        noise_note(t.max_ks, noise, rows(&a.histogram), rows(&b.histogram))
    ));
    judge(
        f,
        distance::ks_binned(&a.histogram, &b.histogram),
        t.max_ks + noise,
    )
}
