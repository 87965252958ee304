//! [`Spec::check`]: what the types cannot say — version, generators, references between
//! tables, bands — each error naming the file and the JSON path.

use std::path::Path;

use super::{
    ColumnSpec, KeyFormat, PerParent, Popularity, Rows, Spec, Timestamp, MAX_CHUNKS,
    MAX_CHUNK_ROWS, MAX_TABLE_ROWS, SPEC_VERSION,
};
use crate::{Error, Result};

/// Makes a format error of the spec file at `path`.
struct Bad<'a>(&'a Path);

impl Bad<'_> {
    fn at(&self, json_path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Format {
            path: self.0.to_path_buf(),
            json_path: json_path.into(),
            message: message.into(),
        }
    }
}

impl Spec {
    /// Checks what the types cannot: version, generators, references between tables, bands.
    pub fn check(&self, path: &Path) -> Result<()> {
        let bad = Bad(path);
        if self.spec_version != SPEC_VERSION {
            return Err(bad.at(
                "$.spec_version",
                format!(
                    "version {} is not supported (this build reads {SPEC_VERSION})",
                    self.spec_version
                ),
            ));
        }
        chrono::DateTime::parse_from_rfc3339(&self.window.end)
            .map_err(|e| bad.at("$.window.end", format!("not an RFC 3339 timestamp: {e}")))?;
        for (tname, t) in &self.tables {
            let at = format!("$.tables.{tname}");
            match &t.rows {
                Rows::Band => {
                    for (bname, band) in &self.bands {
                        if !band.rows.contains_key(tname) {
                            return Err(bad.at(
                                format!("$.bands.{bname}.rows"),
                                format!("table {tname} has rows \"band\" but band {bname} gives it no count"),
                            ));
                        }
                    }
                }
                Rows::PerParent(pp) => self.check_per_parent(&bad, &at, pp)?,
            }
            for (cname, c) in &t.columns {
                self.check_column(&bad, &format!("{at}.columns.{cname}"), c)?;
            }
        }
        self.check_bands(&bad)
    }

    fn check_per_parent(&self, bad: &Bad<'_>, at: &str, pp: &PerParent) -> Result<()> {
        if !self.tables.contains_key(&pp.parent) {
            return Err(bad.at(
                format!("{at}.rows.per_parent.parent"),
                format!("no table {}", pp.parent),
            ));
        }
        pp.fanout
            .validate()
            .map_err(|m| bad.at(format!("{at}.rows.per_parent.fanout"), m))?;
        if !(0.0..1.0).contains(&pp.zero_fraction) {
            return Err(bad.at(
                format!("{at}.rows.per_parent.zero_fraction"),
                "must be in [0, 1)",
            ));
        }
        Ok(())
    }

    /// One column: one generator, fractions and distributions in range, profiles and weights
    /// well-formed, referenced tables present.
    fn check_column(&self, bad: &Bad<'_>, cat: &str, c: &ColumnSpec) -> Result<()> {
        c.kind().map_err(|m| bad.at(cat, m))?;
        if !(0.0..=1.0).contains(&c.null_fraction) {
            return Err(bad.at(format!("{cat}.null_fraction"), "must be in [0, 1]"));
        }
        check_dists(bad, cat, c)?;
        if c.inet
            .as_ref()
            .is_some_and(|i| !(0.0..=1.0).contains(&i.ipv6))
        {
            return Err(bad.at(format!("{cat}.inet.ipv6"), "must be in [0, 1]"));
        }
        if let Some(ts) = &c.timestamp {
            check_timestamp(bad, cat, ts)?;
        }
        if let Some(cat_spec) = &c.category {
            let w: Vec<f64> = cat_spec.weights.values().copied().collect();
            if !weights_ok(&w) {
                return Err(bad.at(
                    format!("{cat}.category.weights"),
                    "needs non-negative weights, not all zero",
                ));
            }
        }
        for (p, table) in [
            ("reference.table", c.reference.as_ref().map(|r| &r.table)),
            ("pick.table", c.pick.as_ref().map(|r| &r.table)),
        ] {
            if let Some(table) = table {
                if !self.tables.contains_key(table) {
                    return Err(bad.at(format!("{cat}.{p}"), format!("no table {table}")));
                }
            }
        }
        Ok(())
    }

