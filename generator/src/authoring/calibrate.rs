//! Calibration: a spec's parameters fitted to a metrics pack.
//!
//! - Fan-out of a per-parent table ← the pack's edge for the same child, parent and columns:
//!   its quantiles become the quantile function's points and its zero-child fraction the
//!   spec's.
//! - Hourly and weekday profiles of timestamp columns ← the pack's arrival profiles.
//! - Offsets of a per-parent table's `timestamp {after: "parent.X"}` ← the same edge's
//!   child-minus-parent offsets, when the pack measured them on this column and `X`: its
//!   quantiles become the quantile function's points (negative offsets, children before
//!   their parent, cannot be generated after it: they count as 0). Inter-arrival times are
//!   not a spec parameter: an ascending column draws a group's times as order statistics of
//!   the offset distribution, so its gaps follow from the offsets and the group size.
//! - A reference's popularity, and the tree of a self-reference (`earlier.tree`) ← the
//!   edge of that foreign key: its fan-out (tail set to the mean) and zero fraction.
//! - Null fractions ← the pack's, for columns whose generator is not a key.
//! - Bands: each root parent's count is re-derived from its child's target and the calibrated
//!   mean fan-out (so fan-outs need no scaling and keep the pack's quantiles), and the other
//!   root tables keep production's proportions to it.
//!
//! Tables match by name (the pack's `schema.table` without its schema). What was calibrated
//! is returned as notes; what the pack does not cover keeps the spec's values.

use chrono::{DateTime, Utc};
use pgshape_core::dist::Dist;
use pgshape_core::pack::{
    EdgeMetrics, Numbers, Pack, EDGE_QUANTILES, LENGTH_QUANTILES, TIMING_QUANTILES,
};
use pgshape_core::spec::{Lineage, Rows, Spec};
use pgshape_core::{Error, Result};

fn unqualified(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(_, t)| t)
}

/// Checks that the pack has not expired (`now` injectable for tests).
pub fn check_expiry(pack: &Pack, now: DateTime<Utc>) -> std::result::Result<(), String> {
    let expires =
        DateTime::parse_from_rfc3339(&pack.expires_at).map_err(|e| format!("expires_at: {e}"))?;
    if now > expires {
        return Err(format!("the pack expired at {} (packs are kept 90 days); extract a fresh one or pass --allow-expired", pack.expires_at));
    }
    Ok(())
}

/// The fan-out quantile function of an edge, or `None` when the pack suppressed too much.
pub fn fanout_of(edge: &EdgeMetrics) -> Option<Dist> {
    let lowest = edge
        .histogram
        .iter()
        .find(|b| b.lo > 0)
        .map_or(1.0, |b| b.lo as f64);
    let mut points = known_points(lowest, &edge.quantiles, EDGE_QUANTILES)?;
    // Beyond the last exported quantile, the histogram's open bin (at least k parents with
    // `lo` children or more) pins the quantile function at 1 - its share; the maximum is
    // never exported, so the tail ends at 4x that (a power-law guess, documented).
    let with_children = edge.parents as f64 * (1.0 - edge.zero_fraction);
    if let Some(open) = edge
        .histogram
        .last()
        .filter(|b| b.lo > 0 && with_children > 0.0)
    {
        let p = 1.0 - open.count as f64 / with_children;
        let (lp, lv) = {
            let l = points.last().expect("non-empty");
            (l[0], l[1])
        };
        if p > lp && p < 1.0 && open.lo as f64 >= lv {
            points.push([p, open.lo as f64]);
        }
    }
    let last = points.last().expect("non-empty")[1];
    points.push([1.0, last * 4.0]);
    let d = Dist::Quantiles(points);
    d.validate().ok().map(|_| d)
}

/// [`fanout_of`] whose tail (the last point, which no pack exports) is set so the mean is
/// `mean` children per parent with children — the pack's child rows over its parents with
/// children — rather than guessed: a guessed tail makes the child table too small or too
/// large next to its parent. The tail never drops below the last exported point.
pub fn fanout_with_mean(edge: &EdgeMetrics, mean: Option<f64>) -> Option<Dist> {
    let d = fanout_of(edge)?;
    let (Some(target), Dist::Quantiles(points)) = (mean, &d) else {
        return Some(d);
    };
    Some(tail_for_mean(points, target))
}

