//! What a run achieved, measured on the rows as generated: fan-out quantiles (children per
//! parent, over parents that have children) and the hourly profile of timestamp columns.
//! Constant memory: sizes are counted exactly below 1,024 and in 1/64-octave bins above.

use pgshape_core::dataset_report::{Achieved, Fanout};
use serde::{Deserialize, Serialize};

use super::model::TableModel;
use super::value::{GroupBuf, Value};

const EXACT: usize = 1024;
const SUB: usize = 64;
/// Log bins a group of `u64::MAX` rows would need: a bound on what a stored tally may hold.
const MAX_LOG_BINS: usize = 54 * SUB;

/// A histogram of group sizes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(into = "SizeHistRecord", from = "SizeHistRecord")]
pub struct SizeHist {
    exact: Vec<u64>,
    log: Vec<u64>,
}

impl SizeHist {
    fn add(&mut self, n: u64) {
        if (n as usize) < EXACT {
            if self.exact.is_empty() {
                self.exact = vec![0; EXACT];
            }
            self.exact[n as usize] += 1;
        } else {
            let b = (libm::log2(n as f64 / EXACT as f64) * SUB as f64) as usize;
            if self.log.len() <= b {
                self.log.resize(b + 1, 0);
            }
            self.log[b] += 1;
        }
    }

    fn merge(&mut self, o: &SizeHist) {
        if self.exact.is_empty() {
            self.exact = vec![0; EXACT];
        }
        for (a, b) in self.exact.iter_mut().zip(&o.exact) {
            *a += b;
        }
        if self.log.len() < o.log.len() {
            self.log.resize(o.log.len(), 0);
        }
        for (a, b) in self.log.iter_mut().zip(&o.log) {
            *a += b;
        }
    }

    /// (size, count) pairs in increasing size; log bins report their lower edge.
    fn bins(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let exact = self.exact.iter().enumerate().map(|(n, c)| (n as f64, *c));
        let log = self
            .log
            .iter()
            .enumerate()
            .map(|(b, c)| (EXACT as f64 * libm::exp2(b as f64 / SUB as f64), *c));
        exact.chain(log)
    }

    /// The nearest-rank quantile of sizes > 0.
    fn quantile(&self, p: f64) -> f64 {
        let nonzero: u64 = self.bins().filter(|(s, _)| *s > 0.0).map(|(_, c)| c).sum();
        let rank = (p * nonzero as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (s, c) in self.bins().filter(|(s, _)| *s > 0.0) {
            seen += c;
            if seen >= rank {
                return s;
            }
        }
        0.0
    }
}

/// A [`SizeHist`] as stored (a resumable run's journal): both parts sparse, as (bin, count)
/// pairs of the bins that count something.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SizeHistRecord {
    exact: Vec<(usize, u64)>,
    log: Vec<(usize, u64)>,
}

fn sparse(bins: &[u64]) -> Vec<(usize, u64)> {
    bins.iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(n, c)| (n, *c))
        .collect()
}

impl From<SizeHist> for SizeHistRecord {
    fn from(h: SizeHist) -> SizeHistRecord {
        SizeHistRecord {
            exact: sparse(&h.exact),
            log: sparse(&h.log),
        }
    }
}

impl From<SizeHistRecord> for SizeHist {
    /// Sizes out of range are dropped: [`Tally::fits`] refuses such a record first.
    fn from(r: SizeHistRecord) -> SizeHist {
        let mut h = SizeHist::default();
        if !r.exact.is_empty() {
            h.exact = vec![0; EXACT];
            for (n, c) in r.exact.into_iter().filter(|(n, _)| *n < EXACT) {
                h.exact[n] = c;
            }
        }
        for (b, c) in r.log.into_iter().filter(|(b, _)| *b < MAX_LOG_BINS) {
            if h.log.len() <= b {
                h.log.resize(b + 1, 0);
            }
            h.log[b] = c;
        }
        h
    }
}

/// What one chunk (or a whole table, once merged) achieved.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tally {
    sizes: SizeHist,
    groups: u64,
    zero: u64,
    max: u64,
    hourly: Vec<(String, [u64; 24])>,
    /// Live rows of the group whose segments are being added.
    #[serde(skip)]
    live: u64,
}

impl Tally {
    /// A tally for a table: one hourly profile per timestamp column.
    pub fn for_table(t: &TableModel) -> Tally {
        let hourly = t
            .columns
            .iter()
            .filter(|c| c.sql_type.is_temporal())
            .map(|c| (c.name.clone(), [0; 24]))
            .collect();
        Tally {
            hourly,
            ..Tally::default()
        }
    }

