//! The noise of one extraction: the accountant of the pack's ε, each family's allotment
//! split equally over the releases the extraction plans (one per table, column or edge, see
//! [`Plan`]), and the contribution bounds the sensitivities rest on.
//!
//! With DP off (`--no-dp`) every release returns its input unchanged and nothing is charged:
//! the metrics call the same functions either way.

use std::cell::RefCell;
use std::collections::BTreeMap;

use pgshape_core::pack::{ContributionBounds, DpRecord};

use super::budget::{Accountant, Family, Split};
use super::mechanism::MECHANISM;
use super::DpError;

/// The releases an extraction makes per family (what each family's allotment is split by).
pub type Plan = BTreeMap<Family, usize>;

/// Default rows of one unit a table's figures read (see [`ContributionBounds`]).
pub const DEFAULT_MAX_ROWS_PER_UNIT: u64 = 64;
/// Default children per parent counted in a fan-out histogram.
pub const DEFAULT_MAX_CHILDREN_PER_PARENT: u64 = 1024;
/// Default text length counted (longer values fall in the last bin).
pub const DEFAULT_MAX_LENGTH: u64 = 4_096;

struct State {
    accountant: Accountant,
    per_release: BTreeMap<Family, f64>,
    split: Split,
    bounds: ContributionBounds,
}

/// Noise for the figures of one pack, or none.
pub struct Noiser {
    state: Option<RefCell<State>>,
}

/// One noisy release: the values, and the scale of the noise added (0 when off).
#[derive(Debug, Clone, PartialEq)]
pub struct Noisy {
    pub values: Vec<u64>,
    /// The values before negatives became 0 (unbiased: sum these for a total).
    pub signed: Vec<i64>,
    pub scale: f64,
}

impl Noiser {
    /// No noise (`--no-dp`).
    pub fn off() -> Noiser {
        Noiser { state: None }
    }

    /// Noise at `epsilon` for the pack, split by `split`, each family's share equally over
    /// its planned releases. A family with releases planned and a share of 0 is refused (a
    /// figure left out for want of budget is not implemented yet).
    pub fn new(
        epsilon: f64,
        split: Split,
        plan: &Plan,
        bounds: ContributionBounds,
    ) -> Result<Noiser, DpError> {
        let accountant = Accountant::new(epsilon, &split)?;
        let mut per_release = BTreeMap::new();
        for (&family, &n) in plan.iter().filter(|(_, &n)| n > 0) {
            let e = accountant.per_release(family, n);
            if e <= 0.0 {
                return Err(DpError::Parameter(format!(
                    "the share of {} is 0 but the pack has {n} figure(s) of it: give it a share > 0",
                    family.name()
                )));
            }
            per_release.insert(family, e);
        }
        for (what, b) in [
            ("max_rows_per_unit", bounds.max_rows_per_unit),
            ("max_children_per_parent", bounds.max_children_per_parent),
            ("max_length", bounds.max_length),
        ] {
            if b == 0 || b > 1 << 32 {
                return Err(DpError::Parameter(format!(
                    "{what} must be in 1..=2^32, got {b}"
                )));
            }
        }
        Ok(Noiser {
            state: Some(RefCell::new(State {
                accountant,
                per_release,
                split,
                bounds,
            })),
        })
    }

    /// Whether figures are noised.
    pub fn is_on(&self) -> bool {
        self.state.is_some()
    }

    /// The contribution bounds (none when off: nothing is clipped).
    pub fn bounds(&self) -> Option<ContributionBounds> {
        self.state.as_ref().map(|s| s.borrow().bounds.clone())
    }

    /// Noisy `counts` of `family` (one release of L1 sensitivity `sensitivity`), negative
    /// values set to 0 (post-processing); the input itself when off.
    pub fn release(
        &self,
        family: Family,
        counts: &[u64],
        sensitivity: u64,
    ) -> Result<Noisy, DpError> {
        self.release_part(family, counts, sensitivity, 1.0)
    }