/// [`fanout_with_mean`], or when the pack suppressed every quantile of the edge (fewer than
/// k parents beyond each), a fan-out from what is left: from the lowest non-empty bin's count
/// (1 when the histogram starts at 0) to a top set for the mean. For references, whose
/// zero fraction and mean are what a comparison can hold them to then.
pub fn fanout_or_mean(edge: &EdgeMetrics, mean: Option<f64>) -> Option<Dist> {
    if let Some(d) = fanout_with_mean(edge, mean) {
        return Some(d);
    }
    let target = mean.filter(|m| m.is_finite() && *m > 0.0)?;
    let lowest = edge
        .histogram
        .iter()
        .find(|b| b.lo > 0)
        .map_or(1.0, |b| b.lo as f64);
    let d = tail_for_mean(&[[0.0, lowest], [1.0, lowest]], target);
    d.validate().ok().map(|_| d)
}

/// Quantile points whose last value is set so the mean is `target` (never below the point
/// before it).
fn tail_for_mean(points: &[[f64; 2]], target: f64) -> Dist {
    let n = points.len();
    let below = points[n - 2][1];
    let with_top = |top: f64| {
        let mut p = points.to_vec();
        p[n - 1][1] = top;
        Dist::Quantiles(p)
    };
    if !target.is_finite() || with_top(below).mean() >= target {
        return with_top(below);
    }
    let (mut lo, mut hi) = (below, below.max(1.0) * 1e4);
    if with_top(hi).mean() < target {
        return with_top(hi);
    }
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        if with_top(mid).mean() < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    with_top(hi.round().max(below))
}

/// Children per parent with children, from the pack: the child table's rows whose key is set,
/// over the edge's parents that have children.
pub fn children_per_parent(pack: &pgshape_core::pack::Pack, edge: &EdgeMetrics) -> Option<f64> {
    let child = pack.tables.get(&edge.child)?;
    let set = edge
        .columns
        .iter()
        .filter_map(|c| child.columns.get(c))
        .map(|c| 1.0 - c.null_fraction)
        .fold(1.0, f64::min);
    let with_children = edge.parents as f64 * (1.0 - edge.zero_fraction);
    (with_children > 0.0).then(|| child.total_rows as f64 * set / with_children)
}

/// A reference's popularity from the pack's edge of that foreign key: its fan-out (tail set
/// to the pack's mean; from the mean alone when every quantile is suppressed) and zero
/// fraction.
pub fn popularity_of(
    pack: &pgshape_core::pack::Pack,
    edge: &EdgeMetrics,
) -> Option<pgshape_core::spec::Popularity> {
    Some(pgshape_core::spec::Popularity {
        fanout: fanout_or_mean(edge, children_per_parent(pack, edge))?,
        zero_fraction: edge.zero_fraction.min(0.999),
    })
}

/// A length distribution's quantile function from the pack's shape (values may be 0).
///
/// Lengths are integers and generators round `Q(u)`, so the histogram's closed bins are kept
/// exactly: a bin `[lo, hi]` ending at cumulative share `F` puts the point `(F, hi + 0.5)`,
/// the rounding boundary between `hi` and `hi + 1`. Without it, the line between two
/// quantiles (p10 = 7, p50 = 8, say) spreads a length that holds 45 % of the rows over a third
/// of that.
pub fn length_of(shape: &pgshape_core::pack::Shape) -> Option<Dist> {
    let first = shape.histogram.first().map_or(0.0, |b| b.lo as f64);
    let mut points = known_points(first, &shape.quantiles, LENGTH_QUANTILES)?;
    let total: u64 = shape.histogram.iter().map(|b| b.count).sum();
    if total > 0 {
        let mut cum = 0;
        for b in &shape.histogram {
            cum += b.count;
            let p = round6(cum as f64 / total as f64);
            if let (Some(hi), true) = (b.hi, p > 0.0 && p < 1.0) {
                points.push([p, hi as f64 + 0.5]);
            }
        }
        points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
        // One point per share (the largest value), values never falling.
        let mut merged: Vec<[f64; 2]> = Vec::with_capacity(points.len());
        for p in points {
            match merged.last_mut() {
                Some(l) if l[0] == p[0] => l[1] = l[1].max(p[1]),
                Some(l) => {
                    let v = p[1].max(l[1]);
                    merged.push([p[0], v]);
                }
                None => merged.push(p),
            }
        }
        points = merged;
    }
    let last = points.last().expect("non-empty")[1];
    let open = shape.histogram.last().map_or(last, |b| b.lo as f64);
    points.push([1.0, (last * 2.0).max(open).max(last)]);
    let d = Dist::Quantiles(points);
    d.validate().ok().map(|_| d)
}

