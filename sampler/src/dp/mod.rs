//! Differential privacy: the noise mechanisms (OpenDP's exact discrete Laplace), the
//! post-processing that keeps noisy figures usable, and the budget split across figure
//! families.
//!
//! - [`mechanism`]: noisy integer counts, ε checked by OpenDP's own privacy map.
//! - [`histogram`]: a noisy histogram over a fixed bin set; non-negative bins, a total that is
//!   their sum (or rescaled to a released total), a monotone CDF, quantiles read from it.
//! - [`budget`]: the ε of one pack split across figure families (documented default, policy
//!   override) and the accountant that adds up what each release spends.
//!
//! - [`threshold`]: which keys of a data-dependent domain (category labels) appear at all,
//!   by a noisy count of the people behind each key against a threshold ((ε, δ)-DP).
//! - [`noise`]: the noise of one extraction (each family's share split over its planned
//!   releases), which every metric calls; the identity under `--no-dp`.
//! - [`people`]: the k rule under DP, decided on the released counts (never on an exact
//!   count of people).
//!
//! Noise is random (a secure RNG inside OpenDP), never derived from the data or a seed: see
//! `docs/privacy.md`.

pub mod budget;
pub mod histogram;
pub mod mechanism;
pub mod noise;
pub mod people;
pub mod threshold;

/// What can go wrong releasing a figure. Messages carry parameters (ε, sensitivity,
/// family), never a figure's value.
#[derive(Debug, thiserror::Error)]
pub enum DpError {
    /// ε must be finite and positive, a sensitivity positive.
    #[error("invalid privacy parameter: {0}")]
    Parameter(String),
    /// A release would spend more than its family's share of ε.
    #[error(
        "privacy budget of {family} exhausted: {spent} of {allotted} spent, {asked} more asked"
    )]
    Exhausted {
        family: String,
        spent: f64,
        allotted: f64,
        asked: f64,
    },
    /// OpenDP refused or failed (e.g. the system RNG failed).
    #[error("OpenDP: {0}")]
    OpenDp(String),
}

#[cfg(test)]
mod tests {
    use pgshape_core::pack::{ContributionBounds, DpRecord};

    use super::budget::Split;
    use super::mechanism::MECHANISM;

    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| {
                out.push(k.clone());
                strings(v, out)
            }),
            serde_json::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            _ => {}
        }
    }

    /// The record the pack will carry passes the PII detectors `validate` runs on every key
    /// and string (a mechanism named after a person must not read as a name).
    #[test]
    fn the_dp_record_of_a_pack_passes_the_detectors_and_reads_back() {
        let record = DpRecord {
            mechanism: MECHANISM.into(),
            epsilon: 1.0,
            delta: 0.0,
            split: Split::default().epsilons(1.0),
            bounds: ContributionBounds {
                max_rows_per_unit: 64,
                max_children_per_parent: 1024,
                max_length: 65_536,
                max_categories_per_unit: Some(4),
                table_max_rows_per_unit: Default::default(),
            },
        };
        assert_eq!(record.bounds.histogram_sensitivity(1), 1);
        assert_eq!(record.bounds.histogram_sensitivity(1_000), 64);
        let json = serde_json::to_value(&record).unwrap();
        let mut all = Vec::new();
        strings(&json, &mut all);
        assert!(all.len() > 15, "{all:?}");
        for s in &all {
            assert!(
                pgshape_core::pii::scan(s).is_empty(),
                "{s} trips a detector"
            );
        }
        let back: DpRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
        let e = serde_json::from_str::<DpRecord>(
            r#"{"mechanism": "x", "epsilon": 1, "delta": 0, "split": {}, "bounds": {"max_children_per_parent": 1, "max_length": 1, "max_rows_per_unit": 1}, "rho": 0}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `rho`"), "{e}");
    }
}
