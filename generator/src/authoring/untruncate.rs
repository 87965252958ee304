//! The window's cut of child offsets, undone: a child is never later than the window's end,
//! so the generator draws a late parent's children from the offset distribution cut at the
//! parent's room; [`untruncate`] finds the distribution whose cut mixture has the measured
//! quantiles.

use pgshape_core::dist::Dist;
use pgshape_core::spec::Spec;

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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::authoring::shapes::offset_of;
    use pgshape_core::pack::{Numbers, TIMING_QUANTILES};

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
