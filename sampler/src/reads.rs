//! How the figures' statements reach the server: one at a time, or read ahead in one
//! statement that scans each table once (issue 14).
//!
//! Every figure is a `SELECT` of its own (with no parameters: constants are inlined). With
//! [`Reads::direct`] each runs when asked for. With [`Reads::fused`] every table of the
//! extraction is first given a *base*: a `MATERIALIZED` common table expression of its rows
//! (the columns the figures read, its privacy unit as `pgshape_unit`, and `tableoid` and
//! `ctid` as plain columns for rows that are their own units), the unit's joins read from the
//! other bases. The figures' statements, written over the bases, are then run ahead as one
//! `UNION ALL` statement ([`Reads::prefetch`]): the server scans each table once, and each
//! result row comes back as the record's text, tagged with its statement's index. A statement
//! asked for later is answered from those rows; one not read ahead runs on its own, with the
//! bases it names defined in front of it (the same figures, one more scan).
//!
//! Only exact, full-scan extractions read ahead: under DP every statement draws its own
//! random clip, and a sampled fan-out samples parents, not the rows of a base.
//!
//! The read-ahead is one statement doing the work of many, and the bases of large tables go
//! to the server's temporary files. So it runs under a timeout of its own
//! ([`ReadAhead::timeout`]; by default the session's `statement_timeout` times the statements
//! it replaces, the bound their separate runs had), inside a savepoint: when the server
//! refuses it (that timeout, `temp_file_limit`, a full disk, out of memory, a statement too
//! complex) it is rolled back, with a warning, and every figure runs on its own in the same
//! snapshot, its bases inlined (`NOT MATERIALIZED`), as if it had not been tried. The pack is
//! the same either way.

use std::collections::HashMap;

use pgshape_core::{Error, Result};
use postgres::types::FromSql;
use postgres::GenericClient;

/// A row of a figure's statement: as the driver decoded it, or as the record's text.
pub enum Row {
    Pg(postgres::Row),
    Text(Vec<Option<String>>),
}

impl Row {
    /// Column `i` as `T` (panics on a type mismatch, like [`postgres::Row::get`]).
    pub fn get<T: Cell>(&self, i: usize) -> T {
        match self {
            Row::Pg(r) => r.get(i),
            Row::Text(fields) => T::parse(fields.get(i).and_then(|f| f.as_deref())),
        }
    }
}

/// A value read from the server's text output as well as from its binary one.
pub trait Cell: for<'a> FromSql<'a> {
    fn parse(text: Option<&str>) -> Self;
}

fn present(text: Option<&str>) -> &str {
    text.expect("a NULL read as a value that cannot be NULL")
}

macro_rules! number_cell {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            fn parse(text: Option<&str>) -> Self {
                let s = present(text);
                // The text is not printed: a figure's statement reads aggregates, but a panic
                // message is no place for a value read from the server.
                s.parse().unwrap_or_else(|_| panic!("a field read ahead is not a {}", stringify!($t)))
            }
        }
    )*};
}
// The server prints a float8 in its shortest exact form and Rust parses it exactly: the
// value read is the server's, bit for bit.
number_cell!(i32, i64, f64);

impl Cell for String {
    fn parse(text: Option<&str>) -> Self {
        present(text).to_string()
    }
}

impl<T: Cell> Cell for Option<T> {
    fn parse(text: Option<&str>) -> Self {
        text.map(|s| T::parse(Some(s)))
    }
}

impl<T: Cell> Cell for Vec<T> {
    fn parse(text: Option<&str>) -> Self {
        array_items(present(text))
            .into_iter()
            .map(|item| T::parse(item.as_deref()))
            .collect()
    }
}

/// The fields of a record's text form `(a,"b c",,…)`: an empty unquoted field is NULL; a
/// quoted one has `""` and backslash escapes.
pub fn record_fields(text: &str) -> Vec<Option<String>> {
    let inner = text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .expect("a record's text is parenthesized");
    split(inner, true)
}

/// The items of a one-dimensional array's text form `{1,NULL,"a b"}`.
fn array_items(text: &str) -> Vec<Option<String>> {
    let inner = text
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .expect("an array's text is in braces");
    if inner.is_empty() {
        return Vec::new();
    }
    split(inner, false)
}