/// A child-minus-parent offset's quantile function (seconds) from an edge's offsets, or `None`
/// when the pack suppressed every quantile. Negative values count as 0; below the lowest
/// exported quantile the function starts at 0, and beyond the highest (never the maximum) it
/// ends at twice that.
pub fn offset_of(offsets: &Numbers) -> Option<Dist> {
    let mut points = known_points(0.0, &offsets.quantiles, TIMING_QUANTILES)?;
    for p in points.iter_mut() {
        p[1] = p[1].max(0.0);
    }
    let last = points.last().expect("non-empty")[1];
    points.push([1.0, last * 2.0]);
    let d = Dist::Quantiles(points);
    d.validate().ok().map(|_| d)
}

/// Time left before the window's end for the generated parents of a per-parent table, as
/// `(seconds, weight)`, when the parent's column `column` is drawn in the spec's window (no
/// `after`): uniform over the window, so the room is uniform on `[0, days]` (weekday weights
/// left aside). `None` otherwise: a parent time that follows another is not corrected for.
pub fn parent_room(spec: &Spec, parent: &str, column: &str) -> Option<Vec<(f64, f64)>> {
    let ts = spec
        .tables
        .get(parent)?
        .columns
        .get(column)?
        .timestamp
        .as_ref()?;
    if ts.after.is_some() {
        return None;
    }
    let span = spec.window.days as f64 * 86_400.0;
    const STEPS: usize = 240;
    Some(
        (0..STEPS)
            .map(|j| ((j as f64 + 0.5) * span / STEPS as f64, 1.0))
            .collect(),
    )
}

/// Undoes the generator's cut of offsets at the window's end. A child is never later than the
/// window's end, so a child of a parent created `r` seconds before it draws its offset from
/// the offset distribution cut at `r`: fed the measured offsets as they are, the generator
/// would make them shorter (production's own cut is already in the measured figures). Given
/// the measured quantile function `measured` and the generated parents' room `(r, weight)`,
/// finds
/// the distribution F (same values, other probabilities) whose cut mixture
/// `G(v) = Σ w F(min(v, r)) / F(r) / Σ w` has the measured probabilities, by damped fixed-point
/// steps on F's probabilities; returns `measured` unchanged when that does not fit better.
pub fn untruncate(measured: &Dist, room: &[(f64, f64)]) -> Dist {
    let Dist::Quantiles(points) = measured else {
        return measured.clone();
    };
    let n = points.len();
    // Inner points only (p = 0 and p = 1 stay), with distinct values (a flat stretch pins
    // one probability to two targets).
    if n < 3 || points.windows(2).any(|w| w[1][1] <= w[0][1]) {
        return measured.clone();
    }
    let total: f64 = room.iter().map(|(_, w)| w).sum();
    let cut = |f: &Dist, v: f64| -> f64 {
        room.iter()
            .map(|&(r, w)| {
                let fr = if r.is_finite() { f.cdf(r) } else { 1.0 };
                if fr <= 0.0 {
                    0.0
                } else {
                    w * (f.cdf(v.min(r)) / fr).min(1.0)
                }
            })
            .sum::<f64>()
            / total
    };
    let error = |f: &Dist| -> f64 {
        points[1..n - 1]
            .iter()
            .map(|p| (cut(f, p[1]) - p[0]).abs())
            .fold(0.0, f64::max)
    };
    let mut best = (error(measured), measured.clone());
    let mut probs: Vec<f64> = points.iter().map(|p| p[0]).collect();
    for _ in 0..60 {
        let f = Dist::Quantiles(points.iter().zip(&probs).map(|(p, &q)| [q, p[1]]).collect());
        let err = error(&f);
        if err < best.0 {
            best = (err, f.clone());
        }
        if err < 1e-4 {
            break;
        }
        for i in 1..n - 1 {
            let g = cut(&f, points[i][1]);
            probs[i] += 0.7 * (points[i][0] - g);
        }
        // Keep the probabilities rising strictly inside (0, 1).
        for i in 1..n - 1 {
            let room_above = (n - 1 - i) as f64 * 1e-6;
            probs[i] = probs[i].max(probs[i - 1] + 1e-6).min(1.0 - room_above);
        }
    }
    best.1
}

