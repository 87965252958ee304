//! Noisy integer counts: OpenDP's discrete Laplace mechanism (exact sampling on integers, no
//! floating-point noise to attack), pure ε-differential privacy.
//!
//! A release of counts whose L1 sensitivity is Δ (how much one privacy unit can change the
//! sum of absolute differences of all the counts, after contribution bounding) adds
//! independent noise with `P(z) ∝ exp(-|z| / b)`, `b = Δ / ε`, to each count. The ε spent is
//! what OpenDP's privacy map says for Δ, never our own arithmetic: if rounding makes the map
//! exceed the ε asked, the scale is nudged up until it does not.

use opendp::domains::{AtomDomain, VectorDomain};
use opendp::measurements::make_laplace;
use opendp::measures::MaxDivergence;
use opendp::metrics::L1Distance;

use super::DpError;

/// The name the pack records for this mechanism.
pub const MECHANISM: &str = "discrete_laplace";

/// Noisy values and what they cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// One noisy value per input value, in order (may be negative: see `histogram`).
    pub values: Vec<i64>,
    /// ε spent, from OpenDP's privacy map (≤ the ε asked).
    pub epsilon: f64,
    /// The discrete Laplace scale `b` used.
    pub scale: f64,
}

/// Checks ε and the sensitivity before anything is released.
pub fn check(epsilon: f64, sensitivity: u64) -> Result<(), DpError> {
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(DpError::Parameter(format!(
            "epsilon must be finite and > 0, got {epsilon}"
        )));
    }
    if sensitivity == 0 || sensitivity > 1 << 40 {
        return Err(DpError::Parameter(format!(
            "sensitivity must be in 1..=2^40, got {sensitivity}"
        )));
    }
    Ok(())
}

fn opendp(e: opendp::error::Error) -> DpError {
    DpError::OpenDp(e.to_string())
}

/// Adds discrete Laplace noise to each count, for a release of L1 sensitivity
/// `sensitivity` at `epsilon`.
pub fn noisy_counts(counts: &[i64], sensitivity: u64, epsilon: f64) -> Result<Release, DpError> {
    check(epsilon, sensitivity)?;
    let d_in = sensitivity as i64;
    let mut scale = sensitivity as f64 / epsilon;
    for _ in 0..8 {
        let meas = make_laplace::<_, _, MaxDivergence>(
            VectorDomain::new(AtomDomain::<i64>::default()),
            L1Distance::<i64>::default(),
            scale,
            None,
        )
        .map_err(opendp)?;
        let spent = meas.map(&d_in).map_err(opendp)?;
        if spent <= epsilon {
            let values = meas.invoke(&counts.to_vec()).map_err(opendp)?;
            return Ok(Release {
                values,
                epsilon: spent,
                scale,
            });
        }
        scale = scale.next_up();
    }
    Err(DpError::Parameter(format!(
        "no scale meets epsilon {epsilon} for sensitivity {sensitivity}"
    )))
}

/// One noisy count.
pub fn noisy_count(count: i64, sensitivity: u64, epsilon: f64) -> Result<(i64, f64), DpError> {
    let r = noisy_counts(&[count], sensitivity, epsilon)?;
    Ok((r.values[0], r.epsilon))
}

/// The variance of discrete Laplace noise of scale `b`: `2α / (1 − α)²`, `α = e^(−1/b)`.
pub fn variance(scale: f64) -> f64 {
    let a = libm::exp(-1.0 / scale);
    2.0 * a / ((1.0 - a) * (1.0 - a))
}

