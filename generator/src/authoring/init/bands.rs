//! The window and the bands of a derived spec (see [`super`]).

use std::collections::BTreeMap;

use indexmap::IndexMap;
use pgshape_core::catalog::Table;
use pgshape_core::pack::Pack;
use pgshape_core::spec::{Band, Rows, TableSpec, Window};
use pgshape_core::{Error, Result};

use super::options::{Options, CI_TOTAL_ROWS};

/// The spec's window: as long as the pack's, ending with the last whole UTC day in which some
/// table's window column has rows (from the daily profiles: production data may stop before
/// the extraction, as a fixture or a replica's does); the pack's window when no profile says.
pub(super) fn window(pack: &Pack) -> Window {
    let whole = Window {
        end: pack.window.end.clone(),
        days: pack.window.days,
    };
    let (mut seen, mut last) = (false, 0usize);
    for t in pack.tables.values() {
        let Some(daily) = t
            .window_column
            .as_ref()
            .and_then(|w| t.columns.get(w))
            .and_then(|c| c.daily.as_ref())
        else {
            continue;
        };
        for (i, n) in daily.iter().enumerate() {
            if n.is_some_and(|n| n > 0) {
                seen = true;
                last = last.max(i);
            }
        }
    }
    let Ok(start) = chrono::DateTime::parse_from_rfc3339(&pack.window.start) else {
        return whole;
    };
    let Ok(end) = chrono::DateTime::parse_from_rfc3339(&pack.window.end) else {
        return whole;
    };
    if !seen {
        return whole;
    }
    let day0 = start
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let fitted = (day0 + chrono::Duration::days(last as i64 + 1)).min(end.to_utc());
    Window {
        end: fitted.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        days: pack.window.days,
    }
}

/// Bands: root counts at a factor of production's, the factor chosen per band; and the most
/// rows any band is expected to give each table.
pub(super) fn bands(
    specs: &IndexMap<String, TableSpec>,
    tables: &[&Table],
    total: &dyn Fn(&str) -> u64,
    opts: &Options,
) -> Result<(IndexMap<String, Band>, BTreeMap<String, f64>)> {
    // Expected rows per table when every root has production's count.
    let mut expected: BTreeMap<&str, f64> = BTreeMap::new();
    for t in tables {
        let e = match &specs[&t.name].rows {
            Rows::Band => total(&t.qualified()) as f64,
            Rows::PerParent(pp) => {
                expected.get(pp.parent.as_str()).copied().unwrap_or(0.0)
                    * (1.0 - pp.zero_fraction)
                    * pp.fanout.mean()
            }
        };
        expected.insert(t.name.as_str(), e);
    }
    let all: f64 = expected.values().sum();
    let largest = expected.values().cloned().fold(0.0, f64::max);
    if all <= 0.0 {
        return Err(Error::Unsupported(
            "the pack's tables are all empty: no proportions to size bands by".into(),
        ));
    }
    let band = |f: f64, chunk_rows: u64| Band {
        rows: tables
            .iter()
            .filter(|t| matches!(specs[&t.name].rows, Rows::Band))
            .map(|t| {
                let n = (f * total(&t.qualified()) as f64).round().max(1.0) as u64;
                (t.name.clone(), n)
            })
            .collect(),
        chunk_rows,
    };
    let ci = CI_TOTAL_ROWS / all;
    let mut factors = vec![ci.max(3.0)];
    let mut out = IndexMap::new();
    out.insert("ci".to_string(), band(ci, 16_384));
    out.insert("dev".to_string(), band(ci.max(0.1), 262_144));
    out.insert("staging".to_string(), band(ci.max(1.0), 1_048_576));
    out.insert("perf".to_string(), band(ci.max(3.0), 1_048_576));
    if let Some(s) = opts.scale {
        factors.push(s);
        out.insert("scaled".to_string(), band(s, 262_144));
    }
    for (name, rows) in &opts.bands {
        if largest <= 0.0 {
            return Err(Error::Unsupported(
                "--band: the largest table is empty".into(),
            ));
        }
        let f = *rows as f64 / largest;
        let chunk = if *rows > 10_000_000 {
            1_048_576
        } else {
            262_144
        };
        factors.push(f);
        out.insert(name.clone(), band(f, chunk));
    }
    // The most rows any band is expected to give each table (unique suffixes are sized by it).
    let most = factors.into_iter().fold(0.0, f64::max);
    let max_rows = expected
        .into_iter()
        .map(|(t, e)| (t.to_string(), most * e))
        .collect();
    Ok((out, max_rows))
}
