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
use super::threshold::Selection;
use super::DpError;

/// The releases an extraction makes per family (what each family's allotment is split by).
pub type Plan = BTreeMap<Family, usize>;

/// Default rows of one unit a table's figures read (see [`ContributionBounds`]).
pub const DEFAULT_MAX_ROWS_PER_UNIT: u64 = 64;
/// Default children per parent counted in a fan-out histogram.
pub const DEFAULT_MAX_CHILDREN_PER_PARENT: u64 = 1024;
/// Default text length counted (longer values fall in the last bin).
pub const DEFAULT_MAX_LENGTH: u64 = 4_096;
/// Default labels of one unit counted when selecting a column's labels.
pub const DEFAULT_MAX_CATEGORIES_PER_UNIT: u64 = 1;
/// Default δ of a pack: the chance that any label of one person's alone appears.
pub const DEFAULT_DELTA: f64 = 1e-8;
/// A category column's release: this part of its ε selects the labels, the rest counts
/// their rows.
pub const SELECTION_PART: f64 = 0.5;

struct State {
    accountant: Accountant,
    per_release: BTreeMap<Family, f64>,
    split: Split,
    bounds: ContributionBounds,
    /// δ asked of the pack, and per category release.
    delta: f64,
    delta_per_release: f64,
}

impl State {
    /// The ε of one planned release of `family`.
    fn planned(&self, family: Family) -> Result<f64, DpError> {
        self.per_release.get(&family).copied().ok_or_else(|| {
            DpError::Parameter(format!("no release of {} was planned", family.name()))
        })
    }
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

impl Noisy {
    /// The values with those under `scales` noise scales taken as 0: at that height a value
    /// is likelier the noise of an empty cell than a count (post-processing, free).
    pub fn floored(&self, scales: f64) -> Vec<u64> {
        let floor = scales * self.scale;
        self.values
            .iter()
            .map(|&v| if (v as f64) < floor { 0 } else { v })
            .collect()
    }
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
        delta: f64,
        split: Split,
        plan: &Plan,
        bounds: ContributionBounds,
    ) -> Result<Noiser, DpError> {
        let accountant = Accountant::new(epsilon, &split)?;
        if !(delta > 0.0 && delta < 1e-3) {
            return Err(DpError::Parameter(format!(
                "delta must be in (0, 0.001), got {delta}"
            )));
        }
        let categories = plan.get(&Family::Categories).copied().unwrap_or(0);
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
            (
                "max_categories_per_unit",
                bounds.max_categories_per_unit.unwrap_or(1),
            ),
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
                delta: if categories > 0 { delta } else { 0.0 },
                delta_per_release: delta / categories.max(1) as f64,
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
        let epsilon = s.planned(family)?;
        let h = s
            .accountant
            .histogram(family, counts, sensitivity, epsilon * part)?;
        Ok(Noisy {
            values: h.counts,
            signed: h.signed,
            scale: h.scale,
        })
    }

    /// Which of `votes` (the people behind each label, each person voting for at most
    /// `max_keys` labels) may appear: OpenDP's threshold mechanism at [`SELECTION_PART`] of a
    /// planned release of `family`'s ε and the pack's δ per category release, never below
    /// `floor` (k). `None` when off (the caller applies k to exact counts).
    pub fn select(
        &self,
        family: Family,
        votes: &[u64],
        max_keys: u32,
        floor: u64,
    ) -> Result<Option<Selection>, DpError> {
        let Some(state) = &self.state else {
            return Ok(None);
        };
        let mut s = state.borrow_mut();
        let epsilon = s.planned(family)?;
        let delta = s.delta_per_release;
        s.accountant
            .threshold(
                family,
                votes,
                max_keys,
                epsilon * SELECTION_PART,
                delta,
                floor,
            )
            .map(Some)
    }

    /// ε spent so far (the sum of every release's, OpenDP's maps).
    pub fn spent(&self) -> f64 {
        self.state
            .as_ref()
            .map_or(0.0, |s| s.borrow().accountant.spent())
    }

    /// What the pack records: the mechanism, ε (the total asked; what was spent is at most
    /// that), δ (asked, when the pack has category columns), ε per family and the bounds.
    /// `None` when off.
    pub fn record(&self) -> Option<DpRecord> {
        let s = self.state.as_ref()?.borrow();
        let epsilon = s.accountant.total();
        Some(DpRecord {
            mechanism: MECHANISM.into(),
            epsilon,
            delta: s.delta,
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
            max_categories_per_unit: Some(2),
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
        let on = Noiser::new(1.0, 1e-8, Split::default(), &plan, bounds()).unwrap();
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
        // No category column planned: nothing has a δ.
        assert_eq!(rec.delta, 0.0);
        assert_eq!(rec.split.len(), 9);
    }

    #[test]
    fn label_selection_spends_its_part_and_the_pack_records_its_delta() {
        let plan: Plan = [(Family::Categories, 2)].into();
        let on = Noiser::new(1.0, 1e-8, Split::default(), &plan, bounds()).unwrap();
        let s = on
            .select(Family::Categories, &[0, 1, 50_000], 2, 10)
            .unwrap()
            .unwrap();
        assert_eq!(s.kept[0], None);
        assert!(s.kept[2].is_some() && s.threshold >= 10, "{s:?}");
        // Half of one of the two planned releases of 0.1: 0.025, and δ its half of 1e-8.
        assert!(s.epsilon <= 0.025 && s.epsilon > 0.0249, "{s:?}");
        assert!(s.delta <= 0.5e-8, "{s:?}");
        assert!((on.spent() - s.epsilon).abs() < 1e-12);
        assert_eq!(on.record().unwrap().delta, 1e-8);
        assert_eq!(
            Noiser::off()
                .select(Family::Categories, &[1], 1, 10)
                .unwrap(),
            None
        );
        let e = Noiser::new(1.0, 0.0, Split::default(), &plan, bounds())
            .err()
            .unwrap();
        assert!(e.to_string().contains("delta"), "{e}");
    }

    #[test]
    fn a_zero_share_with_figures_planned_and_bad_bounds_are_refused() {
        let plan: Plan = [(Family::Categories, 1)].into();
        let split = Split::with(&[(Family::Categories, 0.0)].into()).unwrap();
        let e = Noiser::new(1.0, 1e-8, split, &plan, bounds())
            .err()
            .unwrap();
        assert!(e.to_string().contains("share of categories is 0"), "{e}");
        let mut b = bounds();
        b.max_rows_per_unit = 0;
        let e = Noiser::new(1.0, 1e-8, Split::default(), &plan, b)
            .err()
            .unwrap();
        assert!(e.to_string().contains("max_rows_per_unit"), "{e}");
    }
}
