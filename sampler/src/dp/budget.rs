//! The ε of one pack, split across figure families, and the accountant that adds up what each
//! release spends (sequential composition: the ε of releases on the same data add up; bins of
//! one histogram are one release whose sensitivity covers all of them).
//!
//! The default split is [`DEFAULT_SHARES`]; a policy file can override it with a
//! [`SplitOverride`] (`{"profiles": 0.3, "categories": 0}`): the shares it names replace the
//! defaults, then all shares are scaled to sum to 1. A share of 0 releases nothing of that
//! family.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::histogram::{self, NoisyHistogram};
use super::mechanism::{self, Release};
use super::threshold::{self, Selection};
use super::DpError;

/// The families of figures a pack holds, each with its share of ε.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Per-table row counts, total and in the window.
    Counts,
    /// Per-column null fractions.
    NullFractions,
    /// Per-column distinct ratios.
    DistinctRatios,
    /// Numeric quantiles and histograms.
    Numbers,
    /// Hourly, weekday and daily profiles of timestamps.
    Profiles,
    /// Text-length histograms and quantiles.
    Lengths,
    /// Category frequencies.
    Categories,
    /// Children per parent of each foreign key.
    Fanout,
    /// Child-minus-parent offsets and inter-arrival times.
    Timings,
}

impl Family {
    /// The name used in the pack and the policy file.
    pub fn name(self) -> &'static str {
        match self {
            Family::Counts => "counts",
            Family::NullFractions => "null_fractions",
            Family::DistinctRatios => "distinct_ratios",
            Family::Numbers => "numbers",
            Family::Profiles => "profiles",
            Family::Lengths => "lengths",
            Family::Categories => "categories",
            Family::Fanout => "fanout",
            Family::Timings => "timings",
        }
    }
}

/// The default split of a pack's ε: the table sizes (what a performance test is about) and
/// the shapes the generator fits hardest (profiles, fan-out, numbers) get the most.
pub const DEFAULT_SHARES: [(Family, f64); 9] = [
    (Family::Counts, 0.15),
    (Family::NullFractions, 0.05),
    (Family::DistinctRatios, 0.05),
    (Family::Numbers, 0.15),
    (Family::Profiles, 0.15),
    (Family::Lengths, 0.10),
    (Family::Categories, 0.10),
    (Family::Fanout, 0.15),
    (Family::Timings, 0.10),
];

/// Shares to replace in the default split (what a policy file carries); unknown families are
/// rejected by serde.
pub type SplitOverride = BTreeMap<Family, f64>;

/// Each family's share of ε, summing to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Split(BTreeMap<Family, f64>);

impl Default for Split {
    fn default() -> Split {
        Split(DEFAULT_SHARES.into_iter().collect())
    }
}

impl Split {
    /// The default split with `over`'s shares in place of the defaults, scaled to sum to 1.
    pub fn with(over: &SplitOverride) -> Result<Split, DpError> {
        let mut shares = Split::default().0;
        for (&family, &share) in over {
            if !(share.is_finite() && share >= 0.0) {
                return Err(DpError::Parameter(format!(
                    "the share of {} must be a finite number >= 0, got {share}",
                    family.name()
                )));
            }
            shares.insert(family, share);
        }
        let sum: f64 = shares.values().sum();
        if sum <= 0.0 {
            return Err(DpError::Parameter("every family's share is 0".into()));
        }
        shares.values_mut().for_each(|s| *s /= sum);
        Ok(Split(shares))
    }

    /// A family's share.
    pub fn share(&self, family: Family) -> f64 {
        self.0.get(&family).copied().unwrap_or(0.0)
    }

    /// ε per family for a pack's `epsilon`, by family name (what the pack records).
    pub fn epsilons(&self, epsilon: f64) -> BTreeMap<String, f64> {
        self.0
            .iter()
            .map(|(f, s)| (f.name().to_string(), s * epsilon))
            .collect()
    }
}

/// Relative slack allowed when ε shares are summed back (floating-point rounding only).
const SLACK: f64 = 1e-9;

/// Adds up the ε each release spends, per family, and refuses a release past its family's
/// allotment.
#[derive(Debug, Clone)]
pub struct Accountant {
    total: f64,
    allotted: BTreeMap<Family, f64>,
    spent: BTreeMap<Family, f64>,
}

impl Accountant {
    /// A budget of `total` ε split by `split`.
    pub fn new(total: f64, split: &Split) -> Result<Accountant, DpError> {
        mechanism::check(total, 1)?;
        Ok(Accountant {
            total,
            allotted: split.0.iter().map(|(&f, &s)| (f, s * total)).collect(),
            spent: BTreeMap::new(),
        })
    }

    /// The pack's ε.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// A family's allotment.
    pub fn allotted(&self, family: Family) -> f64 {
        self.allotted.get(&family).copied().unwrap_or(0.0)
    }

    /// What a family has spent so far.
    pub fn spent_by(&self, family: Family) -> f64 {
        self.spent.get(&family).copied().unwrap_or(0.0)
    }

    /// What every release has spent so far (sequential composition: the sum).
    pub fn spent(&self) -> f64 {
        self.spent.values().sum()
    }

    /// An equal part of what is left of a family's allotment for each of `n` releases
    /// (rounded down, so that `n` of them never exceed it).
    pub fn per_release(&self, family: Family, n: usize) -> f64 {
        let left = (self.allotted(family) - self.spent_by(family)).max(0.0);
        (left / n.max(1) as f64).next_down().max(0.0)
    }