    /// Each band: its chunk size, and each table's count within the limits.
    fn check_bands(&self, bad: &Bad<'_>) -> Result<()> {
        for (bname, band) in &self.bands {
            if band.chunk_rows == 0 || band.chunk_rows > MAX_CHUNK_ROWS {
                return Err(bad.at(
                    format!("$.bands.{bname}.chunk_rows"),
                    format!(
                        "{} is not between 1 and {MAX_CHUNK_ROWS} (a chunk is generated in memory)",
                        band.chunk_rows
                    ),
                ));
            }
            for (tname, rows) in &band.rows {
                let at = format!("$.bands.{bname}.rows.{tname}");
                if !self.tables.contains_key(tname) {
                    return Err(bad.at(at, format!("no table {tname}")));
                }
                if *rows > MAX_TABLE_ROWS {
                    return Err(bad.at(
                        at,
                        format!("{rows} rows is more than the {MAX_TABLE_ROWS} a band may ask of one table"),
                    ));
                }
                if rows.div_ceil(band.chunk_rows) > MAX_CHUNKS {
                    return Err(bad.at(
                        at,
                        format!(
                            "{rows} rows in chunks of {} is more than {MAX_CHUNKS} chunks: raise chunk_rows",
                            band.chunk_rows
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A column's distributions (values and lengths) and popularities (fan-out, zero fraction).
fn check_dists(bad: &Bad<'_>, cat: &str, c: &ColumnSpec) -> Result<()> {
    let dists = [
        c.number.as_ref().map(|n| ("number.dist", &n.dist)),
        c.text.as_ref().map(|n| ("text.length", &n.length)),
        c.sequence.as_ref().and_then(|q| match &q.format {
            KeyFormat::Text(k) => Some(("sequence.format.text.length", &k.length)),
            _ => None,
        }),
        c.timestamp.as_ref().and_then(|n| {
            n.offset_seconds
                .as_ref()
                .map(|d| ("timestamp.offset_seconds", d))
        }),
        c.bytes.as_ref().map(|n| ("bytes.length", &n.length)),
        c.json.as_ref().map(|n| ("json.length", &n.length)),
        c.array.as_ref().map(|n| ("array.length", &n.length)),
    ];
    let counts: [Option<(&str, &Popularity)>; 2] = [
        c.reference
            .as_ref()
            .and_then(|r| r.popularity.as_ref())
            .map(|p| ("reference.popularity", p)),
        c.earlier
            .as_ref()
            .and_then(|e| e.tree.as_ref())
            .map(|p| ("earlier.tree", p)),
    ];
    for (p, pop) in counts.into_iter().flatten() {
        pop.fanout
            .validate()
            .map_err(|m| bad.at(format!("{cat}.{p}.fanout"), m))?;
        if !(0.0..1.0).contains(&pop.zero_fraction) {
            return Err(bad.at(format!("{cat}.{p}.zero_fraction"), "must be in [0, 1)"));
        }
    }
    for (p, d) in dists.into_iter().flatten() {
        d.validate_values(p == "number.dist")
            .map_err(|m| bad.at(format!("{cat}.{p}"), m))?;
    }
    Ok(())
}

/// `after` with `offset_seconds`, 24 hourly and 7 weekday weights.
fn check_timestamp(bad: &Bad<'_>, cat: &str, ts: &Timestamp) -> Result<()> {
    if ts.after.is_some() != ts.offset_seconds.is_some() {
        return Err(bad.at(
            format!("{cat}.timestamp"),
            "after and offset_seconds go together",
        ));
    }
    if ts
        .hourly
        .as_ref()
        .is_some_and(|h| h.len() != 24 || !weights_ok(h))
    {
        return Err(bad.at(
            format!("{cat}.timestamp.hourly"),
            "needs 24 non-negative weights, not all zero",
        ));
    }
    if ts
        .weekly
        .as_ref()
        .is_some_and(|h| h.len() != 7 || !weights_ok(h))
    {
        return Err(bad.at(
            format!("{cat}.timestamp.weekly"),
            "needs 7 non-negative weights, not all zero",
        ));
    }
    Ok(())
}

fn weights_ok(w: &[f64]) -> bool {
    w.iter().all(|x| x.is_finite() && *x >= 0.0) && w.iter().any(|x| *x > 0.0)
}
