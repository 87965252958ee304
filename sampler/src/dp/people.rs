//! The k rule under differential privacy: which figures leave is decided on the *released*
//! (noisy) counts only, never on an exact count of the people behind them.
//!
//! With `--no-dp` the server counts the distinct people behind every cell and a cell of fewer
//! than k is suppressed. Under DP that exact count would be a figure outside the budget: a
//! person who takes a cell from k − 1 to k people would make it appear, and the difference of
//! two packs would show it. So under DP each cell's people are *inferred* from its noisy
//! count: one person puts at most `per_person` rows (the table's clip; parents, for a
//! fan-out) into one cell, so `noisy rows / per_person` is the fewest people the released
//! figure can rest on. Every k decision — merging bins, suppressing profile cells, coarsening a
//! daily profile, keeping a quantile or a null fraction, keeping an enum label, a table only a
//! band — runs on that figure: post-processing of a release, it costs no ε and reveals
//! nothing the release did not. The rule is conservative (a cell of many people with one row
//! each is counted as `rows / per_person` of them), so a pack under DP keeps fewer small cells
//! than one with `--no-dp`.

/// The fewest people behind a released count of `rows`, when one person has at most
/// `per_person` rows in it.
pub fn behind(rows: u64, per_person: u64) -> u64 {
    rows / per_person.max(1)
}

/// The people at or below and at or above the `q`-quantile of a released distribution of
/// `total` rows (each side `q · total` and `(1 − q) · total` rows, the crossing bin on both).
pub fn sides(total: u64, q: f64, per_person: u64) -> (Option<i64>, Option<i64>) {
    let rows = |share: f64| (share.clamp(0.0, 1.0) * total as f64).floor() as u64;
    let side = |share: f64| Some(behind(rows(share), per_person) as i64);
    (side(q), side(1.0 - q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_inferred_from_the_released_rows_by_the_clip() {
        assert_eq!(behind(639, 64), 9);
        assert_eq!(behind(640, 64), 10);
        assert_eq!(behind(7, 1), 7, "rows as units");
        assert_eq!(behind(7, 0), 7, "a clip of 0 reads as 1");
        // The p99 of 10,000 rows at 8 rows a person: 12 people above it, 1,237 below.
        assert_eq!(sides(10_000, 0.99, 8), (Some(1237), Some(12)));
        assert_eq!(sides(0, 0.5, 8), (Some(0), Some(0)));
    }
}