/// `[0, first]` then `[p, value]` for every quantile the pack exported (made non-decreasing),
/// or `None` when it exported none.
fn known_points(
    first: f64,
    quantiles: &std::collections::BTreeMap<String, Option<f64>>,
    names: &[(&str, f64)],
) -> Option<Vec<[f64; 2]>> {
    let mut points = vec![[0.0, first]];
    for (name, p) in names {
        if let Some(Some(v)) = quantiles.get(*name) {
            let last = points.last().expect("starts with p = 0")[1];
            points.push([*p, v.max(last)]);
        }
    }
    (points.len() >= 2).then_some(points)
}

/// Fits `spec` to `pack`; returns the calibrated spec and notes of what changed.
pub fn calibrate(spec: &Spec, pack: &Pack, pack_sha256: &str) -> Result<(Spec, Vec<String>)> {
    let mut out = spec.clone();
    let mut notes = Vec::new();
    let names: Vec<String> = out.tables.keys().cloned().collect();
    for tname in &names {
        let t = out.tables.get_mut(tname).expect("listed");
        // The edge of a per-parent table: same child, parent and grouping columns.
        let edge: Option<&EdgeMetrics> = match &t.rows {
            Rows::PerParent(pp) => {
                let cols: Vec<String> = t
                    .columns
                    .iter()
                    .filter(|(_, c)| c.parent.is_some())
                    .map(|(n, _)| n.clone())
                    .collect();
                pack.edges.iter().find(|e| {
                    unqualified(&e.child) == tname
                        && unqualified(&e.parent) == pp.parent
                        && e.columns == cols
                })
            }
            Rows::Band => None,
        };
        // Fan-out.
        if let Rows::PerParent(pp) = &mut t.rows {
            if let Some(edge) = edge {
                match fanout_with_mean(edge, children_per_parent(pack, edge)) {
                    Some(d) => {
                        pp.fanout = d;
                        pp.zero_fraction = edge.zero_fraction.min(0.999);
                        notes.push(format!(
                            "{tname}: fan-out per {} from {} ({} parents)",
                            pp.parent, edge.foreign_key, edge.parents
                        ));
                    }
                    None => notes.push(format!(
                        "{tname}: the pack's fan-out for {} is suppressed; kept the spec's",
                        edge.foreign_key
                    )),
                }
            }
        }
        // Offsets after the parent's time.
        let parent = match &t.rows {
            Rows::PerParent(pp) => pp.parent.clone(),
            Rows::Band => String::new(),
        };
        if let Some(edge) = edge {
            for (cname, c) in t.columns.iter_mut() {
                let Some(ts) = &mut c.timestamp else {
                    continue;
                };
                let Some(after) = ts.after.as_deref().and_then(|a| a.strip_prefix("parent."))
                else {
                    continue;
                };
                if edge.child_column.as_deref() != Some(cname.as_str())
                    || edge.parent_column.as_deref() != Some(after)
                {
                    continue;
                }
                let Some(offsets) = &edge.offset_seconds else {
                    continue;
                };
                match offset_of(offsets) {
                    Some(d) => {
                        // The generator cuts offsets at the window's end: undo that.
                        let d = match parent_room(spec, &parent, after) {
                            Some(room) => untruncate(&d, &room),
                            None => d,
                        };
                        notes.push(format!(
                            "{tname}.{cname}: offset after parent.{after} from {} (measured median {} s; {:.0} s before the window cuts it)",
                            edge.foreign_key,
                            offsets.quantiles["p50"].map_or("suppressed".into(), |v| v.to_string()),
                            d.quantile(0.5)
                        ));
                        ts.offset_seconds = Some(d);
                    }
                    None => notes.push(format!(
                        "{tname}.{cname}: the pack's offsets for {} are suppressed; kept the spec's",
                        edge.foreign_key
                    )),
                }
            }
        }
        // Columns.
        let Some(tm) = pack
            .tables
            .iter()
            .find(|(k, _)| unqualified(k) == tname)
            .map(|(_, v)| v)
        else {
            continue;
        };
        for (cname, c) in t.columns.iter_mut() {
            let Some(cm) = tm.columns.get(cname) else {
                continue;
            };
            if let Some(r) = &mut c.reference {
                let edge = pack.edges.iter().find(|e| {
                    unqualified(&e.child) == tname
                        && unqualified(&e.parent) == r.table
                        && e.columns == [cname.clone()]
                });
                if let Some(p) = edge.and_then(|e| popularity_of(pack, e)) {
                    r.popularity = Some(p);
                    notes.push(format!("{tname}.{cname}: popularity of {}", r.table));
                }
            }
            if let Some(e) = &mut c.earlier {
                // A self-reference: the tree's children per row from the table's own edge.
                let edge = pack.edges.iter().find(|e| {
                    unqualified(&e.child) == tname
                        && unqualified(&e.parent) == tname
                        && e.columns == [cname.clone()]
                });
                if let Some(p) = edge.and_then(|e| popularity_of(pack, e)) {
                    e.tree = Some(p);
                    notes.push(format!("{tname}.{cname}: tree of children per row"));
                }
            }
            if let Some(ts) = &mut c.timestamp {
                let weights = |cells: &Option<Vec<Option<u64>>>| -> Option<Vec<f64>> {
                    let w: Vec<f64> = cells
                        .as_ref()?
                        .iter()
                        .map(|x| x.unwrap_or(0) as f64)
                        .collect();
                    w.iter().any(|x| *x > 0.0).then_some(w)
                };
                if ts.hourly.is_some() {
                    if let Some(h) = weights(&cm.hourly) {
                        ts.hourly = Some(h);
                        notes.push(format!("{tname}.{cname}: hourly profile"));
                    }
                }
                if ts.weekly.is_some() {
                    if let Some(w) = weights(&cm.weekday) {
                        ts.weekly = Some(w);
                    }
                }
            }
            if let (Some(text), Some(shape)) = (&mut c.text, &cm.length) {
                if text.style == pgshape_core::spec::TextStyle::Words {
                    if let Some(d) = length_of(shape) {
                        text.length = d;
                        notes.push(format!("{tname}.{cname}: length distribution"));
                    }
                }
            }
            if let (Some(cat), Some(counts)) = (&mut c.category, &cm.categories) {
                if counts.labels {
                    // Enum labels: the production weights, by label.
                    cat.weights = counts
                        .counts
                        .iter()
                        .map(|(l, n)| (l.clone(), *n as f64))
                        .collect();
                    notes.push(format!("{tname}.{cname}: category weights by label"));
                } else if counts.counts.len() == cat.weights.len()
                    && counts.suppressed_categories == 0
                {
                    // Tokens: production's frequencies, rank by rank, on the spec's labels.
                    let mut labels: Vec<(String, f64)> =
                        cat.weights.iter().map(|(l, w)| (l.clone(), *w)).collect();
                    labels.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    let mut freq: Vec<u64> = counts.counts.values().copied().collect();
                    freq.sort_unstable_by(|a, b| b.cmp(a));
                    cat.weights = labels
                        .into_iter()
                        .zip(freq)
                        .map(|((l, _), n)| (l, n as f64))
                        .collect();
                    notes.push(format!("{tname}.{cname}: category frequencies by rank"));
                }
            }
            let keyish = c.sequence.is_some() || c.parent.is_some();
            if !keyish && (cm.null_fraction > 0.0 || c.null_fraction > 0.0) {
                c.null_fraction = cm.null_fraction;
            }
        }
    }
    rebalance_bands(&mut out, pack, &mut notes)?;
    out.calibrated_from = Some(Lineage {
        pack_sha256: pack_sha256.into(),
        pack_created_at: pack.created_at.clone(),
    });
    Ok((out, notes))
}

