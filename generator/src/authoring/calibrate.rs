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
use pgshape_core::pack::{Categories, ColumnMetrics, EdgeMetrics, Pack};
use pgshape_core::spec::{
    Category, ColumnSpec, Lineage, Rows, Spec, TableSpec, TextStyle, Timestamp,
};
use pgshape_core::{Error, Result};

use super::shapes::{
    children_per_parent, fanout_with_mean, length_of, offset_of, popularity_of, zero_fraction_for,
};
use super::untruncate::{parent_room, untruncate};

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

/// Fits `spec` to `pack`; returns the calibrated spec and notes of what changed.
pub fn calibrate(spec: &Spec, pack: &Pack, pack_sha256: &str) -> Result<(Spec, Vec<String>)> {
    let mut out = spec.clone();
    let mut notes = Vec::new();
    let names: Vec<String> = out.tables.keys().cloned().collect();
    for tname in &names {
        let t = out.tables.get_mut(tname).expect("listed");
        let edge = grouping_edge(pack, tname, t);
        if let Some(edge) = edge {
            fit_fanout(pack, tname, t, edge, &mut notes);
            fit_offsets(spec, tname, t, edge, &mut notes);
        }
        let Some(tm) = pack
            .tables
            .iter()
            .find(|(k, _)| unqualified(k) == tname)
            .map(|(_, v)| v)
        else {
            continue;
        };
        for (cname, c) in t.columns.iter_mut() {
            if let Some(cm) = tm.columns.get(cname) {
                let at = Here { pack, tname, cname };
                fit_column(&at, c, cm, &mut notes);
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

/// The edge of a per-parent table: same child, parent and grouping columns.
fn grouping_edge<'p>(pack: &'p Pack, tname: &str, t: &TableSpec) -> Option<&'p EdgeMetrics> {
    let Rows::PerParent(pp) = &t.rows else {
        return None;
    };
    let cols: Vec<String> = t
        .columns
        .iter()
        .filter(|(_, c)| c.parent.is_some())
        .map(|(n, _)| n.clone())
        .collect();
    pack.edges.iter().find(|e| {
        unqualified(&e.child) == tname && unqualified(&e.parent) == pp.parent && e.columns == cols
    })
}

/// Fan-out of a per-parent table from its grouping edge.
fn fit_fanout(
    pack: &Pack,
    tname: &str,
    t: &mut TableSpec,
    edge: &EdgeMetrics,
    notes: &mut Vec<String>,
) {
    let Rows::PerParent(pp) = &mut t.rows else {
        return;
    };
    let mean = children_per_parent(pack, edge);
    match fanout_with_mean(edge, mean) {
        Some(d) => {
            pp.zero_fraction = zero_fraction_for(edge, &d, mean);
            pp.fanout = d;
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

/// Offsets after the parent's time, for the column and parent column the edge measured.
fn fit_offsets(
    spec: &Spec,
    tname: &str,
    t: &mut TableSpec,
    edge: &EdgeMetrics,
    notes: &mut Vec<String>,
) {
    let parent = match &t.rows {
        Rows::PerParent(pp) => pp.parent.clone(),
        Rows::Band => String::new(),
    };
    let Some(offsets) = &edge.offset_seconds else {
        return;
    };
    for (cname, c) in t.columns.iter_mut() {
        let Some(ts) = &mut c.timestamp else {
            continue;
        };
        let Some(after) = ts.after.as_deref().and_then(|a| a.strip_prefix("parent.")) else {
            continue;
        };
        if edge.child_column.as_deref() != Some(cname.as_str())
            || edge.parent_column.as_deref() != Some(after)
        {
            continue;
        }
        let Some(d) = offset_of(offsets) else {
            notes.push(format!(
                "{tname}.{cname}: the pack's offsets for {} are suppressed; kept the spec's",
                edge.foreign_key
            ));
            continue;
        };
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
}

/// Where a column is calibrated: the pack, and the table and column names.
struct Here<'a> {
    pack: &'a Pack,
    tname: &'a str,
    cname: &'a str,
}

impl Here<'_> {
    /// The pack's edge of the single-column foreign key from this column to `target`.
    fn edge_to(&self, target: &str) -> Option<&EdgeMetrics> {
        self.pack.edges.iter().find(|e| {
            unqualified(&e.child) == self.tname
                && unqualified(&e.parent) == target
                && e.columns == [self.cname.to_string()]
        })
    }
}

/// One column's parameters from its metrics: popularity, tree, profiles, lengths, category
/// weights and null fraction.
fn fit_column(at: &Here<'_>, c: &mut ColumnSpec, cm: &ColumnMetrics, notes: &mut Vec<String>) {
    let Here { pack, tname, cname } = *at;
    if let Some(r) = &mut c.reference {
        if let Some(p) = at.edge_to(&r.table).and_then(|e| popularity_of(pack, e)) {
            r.popularity = Some(p);
            notes.push(format!("{tname}.{cname}: popularity of {}", r.table));
        }
    }
    if let Some(e) = &mut c.earlier {
        // A self-reference: the tree's children per row from the table's own edge.
        if let Some(p) = at.edge_to(tname).and_then(|e| popularity_of(pack, e)) {
            e.tree = Some(p);
            notes.push(format!("{tname}.{cname}: tree of children per row"));
        }
    }
    if let Some(ts) = &mut c.timestamp {
        fit_profiles(ts, cm, &format!("{tname}.{cname}"), notes);
    }
    if let (Some(text), Some(shape)) = (&mut c.text, &cm.length) {
        if text.style == TextStyle::Words {
            if let Some(d) = length_of(shape) {
                text.length = d;
                notes.push(format!("{tname}.{cname}: length distribution"));
            }
        }
    }
    if let (Some(cat), Some(counts)) = (&mut c.category, &cm.categories) {
        fit_category(cat, counts, &format!("{tname}.{cname}"), notes);
    }
    let keyish = c.sequence.is_some() || c.parent.is_some();
    if !keyish && (cm.null_fraction > 0.0 || c.null_fraction > 0.0) {
        c.null_fraction = cm.null_fraction;
    }
}

/// Hourly and weekday profiles of a timestamp column from the pack's arrival profiles.
fn fit_profiles(ts: &mut Timestamp, cm: &ColumnMetrics, at: &str, notes: &mut Vec<String>) {
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
            notes.push(format!("{at}: hourly profile"));
        }
    }
    if ts.weekly.is_some() {
        if let Some(w) = weights(&cm.weekday) {
            ts.weekly = Some(w);
        }
    }
}

/// Category weights: enum labels by label; tokens by rank on the spec's synthetic labels. A
/// pack whose counts are all 0 (every category below its noise under differential privacy)
/// says nothing of the weights: the spec's are kept.
fn fit_category(cat: &mut Category, counts: &Categories, at: &str, notes: &mut Vec<String>) {
    if counts.counts.values().all(|&n| n == 0) {
        notes.push(format!(
            "{at}: every category count of the pack is 0: the spec's weights are kept"
        ));
    } else if counts.labels {
        // Enum labels: the production weights, by label.
        cat.weights = counts
            .counts
            .iter()
            .map(|(l, n)| (l.clone(), *n as f64))
            .collect();
        notes.push(format!("{at}: category weights by label"));
    } else if counts.counts.len() == cat.weights.len() && counts.suppressed_categories == 0 {
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
        notes.push(format!("{at}: category frequencies by rank"));
    }
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