/// The probability that the noise is exactly 0 (the release equals the true value):
/// `(1 − α) / (1 + α)`.
pub fn exact_probability(scale: f64) -> f64 {
    let a = libm::exp(-1.0 / scale);
    (1.0 - a) / (1.0 + a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const N: usize = 20_000;

    #[test]
    fn bad_parameters_are_refused_naming_them() {
        for eps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = noisy_counts(&[1], 1, eps).unwrap_err().to_string();
            assert!(e.contains("epsilon"), "{e}");
        }
        let e = noisy_counts(&[1], 0, 1.0).unwrap_err().to_string();
        assert!(e.contains("sensitivity"), "{e}");
    }

    #[test]
    fn the_epsilon_spent_is_the_maps_and_never_above_the_asked() {
        for (eps, sens) in [(1.0, 1), (0.1, 3), (0.37, 7), (2.0, 24)] {
            let r = noisy_counts(&[5, 6], sens, eps).unwrap();
            assert!(r.epsilon <= eps && r.epsilon > eps * 0.999_999, "{r:?}");
            assert!((r.scale - sens as f64 / eps).abs() / r.scale < 1e-12);
            assert_eq!(r.values.len(), 2);
        }
    }

    #[test]
    fn the_empirical_variance_is_the_mechanisms() {
        // 20,000 draws: the sample variance of Laplace-like noise has a relative standard
        // error of about sqrt(5 / N) = 1.6 %; 8 % is five of them.
        for (eps, sens) in [(1.0, 1), (0.5, 2), (0.1, 1)] {
            let r = noisy_counts(&vec![1_000; N], sens, eps).unwrap();
            let mean = r.values.iter().map(|&v| v as f64).sum::<f64>() / N as f64;
            let var = r
                .values
                .iter()
                .map(|&v| (v as f64 - mean) * (v as f64 - mean))
                .sum::<f64>()
                / (N - 1) as f64;
            let want = variance(r.scale);
            assert!(
                (var / want - 1.0).abs() < 0.08,
                "eps {eps}: {var} vs {want}"
            );
            assert!(
                (mean - 1_000.0).abs() < 5.0 * (want / N as f64).sqrt(),
                "{mean}"
            );
        }
    }

    #[test]
    fn the_exact_value_comes_out_no_more_often_than_the_mechanism_allows() {
        let r = noisy_counts(&vec![1_200; N], 1, 1.0).unwrap();
        let hits = r.values.iter().filter(|&&v| v == 1_200).count() as f64 / N as f64;
        let p = exact_probability(r.scale);
        let se = (p * (1.0 - p) / N as f64).sqrt();
        assert!((hits - p).abs() < 5.0 * se, "{hits} vs {p}");
    }

    fn frequencies(values: &[i64]) -> BTreeMap<i64, f64> {
        let mut f = BTreeMap::new();
        for &v in values {
            *f.entry(v).or_insert(0.0) += 1.0;
        }
        f
    }

    /// The differencing attack: many releases on two inputs one unit apart. Under ε-DP no
    /// output is more than e^ε times likelier under one input than the other; the test
    /// accepts the log ratio of the two frequencies up to ε plus four standard errors.
    fn consistent_with_epsilon(a: &[i64], b: &[i64], epsilon: f64) -> bool {
        let (fa, fb) = (frequencies(a), frequencies(b));
        let outputs: std::collections::BTreeSet<i64> =
            fa.keys().chain(fb.keys()).copied().collect();
        outputs.into_iter().all(|v| {
            let ca = fa.get(&v).copied().unwrap_or(0.0) + 0.5;
            let cb = fb.get(&v).copied().unwrap_or(0.0) + 0.5;
            if ca.max(cb) < 200.0 {
                return true; // too rare to judge
            }
            let se = (1.0 / ca + 1.0 / cb).sqrt();
            libm::log(ca / cb).abs() <= epsilon + 4.0 * se
        })
    }

    #[test]
    fn two_inputs_one_unit_apart_are_indistinguishable_up_to_epsilon_and_not_without_noise() {
        let (x, y) = (vec![1_200; N], vec![1_201; N]);
        let eps = 1.0;
        let a = noisy_counts(&x, 1, eps).unwrap().values;
        let b = noisy_counts(&y, 1, eps).unwrap().values;
        assert!(consistent_with_epsilon(&a, &b, eps));
        // Noise off: the releases are the inputs, and the test sees the unit.
        assert!(!consistent_with_epsilon(&x, &y, eps));
        // Too little noise for the ε claimed (scale for ε = 4, tested against ε = 1).
        let a4 = noisy_counts(&x, 1, 4.0).unwrap().values;
        let b4 = noisy_counts(&y, 1, 4.0).unwrap().values;
        assert!(!consistent_with_epsilon(&a4, &b4, eps));
    }
}
