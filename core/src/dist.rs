//! Distributions a spec can name. Every distribution is sampled by inverse transform from one
//! uniform draw, [`Dist::quantile`]`(u)`, so a fan-out or a length is a monotone function of its
//! draw: scaling, calibration and percentile checks all reason about the same quantile function.

use libm::{exp, log, pow};
use serde::{Deserialize, Serialize};

/// A univariate distribution over non-negative reals (counts, lengths, durations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    /// Always this value.
    Constant(f64),
    /// Uniform on [min, max].
    Uniform { min: f64, max: f64 },
    /// Lognormal with the given median and log-space sigma, optionally capped.
    Lognormal {
        median: f64,
        sigma: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// Pareto (power law) with scale `min` and tail index `alpha`, optionally capped.
    Pareto {
        min: f64,
        alpha: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// An empirical quantile function: `[p, value]` points with p rising from 0 to 1; values are
    /// interpolated log-linearly between positive neighbours (heavy tails), linearly otherwise.
    Quantiles(Vec<[f64; 2]>),
}

impl Dist {
    /// The value at cumulative probability `u` in [0, 1).
    pub fn quantile(&self, u: f64) -> f64 {
        match self {
            Dist::Constant(v) => *v,
            Dist::Uniform { min, max } => min + (max - min) * u,
            Dist::Lognormal { median, sigma, max } => {
                let v = median * exp(sigma * inverse_normal_cdf(u.clamp(1e-12, 1.0 - 1e-12)));
                max.map_or(v, |m| v.min(m))
            }
            Dist::Pareto { min, alpha, max } => {
                let v = min / pow((1.0 - u).max(1e-12), 1.0 / alpha);
                max.map_or(v, |m| v.min(m))
            }
            Dist::Quantiles(points) => interpolate(points, None, u),
        }
    }

    /// The cumulative probability of `x`: the largest u with `quantile(u) <= x`, by bisection
    /// (the quantile function is monotone), to 1e-9.
    pub fn cdf(&self, x: f64) -> f64 {
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        if self.quantile(0.0) > x {
            return 0.0;
        }
        for _ in 0..32 {
            let mid = 0.5 * (lo + hi);
            if self.quantile(mid) <= x {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Checks parameters; `what` names the spec location for the message.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_values(false)
    }

    /// [`Dist::validate`], allowing negative quantile values when `signed` (a number column's
    /// distribution; counts, lengths and offsets are never negative).
    pub fn validate_values(&self, signed: bool) -> Result<(), String> {
        let finite = |x: f64| x.is_finite();
        match self {
            Dist::Constant(v) if !finite(*v) => Err("constant must be finite".into()),
            Dist::Uniform { min, max } if !(finite(*min) && finite(*max) && min <= max) => {
                Err("uniform needs finite min <= max".into())
            }
            Dist::Lognormal { median, sigma, .. } if !(*median > 0.0 && *sigma >= 0.0) => {
                Err("lognormal needs median > 0 and sigma >= 0".into())
            }
            Dist::Pareto { min, alpha, .. } if !(*min > 0.0 && *alpha > 0.0) => {
                Err("pareto needs min > 0 and alpha > 0".into())
            }
            Dist::Quantiles(points) => {
                if points.len() < 2 {
                    return Err("quantiles needs at least two [p, value] points".into());
                }
                if points[0][0] != 0.0 || points[points.len() - 1][0] != 1.0 {
                    return Err("quantiles must start at p = 0 and end at p = 1".into());
                }
                if points
                    .iter()
                    .any(|p| !p[0].is_finite() || !p[1].is_finite() || (p[1] < 0.0 && !signed))
                {
                    return Err(if signed {
                        "quantile points must be finite".into()
                    } else {
                        "quantile points must be finite, with values >= 0".into()
                    });
                }
                for w in points.windows(2) {
                    if w[0][0] >= w[1][0] || w[0][1] > w[1][1] {
                        return Err("quantiles must rise in p and never fall in value".into());
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The mean, by numeric integration of the quantile function (exact enough for scaling
    /// estimates and reports; the generator meets targets by counting, not by this figure).
    pub fn mean(&self) -> f64 {
        const N: usize = 100_000;
        (0..N)
            .map(|i| self.quantile((i as f64 + 0.5) / N as f64))
            .sum::<f64>()
            / N as f64
    }
}

/// A distribution prepared for sampling in a hot loop: for `quantiles`, the logarithms of the
/// points are taken once. Values are bit-for-bit those of [`Dist::quantile`].
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    dist: Dist,
    logs: Vec<f64>,
    /// The quantile function at `u = i / CDF_POINTS`, for [`Compiled::cdf`].
    cdf_table: Vec<f64>,
}

/// Points of the tabulated quantile function [`Compiled::cdf`] interpolates.
const CDF_POINTS: usize = 4096;

impl Compiled {
    /// Prepares `dist`.
    pub fn new(dist: &Dist) -> Compiled {
        let logs = match dist {
            Dist::Quantiles(points) => points
                .iter()
                .map(|p| if p[1] > 0.0 { log(p[1]) } else { f64::NAN })
                .collect(),
            _ => Vec::new(),
        };
        let cdf_table = (0..=CDF_POINTS)
            .map(|i| dist.quantile((i as f64 / CDF_POINTS as f64).min(1.0 - 1e-9)))
            .collect();
        Compiled {
            dist: dist.clone(),
            logs,
            cdf_table,
        }
    }

    /// The distribution.
    pub fn dist(&self) -> &Dist {
        &self.dist
    }

    /// [`Dist::quantile`], faster.
    #[inline]
    pub fn quantile(&self, u: f64) -> f64 {
        match &self.dist {
            Dist::Quantiles(points) => interpolate(points, Some(&self.logs), u),
            d => d.quantile(u),
        }
    }

    /// The cumulative probability of `x`, interpolated in the tabulated quantile function
    /// (within 1/4096 of [`Dist::cdf`], and a table lookup instead of a bisection: timestamps
    /// ask it for every day of every group).
    pub fn cdf(&self, x: f64) -> f64 {
        let t = &self.cdf_table;
        if x < t[0] {
            return 0.0;
        }
        let j = t.partition_point(|&q| q <= x);
        if j > CDF_POINTS {
            return 1.0;
        }
        let (q0, q1) = (t[j - 1], t[j]);
        let f = if q1 > q0 { (x - q0) / (q1 - q0) } else { 0.0 };
        ((j - 1) as f64 + f) / CDF_POINTS as f64
    }

    /// [`Dist::mean`].
    pub fn mean(&self) -> f64 {
        self.dist.mean()
    }
}

/// The quantile function between points, log-linear between positive values; `logs` are the
/// points' logarithms when the caller has them (bit-identical either way).
fn interpolate(points: &[[f64; 2]], logs: Option<&[f64]>, u: f64) -> f64 {
    let i = points
        .partition_point(|p| p[0] <= u)
        .clamp(1, points.len() - 1);
    let ([p0, v0], [p1, v1]) = (points[i - 1], points[i]);
    let t = ((u - p0) / (p1 - p0)).clamp(0.0, 1.0);
    if v0 > 0.0 && v1 > 0.0 {
        let (l0, l1) = match logs {
            Some(l) => (l[i - 1], l[i]),
            None => (log(v0), log(v1)),
        };
        exp(l0 + t * (l1 - l0))
    } else {
        v0 + t * (v1 - v0)
    }
}

/// Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9).
pub fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383_577_518_672_69e2,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    const LOW: f64 = 0.02425;
    if p < LOW {
        let q = (-2.0 * log(p)).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * log(1.0 - p)).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_hit_their_points_and_interpolate_in_log_space() {
        let d = Dist::Quantiles(vec![[0.0, 1.0], [0.5, 15.0], [0.95, 500.0], [1.0, 5000.0]]);
        d.validate().unwrap();
        assert!((d.quantile(0.5) - 15.0).abs() < 1e-9);
        assert!((d.quantile(0.95) - 500.0).abs() < 1e-6);
        let mid = d.quantile(0.725);
        assert!((mid - (15.0f64 * 500.0).sqrt()).abs() < 1e-6, "{mid}");
    }

    #[test]
    fn lognormal_median_and_normal_quantile() {
        assert!(inverse_normal_cdf(0.5).abs() < 1e-9);
        assert!((inverse_normal_cdf(0.975) - 1.959964).abs() < 1e-5);
        let d = Dist::Lognormal {
            median: 40.0,
            sigma: 1.0,
            max: None,
        };
        assert!((d.quantile(0.5) - 40.0).abs() < 1e-6);
    }

    #[test]
    fn cdf_inverts_quantile() {
        let d = Dist::Lognormal {
            median: 100.0,
            sigma: 1.5,
            max: None,
        };
        assert!((d.cdf(100.0) - 0.5).abs() < 1e-6);
        assert!((d.quantile(d.cdf(1234.0)) - 1234.0).abs() < 1e-3);
        assert_eq!(d.cdf(-1.0), 0.0);
    }

    #[test]
    fn compiled_cdf_is_within_a_table_step_of_the_bisection() {
        for d in [
            Dist::Lognormal {
                median: 172_800.0,
                sigma: 1.5,
                max: Some(5_184_000.0),
            },
            Dist::Quantiles(vec![[0.0, 1.0], [0.5, 15.0], [0.95, 500.0], [1.0, 5000.0]]),
        ] {
            let c = Compiled::new(&d);
            for x in [0.5, 1.0, 3.0, 15.0, 400.0, 4000.0, 86_400.0, 1e6, 1e7] {
                let (fast, exact) = (c.cdf(x), d.cdf(x));
                assert!(
                    (fast - exact).abs() <= 1.0 / 4096.0,
                    "{d:?} at {x}: {fast} vs {exact}"
                );
            }
            assert_eq!(c.cdf(-1.0), 0.0);
        }
    }

    #[test]
    fn compiled_quantiles_are_bit_identical() {
        let d = Dist::Quantiles(vec![[0.0, 1.0], [0.5, 15.0], [0.95, 500.0], [1.0, 5000.0]]);
        let c = Compiled::new(&d);
        for i in 0..1000 {
            let u = i as f64 / 1000.0;
            assert_eq!(c.quantile(u).to_bits(), d.quantile(u).to_bits());
        }
    }

    #[test]
    fn invalid_quantiles_are_refused() {
        assert!(Dist::Quantiles(vec![[0.0, 5.0], [1.0, 2.0]])
            .validate()
            .is_err());
        assert!(Dist::Quantiles(vec![[0.1, 1.0], [1.0, 2.0]])
            .validate()
            .is_err());
    }
}