    /// [`Noiser::release`] at `part` (in (0, 1]) of one planned release's ε: a figure made of
    /// several releases (a table's count, see [`crate::volume`]) splits its one planned
    /// release between them, the parts summing to at most 1.
    pub fn release_part(
        &self,
        family: Family,
        counts: &[u64],
        sensitivity: u64,
        part: f64,
    ) -> Result<Noisy, DpError> {
        let Some(state) = &self.state else {
            return Ok(Noisy {
                values: counts.to_vec(),
                signed: counts
                    .iter()
                    .map(|&c| i64::try_from(c).unwrap_or(i64::MAX))
                    .collect(),
                scale: 0.0,
            });
        };
        if !(part > 0.0 && part <= 1.0) {
            return Err(DpError::Parameter(format!(
                "a release's part of its ε must be in (0, 1], got {part}"
            )));
        }
        let mut s = state.borrow_mut();
        let epsilon = s.per_release.get(&family).copied().ok_or_else(|| {
            DpError::Parameter(format!("no release of {} was planned", family.name()))
        })?;
        let h = s
            .accountant
            .histogram(family, counts, sensitivity, epsilon * part)?;
        Ok(Noisy {
            values: h.counts,
            signed: h.signed,
            scale: h.scale,
        })
    }

    /// ε spent so far (the sum of every release's, OpenDP's maps).
    pub fn spent(&self) -> f64 {
        self.state
            .as_ref()
            .map_or(0.0, |s| s.borrow().accountant.spent())
    }

    /// What the pack records: the mechanism, ε (the total asked; what was spent is at most
    /// that), δ = 0, ε per family and the bounds. `None` when off.
    pub fn record(&self) -> Option<DpRecord> {
        let s = self.state.as_ref()?.borrow();
        let epsilon = s.accountant.total();
        Some(DpRecord {
            mechanism: MECHANISM.into(),
            epsilon,
            delta: 0.0,
            split: s.split.epsilons(epsilon),
            bounds: s.bounds.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> ContributionBounds {
        ContributionBounds {
            max_rows_per_unit: 8,
            max_children_per_parent: 16,
            max_length: 64,
            table_max_rows_per_unit: Default::default(),
        }
    }

    #[test]
    fn off_is_the_identity_and_on_spends_at_most_the_plan() {
        let off = Noiser::off();
        assert_eq!(
            off.release(Family::Counts, &[3, 4], 1).unwrap().values,
            [3, 4]
        );
        assert!(off.record().is_none());
        let plan: Plan = [(Family::Counts, 2), (Family::Profiles, 1)].into();
        let on = Noiser::new(1.0, Split::default(), &plan, bounds()).unwrap();
        for _ in 0..2 {
            let r = on.release(Family::Counts, &[1000, 0, 5], 8).unwrap();
            assert_eq!(r.values.len(), 3);
            assert!(r.scale > 8.0 / 0.15 * 1.5, "{r:?}");
        }
        // A third release of counts was not planned: its budget is spent.
        let e = on.release(Family::Counts, &[1], 1).unwrap_err().to_string();
        assert!(e.contains("counts"), "{e}");
        let e = on
            .release(Family::Numbers, &[1], 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no release of numbers"), "{e}");
        on.release(Family::Profiles, &[1; 24], 8).unwrap();
        assert!(on.spent() <= 0.3 + 1e-9, "{}", on.spent());
        let rec = on.record().unwrap();
        assert_eq!(rec.epsilon, 1.0);
        assert_eq!(rec.split.len(), 9);
    }

    #[test]
    fn a_zero_share_with_figures_planned_and_bad_bounds_are_refused() {
        let plan: Plan = [(Family::Categories, 1)].into();
        let split = Split::with(&[(Family::Categories, 0.0)].into()).unwrap();
        let e = Noiser::new(1.0, split, &plan, bounds()).err().unwrap();
        assert!(e.to_string().contains("share of categories is 0"), "{e}");
        let mut b = bounds();
        b.max_rows_per_unit = 0;
        let e = Noiser::new(1.0, Split::default(), &plan, b).err().unwrap();
        assert!(e.to_string().contains("max_rows_per_unit"), "{e}");
    }
}
