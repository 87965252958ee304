//! Row sampling (`--sample-percent`): which rows the aggregates read, and how sampled counts
//! are scaled back to the table.
//!
//! `TABLESAMPLE BERNOULLI` (the default) keeps each row independently with probability P %:
//! the textbook error bounds hold whatever the physical order of the table, at the price of
//! reading every page (the aggregation work shrinks, the I/O does not). `TABLESAMPLE SYSTEM`
//! keeps whole pages: it reads only P % of the table, but rows that share a page (inserted
//! together, so often of one parent or one hour) are kept or dropped together, which widens
//! the error, and a table of a few pages is all-or-nothing. Both use `REPEATABLE` with a fixed
//! seed, so every query of one extraction sees the same sample and a rerun on the same data
//! the same pack.

use std::fmt;

/// The `REPEATABLE` seed of every sample.
pub const SEED: u32 = 20261122;

/// The sampling method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Rows kept independently (reads every page; unbiased, textbook error bounds).
    Bernoulli,
    /// Pages kept (reads P % of the pages; clustered, wider error).
    System,
}

/// Which rows are read: all of them, or a `TABLESAMPLE`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// `None`: full scans.
    sampled: Option<(Method, f64)>,
}

impl Sample {
    /// Every row.
    pub fn full() -> Sample {
        Sample { sampled: None }
    }

    /// `percent` % of the rows by `method`; 100 % is a full scan. `percent` must be in
    /// (0, 100].
    pub fn new(method: Method, percent: f64) -> Result<Sample, String> {
        if !(percent > 0.0 && percent <= 100.0) {
            return Err(format!(
                "--sample-percent must be in (0, 100], got {percent}"
            ));
        }
        Ok(Sample {
            sampled: (percent < 100.0).then_some((method, percent)),
        })
    }

    /// Whether rows are sampled.
    pub fn is_sampled(&self) -> bool {
        self.sampled.is_some()
    }

    /// The `FROM` item for relation `rel` (already quoted) under alias `alias`.
    pub fn from(&self, rel: &str, alias: &str) -> String {
        match self.sampled {
            None => format!("{rel} {alias}"),
            Some((m, p)) => format!(
                "{rel} {alias} TABLESAMPLE {} ({p}) REPEATABLE ({SEED})",
                match m {
                    Method::Bernoulli => "BERNOULLI",
                    Method::System => "SYSTEM",
                }
            ),
        }
    }

    /// The fraction of rows read (1.0 for full scans).
    pub fn fraction(&self) -> f64 {
        self.sampled.map_or(1.0, |(_, p)| p / 100.0)
    }

    /// A count seen in the sample, scaled back to the table.
    pub fn scale(&self, n: u64) -> u64 {
        (n as f64 / self.fraction()).round() as u64
    }

    /// The pack's name of the method: `full`, `tablesample_bernoulli`, `tablesample_system`.
    pub fn method_name(&self) -> &'static str {
        match self.sampled {
            None => "full",
            Some((Method::Bernoulli, _)) => "tablesample_bernoulli",
            Some((Method::System, _)) => "tablesample_system",
        }
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sampled {
            None => f.write_str("full scans"),
            Some(_) => write!(f, "{} of {} %", self.method_name(), self.fraction() * 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_items_and_scaling() {
        assert_eq!(Sample::full().from("\"t\"", "x"), "\"t\" x");
        let s = Sample::new(Method::Bernoulli, 10.0).unwrap();
        assert_eq!(
            s.from("\"t\"", "x"),
            format!("\"t\" x TABLESAMPLE BERNOULLI (10) REPEATABLE ({SEED})")
        );
        assert_eq!(s.scale(123), 1230);
        assert_eq!(s.method_name(), "tablesample_bernoulli");
        assert!(!Sample::new(Method::System, 100.0).unwrap().is_sampled());
        assert!(Sample::new(Method::System, 0.0).is_err());
        assert!(Sample::new(Method::System, 101.0).is_err());
    }
}