/// Re-derives root parents' counts from their children's targets and the calibrated mean
/// fan-out, and keeps the other root tables in production's proportion to them.
fn rebalance_bands(spec: &mut Spec, pack: &Pack, notes: &mut Vec<String>) -> Result<()> {
    let total = |t: &str| {
        pack.tables
            .iter()
            .find(|(k, _)| unqualified(k) == t)
            .map(|(_, m)| m.total_rows)
    };
    let band_names: Vec<String> = spec.bands.keys().cloned().collect();
    for b in band_names {
        let mut anchor: Option<(String, u64)> = None;
        for (tname, t) in &spec.tables {
            let Rows::PerParent(pp) = &t.rows else {
                continue;
            };
            let band = &spec.bands[&b];
            let (Some(&child_target), true) =
                (band.rows.get(tname), band.rows.contains_key(&pp.parent))
            else {
                continue;
            };
            if !matches!(spec.tables[&pp.parent].rows, Rows::Band) || anchor.is_some() {
                continue;
            }
            let mean = pp.fanout.mean() * (1.0 - pp.zero_fraction);
            if mean <= 0.0 {
                continue;
            }
            let parents = ((child_target as f64 / mean).round() as u64).max(1);
            anchor = Some((pp.parent.clone(), parents));
        }
        let Some((parent, parents)) = anchor else {
            continue;
        };
        let band = spec.bands.get_mut(&b).expect("listed");
        band.rows.insert(parent.clone(), parents);
        let Some(parent_total) = total(&parent).filter(|t| *t > 0) else {
            continue;
        };
        let roots: Vec<String> = band
            .rows
            .keys()
            .filter(|t| **t != parent)
            .cloned()
            .collect();
        for r in roots {
            if !matches!(spec.tables[&r].rows, Rows::Band) {
                continue;
            }
            if let Some(rt) = total(&r) {
                let n = ((parents as f64 * rt as f64 / parent_total as f64).round() as u64).max(1);
                spec.bands.get_mut(&b).expect("listed").rows.insert(r, n);
            }
        }
        notes.push(format!("band {b}: {parent} = {parents} so that fan-outs keep the pack's quantiles; other root tables in production's proportions"));
    }
    spec.check(std::path::Path::new("<calibrated spec>"))
        .map_err(|e| Error::Unsupported(format!("calibration produced an invalid spec: {e}")))
}