/// Splits comma-separated fields, unquoting; `record`: an empty field is NULL (an array
/// says `NULL`).
fn split(s: &str, record: bool) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut field = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            match c {
                ',' => break,
                '"' => {
                    quoted = true;
                    chars.next();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => field.extend(chars.next()),
                            '"' if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            '"' => break,
                            c => field.push(c),
                        }
                    }
                    continue;
                }
                '\\' => {
                    chars.next();
                    field.extend(chars.next());
                    continue;
                }
                c => field.push(c),
            }
            chars.next();
        }
        let null = !quoted
            && if record {
                field.is_empty()
            } else {
                field == "NULL"
            };
        out.push((!null).then_some(field));
        if chars.next().is_none() {
            return out;
        }
    }
}

/// A timestamp as a SQL constant (to the microsecond, as the server keeps it).
pub fn instant(t: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "'{}'::timestamptz",
        t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
}

/// Probabilities as a float8[] constant (each in its shortest exact form).
pub fn floats(ps: &[f64]) -> String {
    let items: Vec<String> = ps.iter().map(|p| format!("{p:?}")).collect();
    format!("'{{{}}}'::float8[]", items.join(","))
}

/// How an exact extraction reads ahead.
#[derive(Debug, Clone, Default)]
pub struct ReadAhead {
    /// Every figure on its own (`--no-read-ahead`): no statement longer than one figure, no
    /// base in temporary files.
    pub off: bool,
    /// The read-ahead's `statement_timeout` (e.g. `30min`, as the server reads it); `None`:
    /// the session's times the statements it replaces (none when the session has none).
    pub timeout: Option<String>,
}

/// Server refusals that leave the snapshot usable: the read-ahead falls back on them.
fn refused(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code().is_some_and(|c| {
        [
            SqlState::QUERY_CANCELED,
            SqlState::CONFIGURATION_LIMIT_EXCEEDED,
            SqlState::DISK_FULL,
            SqlState::OUT_OF_MEMORY,
            SqlState::PROGRAM_LIMIT_EXCEEDED,
            SqlState::STATEMENT_TOO_COMPLEX,
        ]
        .contains(c)
    })
}

/// The figures' statements of one extraction, run directly or read ahead.
pub struct Reads<'c, C: GenericClient> {
    client: &'c mut C,
    /// The bases (name, definition) when reading ahead.
    bases: Vec<(String, String)>,
    /// Rows of the statements read ahead, by their text.
    ready: HashMap<String, Vec<Row>>,
}

impl<'c, C: GenericClient> Reads<'c, C> {
    /// Each statement run when asked for.
    pub fn direct(client: &'c mut C) -> Self {
        Reads {
            client,
            bases: Vec::new(),
            ready: HashMap::new(),
        }
    }

    /// Statements over the bases `bases` (name, `SELECT` of its rows).
    pub fn fused(client: &'c mut C, bases: Vec<(String, String)>) -> Self {
        Reads {
            client,
            bases,
            ready: HashMap::new(),
        }
    }

    /// The connection, for statements outside the figures (catalog reads).
    pub fn client(&mut self) -> &mut C {
        self.client
    }