    /// Records `epsilon` spent by `family`; refused past its allotment.
    pub fn charge(&mut self, family: Family, epsilon: f64) -> Result<(), DpError> {
        let (spent, allotted) = (self.spent_by(family), self.allotted(family));
        if spent + epsilon > allotted * (1.0 + SLACK) {
            return Err(DpError::Exhausted {
                family: family.name().into(),
                spent,
                allotted,
                asked: epsilon,
            });
        }
        self.spent.insert(family, spent + epsilon);
        Ok(())
    }

    fn precheck(&self, family: Family, epsilon: f64) -> Result<(), DpError> {
        let (spent, allotted) = (self.spent_by(family), self.allotted(family));
        if spent + epsilon > allotted * (1.0 + SLACK) {
            return Err(DpError::Exhausted {
                family: family.name().into(),
                spent,
                allotted,
                asked: epsilon,
            });
        }
        Ok(())
    }

    /// Noisy counts charged to `family` (what OpenDP's map says they spent).
    pub fn counts(
        &mut self,
        family: Family,
        counts: &[i64],
        sensitivity: u64,
        epsilon: f64,
    ) -> Result<Release, DpError> {
        self.precheck(family, epsilon)?;
        let r = mechanism::noisy_counts(counts, sensitivity, epsilon)?;
        self.charge(family, r.epsilon)?;
        Ok(r)
    }

    /// A noisy histogram charged to `family`.
    pub fn histogram(
        &mut self,
        family: Family,
        counts: &[u64],
        sensitivity: u64,
        epsilon: f64,
    ) -> Result<NoisyHistogram, DpError> {
        self.precheck(family, epsilon)?;
        let h = histogram::release(counts, sensitivity, epsilon)?;
        self.charge(family, h.epsilon)?;
        Ok(h)
    }

    /// The keys of `votes` kept by the threshold mechanism, its ε charged to `family` (its δ
    /// is at most the `delta` asked, which the pack records: see [`super::noise::Noiser`]).
    pub fn threshold(
        &mut self,
        family: Family,
        votes: &[u64],
        max_keys: u32,
        epsilon: f64,
        delta: f64,
        floor: u64,
    ) -> Result<Selection, DpError> {
        self.precheck(family, epsilon)?;
        let s = threshold::select(votes, max_keys, epsilon, delta, floor)?;
        self.charge(family, s.epsilon)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_split_covers_every_family_and_sums_to_one() {
        let s = Split::default();
        assert_eq!(s.0.len(), 9);
        assert!((s.0.values().sum::<f64>() - 1.0).abs() < 1e-12);
        let e = s.epsilons(2.0);
        assert!((e["profiles"] - 0.3).abs() < 1e-12);
        assert!((e.values().sum::<f64>() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn an_override_replaces_shares_and_is_scaled_to_one() {
        let over: SplitOverride =
            serde_json::from_str(r#"{"profiles": 0.6, "categories": 0}"#).unwrap();
        let s = Split::with(&over).unwrap();
        // 0.6 + (1 - 0.15 - 0.1) = 1.35 before scaling.
        assert!((s.share(Family::Profiles) - 0.6 / 1.35).abs() < 1e-12);
        assert_eq!(s.share(Family::Categories), 0.0);
        assert!((s.0.values().sum::<f64>() - 1.0).abs() < 1e-12);
        let e = serde_json::from_str::<SplitOverride>(r#"{"colours": 1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `colours`"), "{e}");
        let neg: SplitOverride = [(Family::Counts, -0.1)].into_iter().collect();
        assert!(Split::with(&neg)
            .unwrap_err()
            .to_string()
            .contains("counts"));
        let zero: SplitOverride = DEFAULT_SHARES.iter().map(|&(f, _)| (f, 0.0)).collect();
        assert!(Split::with(&zero).is_err());
    }

    #[test]
    fn releases_add_up_to_at_most_the_pack_epsilon_and_past_it_are_refused() {
        let mut acc = Accountant::new(1.0, &Split::default()).unwrap();
        let mut sum = 0.0;
        for &(family, _) in &DEFAULT_SHARES {
            let n = 7;
            let eps = acc.per_release(family, n);
            for _ in 0..n {
                sum += acc.counts(family, &[10, 20], 1, eps).unwrap().epsilon;
            }
            assert!(acc.spent_by(family) <= acc.allotted(family) * (1.0 + SLACK));
        }
        assert!(
            (acc.spent() - sum).abs() < 1e-12,
            "{} vs {sum}",
            acc.spent()
        );
        assert!(
            acc.spent() <= 1.0 + 1e-9 && acc.spent() > 0.99,
            "{}",
            acc.spent()
        );
        // The budget is spent: any further release of any family is refused, and nothing
        // is charged for it.
        let before = acc.spent();
        let e = acc
            .histogram(Family::Profiles, &[1; 24], 1, 0.01)
            .unwrap_err();
        assert!(matches!(e, DpError::Exhausted { .. }), "{e}");
        assert!(e.to_string().contains("profiles"), "{e}");
        assert_eq!(acc.spent(), before);
    }

    #[test]
    fn a_release_over_its_familys_share_is_refused_whatever_is_left_elsewhere() {
        let mut acc = Accountant::new(1.0, &Split::default()).unwrap();
        assert!(acc.counts(Family::Counts, &[5], 1, 0.16).is_err());
        assert!(acc.counts(Family::Counts, &[5], 1, 0.15).is_ok());
        assert!(acc.counts(Family::Counts, &[5], 1, 0.001).is_err());
        assert!(acc.counts(Family::Fanout, &[5], 1, 0.15).is_ok());
        assert!((acc.spent() - 0.3).abs() < 1e-9);
    }
}