    /// Counts one generated group.
    pub fn add(&mut self, t: &TableModel, buf: &GroupBuf) {
        // A large group comes in segments: its size is known at its last one.
        self.live += buf.live_count() as u64;
        if buf.ends_group() {
            let live = std::mem::take(&mut self.live);
            self.groups += 1;
            self.zero += (live == 0) as u64;
            self.max = self.max.max(live);
            self.sizes.add(live);
        }
        let mut h = 0;
        for (ci, c) in t.columns.iter().enumerate() {
            if !c.sql_type.is_temporal() {
                continue;
            }
            let hours = &mut self.hourly[h].1;
            for v in buf.live_values(ci) {
                if let Value::Ts(us) = v {
                    hours[(us.div_euclid(1_000_000).rem_euclid(86_400) / 3600) as usize] += 1;
                }
            }
            h += 1;
        }
    }

    /// Whether a stored tally can be one of table `t`'s chunks: its hourly profiles those of
    /// `t`'s timestamp columns, in order, and its histogram within bounds.
    pub fn fits(&self, t: &TableModel) -> bool {
        let fresh = Tally::for_table(t);
        self.hourly.len() == fresh.hourly.len()
            && self
                .hourly
                .iter()
                .zip(&fresh.hourly)
                .all(|(a, b)| a.0 == b.0)
            && self.sizes.log.len() <= MAX_LOG_BINS
            && self.zero <= self.groups
    }

    /// Adds another tally of the same table.
    pub fn merge(&mut self, o: &Tally) {
        self.sizes.merge(&o.sizes);
        self.groups += o.groups;
        self.zero += o.zero;
        self.max = self.max.max(o.max);
        if self.hourly.is_empty() {
            self.hourly = o.hourly.clone();
        } else {
            for (a, b) in self.hourly.iter_mut().zip(&o.hourly) {
                for (x, y) in a.1.iter_mut().zip(&b.1) {
                    *x += y;
                }
            }
        }
    }

    /// The report's summary. `grouped` is false for root tables (whose groups are blocks).
    pub fn summary(&self, grouped: bool) -> Achieved {
        let fanout = grouped.then(|| Fanout {
            parents: self.groups,
            zero_fraction: if self.groups == 0 {
                0.0
            } else {
                self.zero as f64 / self.groups as f64
            },
            p50: self.sizes.quantile(0.5),
            p90: self.sizes.quantile(0.9),
            p95: self.sizes.quantile(0.95),
            p99: self.sizes.quantile(0.99),
            p999: self.sizes.quantile(0.999),
            max: self.max,
        });
        let hourly = self
            .hourly
            .iter()
            .filter(|(_, h)| h.iter().sum::<u64>() > 0)
            .map(|(c, h)| {
                let n: u64 = h.iter().sum();
                (
                    c.clone(),
                    h.iter()
                        .map(|x| (*x as f64 / n as f64 * 1e4).round() / 1e4)
                        .collect(),
                )
            })
            .collect();
        Achieved { fanout, hourly }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sizes() {
        let mut h = SizeHist::default();
        for n in 1..=100 {
            h.add(n);
        }
        h.add(0);
        assert_eq!(h.quantile(0.5), 50.0);
        assert_eq!(h.quantile(0.99), 99.0);
        let mut big = SizeHist::default();
        big.add(5000);
        let q = big.quantile(0.5);
        assert!((q - 5000.0).abs() / 5000.0 < 0.011, "{q}");
    }

    #[test]
    fn a_stored_tally_reads_back_the_same() {
        let mut t = Tally {
            hourly: vec![("at".into(), [0; 24])],
            ..Tally::default()
        };
        for n in [0, 1, 1, 7, 1023, 1024, 5000, 1 << 20] {
            t.sizes.add(n);
            t.groups += 1;
            t.zero += (n == 0) as u64;
            t.max = t.max.max(n);
        }
        t.hourly[0].1[3] = 9;
        let json = serde_json::to_string(&t).unwrap();
        // Sparse: 4 exact sizes, not 1,024 counts.
        assert!(json.len() < 600, "{json}");
        let back: Tally = serde_json::from_str(&json).unwrap();
        assert_eq!(back.sizes.exact, t.sizes.exact);
        assert_eq!(back.sizes.log, t.sizes.log);
        assert_eq!(back.summary(true), t.summary(true));
        // Out-of-range sizes are dropped, never allocated for.
        let hostile = r#"{"sizes":{"exact":[[18446744073709551615,1]],"log":[[18446744073709551615,1]]},"groups":1,"zero":0,"max":1,"hourly":[]}"#;
        let h: Tally = serde_json::from_str(hostile).unwrap();
        assert_eq!(h.sizes.exact.iter().sum::<u64>(), 0);
        assert!(h.sizes.log.is_empty());
    }
}