    /// Runs `statements` in one statement over the bases, each table scanned once, and keeps
    /// their rows for [`Reads::one`] and [`Reads::all`]. Nothing to do when not fused. When the
    /// server refuses the read (see the module's documentation) nothing is kept and `false`
    /// is returned: the figures then run one by one.
    pub fn prefetch(&mut self, statements: &[String], ahead: &ReadAhead) -> Result<bool> {
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<&String> = statements
            .iter()
            .filter(|s| !self.ready.contains_key(*s) && seen.insert(*s))
            .collect();
        if self.bases.is_empty() || unique.is_empty() {
            return Ok(true);
        }
        let branches: Vec<String> = unique
            .iter()
            .enumerate()
            .map(|(i, s)| format!("SELECT {i} AS pgshape_tag, q::text FROM ({s}) q"))
            .collect();
        let sql = format!("{} {}", self.with(true), branches.join("\nUNION ALL\n"));
        let what = "the figures of every table, in one pass";
        // The session's timeout as set (restored after the read) and in milliseconds (0: none).
        let setting = self
            .client
            .query_one(
                "SELECT current_setting('statement_timeout'), setting::bigint
                   FROM pg_settings WHERE name = 'statement_timeout'",
                &[],
            )
            .map_err(Error::db(what))?;
        let (session, ms): (String, i64) = (setting.get(0), setting.get(1));
        let timeout = match &ahead.timeout {
            Some(t) => t.clone(),
            None => ms
                .saturating_mul(unique.len() as i64)
                .min(i32::MAX as i64)
                .to_string(),
        };
        self.client
            .batch_execute("SAVEPOINT pgshape_read_ahead")
            .map_err(Error::db(what))?;
        self.client
            .query_one(
                "SELECT set_config('statement_timeout', $1, true)",
                &[&timeout],
            )
            .map_err(Error::db("the read-ahead's --read-ahead-timeout"))?;
        let rows = match self.client.query(&sql, &[]) {
            Ok(rows) => rows,
            Err(e) if refused(&e) => {
                // The server's message names a limit, not a value read: safe to log.
                tracing::warn!(
                    code = e.code().map_or("", |c| c.code()),
                    reason = %e.as_db_error().map_or(String::new(), |d| d.message().to_string()),
                    timeout = %timeout,
                    "the server refused the read-ahead: every figure runs on its own (same snapshot, same pack, more scans)"
                );
                self.client
                    .batch_execute("ROLLBACK TO SAVEPOINT pgshape_read_ahead; RELEASE SAVEPOINT pgshape_read_ahead")
                    .map_err(Error::db(what))?;
                return Ok(false);
            }
            Err(e) => return Err(Error::db(what)(e)),
        };
        self.client
            .query_one(
                "SELECT set_config('statement_timeout', $1, true)",
                &[&session],
            )
            .map_err(Error::db(what))?;
        self.client
            .batch_execute("RELEASE SAVEPOINT pgshape_read_ahead")
            .map_err(Error::db(what))?;
        let mut by_tag: Vec<Vec<Row>> = unique.iter().map(|_| Vec::new()).collect();
        for r in rows {
            let tag: i32 = r.get(0);
            let text: Option<String> = r.get(1);
            by_tag[tag as usize].push(Row::Text(record_fields(text.as_deref().unwrap_or("()"))));
        }
        for (s, rows) in unique.into_iter().zip(by_tag) {
            self.ready.insert(s.clone(), rows);
        }
        Ok(true)
    }

    /// The `WITH` clause of the bases (empty when not fused): `materialized` for the
    /// read-ahead, each base computed once; inlined for a statement on its own, which the
    /// planner then reads as if written over the tables. A base the server does not read is
    /// not computed; each one comes after the bases its joins read.
    fn with(&self, materialized: bool) -> String {
        let how = if materialized {
            "MATERIALIZED"
        } else {
            "NOT MATERIALIZED"
        };
        match self.bases.is_empty() {
            true => String::new(),
            false => {
                let defs: Vec<String> = self
                    .bases
                    .iter()
                    .map(|(name, def)| format!("{name} AS {how} ({def})"))
                    .collect();
                format!("WITH {}", defs.join(",\n"))
            }
        }
    }

    /// The rows of `sql`: read ahead, or run now.
    pub fn all(&mut self, sql: &str, what: impl Into<String>) -> Result<Vec<Row>> {
        if let Some(rows) = self.ready.remove(sql) {
            return Ok(rows);
        }
        let what = what.into();
        if !self.bases.is_empty() {
            tracing::debug!(what = %what, "a figure not read ahead: run on its own");
        }
        let full = match self.bases.is_empty() {
            true => sql.to_string(),
            false => format!("{} SELECT * FROM ({sql}) q", self.with(false)),
        };
        let rows = self.client.query(&full, &[]).map_err(Error::db(what))?;
        Ok(rows.into_iter().map(Row::Pg).collect())
    }

    /// The one row of `sql`.
    pub fn one(&mut self, sql: &str, what: impl Into<String>) -> Result<Row> {
        let what = what.into();
        let mut rows = self.all(sql, what.clone())?;
        match rows.len() {
            1 => Ok(rows.remove(0)),
            n => Err(Error::Config(format!(
                "{what}: the server returned {n} rows where one was expected"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_arrays_read_from_their_text() {
        let r = record_fields(r#"(12,,"{1,2,NULL}","a ""b"", c",{})"#);
        assert_eq!(r.len(), 5);
        let row = Row::Text(r);
        assert_eq!(row.get::<i64>(0), 12);
        assert_eq!(row.get::<Option<i32>>(1), None);
        assert_eq!(row.get::<Vec<Option<i64>>>(2), vec![Some(1), Some(2), None]);
        assert_eq!(row.get::<String>(3), "a \"b\", c");
        assert_eq!(row.get::<Vec<f64>>(4), Vec::<f64>::new());
        let floats = Row::Text(record_fields(r#"("{0.1,1e-07,-2.5,12345.678901234567}")"#));
        assert_eq!(
            floats.get::<Vec<f64>>(0),
            vec![0.1, 1e-7, -2.5, 12345.678901234567]
        );
        assert_eq!(record_fields("(\"\")"), vec![Some(String::new())]);
    }
}