/// Rounds a fraction to 6 decimals (readable specs).
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_lengths_keep_the_histograms_closed_bins() {
        // A real model-name column: 49.5 % of lengths in [4, 7] (most are 7), p10 = 7,
        // p50 = 8. Interpolating the quantiles alone rounds only 30 % to 7 or less.
        let q = |v: [Option<f64>; 6]| {
            ["p1", "p10", "p50", "p90", "p95", "p99"]
                .iter()
                .zip(v)
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        };
        let bin = |lo, hi, count| pgshape_core::pack::Bin { lo, hi, count };
        let shape = pgshape_core::pack::Shape {
            quantiles: q([
                Some(5.0),
                Some(7.0),
                Some(8.0),
                Some(11.0),
                Some(11.0),
                Some(15.0),
            ]),
            histogram: vec![
                bin(4, Some(7), 1643),
                bin(8, Some(15), 1650),
                bin(16, None, 24),
            ],
        };
        let d = length_of(&shape).unwrap();
        let n = 100_000;
        let lengths: Vec<f64> = (0..n)
            .map(|i| libm::round(d.quantile((i as f64 + 0.5) / n as f64)))
            .collect();
        let share = |max: f64| lengths.iter().filter(|l| **l <= max).count() as f64 / n as f64;
        assert!(
            (share(7.0) - 1643.0 / 3317.0).abs() < 1e-3,
            "{}",
            share(7.0)
        );
        assert!(
            (share(15.0) - 3293.0 / 3317.0).abs() < 1e-3,
            "{}",
            share(15.0)
        );
        // The quantiles still hold.
        let at = |p: f64| libm::round(d.quantile(p));
        assert_eq!((at(0.1), at(0.5), at(0.9)), (7.0, 8.0, 11.0));
    }

    /// The offsets a generator would produce from `f` for parents with room uniform on
    /// `[0, span]`: each draw cut at its parent's room (a deterministic grid of draws).
    fn cut_offsets(f: &Dist, span: f64) -> Vec<f64> {
        let mut v = Vec::new();
        for j in 0..200 {
            let r = (j as f64 + 0.5) * span / 200.0;
            let fr = f.cdf(r);
            for i in 0..200 {
                let u = (i as f64 + 0.5) / 200.0;
                v.push(f.quantile(u * fr).min(r));
            }
        }
        v.sort_by(f64::total_cmp);
        v
    }

    fn measured(v: &[f64]) -> Numbers {
        Numbers {
            quantiles: TIMING_QUANTILES
                .iter()
                .map(|(name, p)| {
                    let rank = ((p * v.len() as f64).ceil() as usize).max(1);
                    (name.to_string(), Some(v[rank - 1]))
                })
                .collect(),
            histogram: Vec::new(),
        }
    }

    /// Whole-number lengths: p50 3 and p90 4 leave open where 3 ends; the histogram's closed
    /// bin [2, 3] holding 99 of 120 says 82.5 % (interpolating the quantiles alone gave 71 %).
    #[test]
    fn lengths_follow_the_histograms_closed_bins() {
        let bin = |lo, hi, count| pgshape_core::pack::Bin { lo, hi, count };
        let shape = pgshape_core::pack::Shape {
            quantiles: [("p10", 3.0), ("p50", 3.0), ("p90", 4.0)]
                .into_iter()
                .map(|(n, v)| (n.to_string(), Some(v)))
                .collect(),
            histogram: vec![bin(2, Some(3), 99), bin(4, None, 21)],
        };
        let d = length_of(&shape).unwrap();
        const N: usize = 10_000;
        let short = (0..N)
            .filter(|i| libm::round(d.quantile((*i as f64 + 0.5) / N as f64)) <= 3.0)
            .count() as f64
            / N as f64;
        assert!((short - 0.825).abs() < 0.01, "{short}");
    }

    #[test]
    fn offsets_undo_the_windows_cut() {
        // Offsets lognormal, median 10 days; parents up to 60 days before the window's end.
        let day = 86_400.0;
        let truth = Dist::Lognormal {
            median: 10.0 * day,
            sigma: 1.0,
            max: None,
        };
        let span = 60.0 * day;
        let seen = measured(&cut_offsets(&truth, span));
        let plain = offset_of(&seen).unwrap();
        let room: Vec<(f64, f64)> = (0..240)
            .map(|j| ((j as f64 + 0.5) * span / 240.0, 1.0))
            .collect();
        let fixed = untruncate(&plain, &room);
        // Cut again, the corrected distribution gives the measured quantiles back; the
        // uncorrected one falls short.
        let again = measured(&cut_offsets(&fixed, span));
        let naive = measured(&cut_offsets(&plain, span));
        for name in ["p50", "p90"] {
            let want = seen.quantiles[name].unwrap();
            let got = again.quantiles[name].unwrap();
            assert!((got - want).abs() <= 0.03 * want, "{name}: {got} vs {want}");
            let short = naive.quantiles[name].unwrap();
            assert!(short < 0.95 * want, "{name}: uncorrected {short} vs {want}");
        }
        // Negative offsets (children before their parent) count as 0; suppressed: none.
        let mut neg = seen.clone();
        neg.quantiles.insert("p1".into(), Some(-50.0));
        let d = offset_of(&neg).unwrap();
        assert_eq!(d.quantile(0.005), 0.0);
        let none = Numbers {
            quantiles: TIMING_QUANTILES
                .iter()
                .map(|(n, _)| (n.to_string(), None))
                .collect(),
            histogram: Vec::new(),
        };
        assert!(offset_of(&none).is_none());
    }
}
