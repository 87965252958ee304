//! Category frequencies: rows per label, counted by the server. Enum labels and labels the
//! policy allow-lists leave plain, other labels as HMAC tokens under the column's namespace;
//! labels stay inside the sampler and are tokenized before anything is written.
//!
//! Which labels appear at all is the privacy question, because a column's labels are not
//! known in advance: a label only one person holds would single them out.
//! - With `--no-dp`, a label leaves when at least k people hold it, and a complement is
//!   suppressed with it when the hidden ones could be recovered by subtraction
//!   ([`crate::profile::suppress_with_complement_given`]).
//! - Under DP, each person votes for the labels of at most `max_categories_per_unit` of their
//!   rows (drawn at random by the server), and a label leaves when its noisy votes reach a threshold at or above k
//!   ([`crate::dp::threshold`], the only figure with a δ). The rows of the labels kept and of
//!   the rest together, then the number of labels hidden, are noised as two releases over that
//!   selection: nothing exact about the hidden labels leaves. An enum column's labels are the
//!   catalog's, a public domain: its rows per label (every label, empty ones too) are one
//!   pure-ε release, with no selection.

use std::collections::BTreeMap;

use pgshape_core::catalog::{Table, TypeKind};
use pgshape_core::ident::{qualified, quote};
use pgshape_core::pack::{Categories, Namespace};
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::reads::Reads;

use crate::dp::budget::Family;
use crate::dp::noise::SELECTION_PART;
use crate::metrics::Scan;
use crate::unit::UnitSql;

/// Part of a category column's ε that counts its rows (the rest of what the selection left
/// counts the hidden labels).
const ROWS_PART: f64 = 0.4;

/// One category cell: the label, its rows, the units (people) behind them, and their votes
/// (units for whom it is the label of one of `max_categories_per_unit` of their rows, drawn at
/// random, so that a label's votes follow its share of each person's rows; the units
/// themselves with DP off).
struct Cell {
    label: String,
    rows: u64,
    units: u64,
    votes: u64,
}

/// What leaves of the cells: per cell its rows when exported, the hidden rows and labels.
struct Kept {
    rows: Vec<Option<u64>>,
    hidden_rows: u64,
    hidden_labels: u64,
}

/// The category frequencies of column `i` of `t` over `from` (alias `t`), and the token
/// namespace used (none for enum labels).
pub fn categories(
    reads: &mut Reads<'_, impl GenericClient>,
    t: &Table,
    i: usize,
    from: &str,
    unit: &UnitSql,
    scan: &Scan<'_>,
) -> Result<(Categories, Option<Namespace>)> {
    let c = &t.columns[i];
    let what = format!("categories of {}.{}", t.qualified(), c.name);
    let max_keys = max_keys(scan);
    let votes = scan.noise.is_on().then_some(max_keys);
    let mut cells = cells(reads, &quote(&c.name), from, unit, votes, &what)?;
    let domain = match scan.noise.is_on() && c.type_kind == TypeKind::Enum {
        true => enum_domain(reads.client(), t, &c.name, &what)?,
        false => Vec::new(),
    };
    let kept = if !domain.is_empty() {
        cells = complete(cells, &domain);
        fixed(&cells, scan)?
    } else if scan.noise.is_on() {
        private(&cells, max_keys, scan)?
    } else {
        k_suppressed(reads, &quote(&c.name), from, unit, scan, &cells, &what)?
    };
    let enum_labels = c.type_kind == TypeKind::Enum;
    let allowed = scan.policy.labels(t, &c.name);
    let ns_name = format!("{}.{}", t.qualified(), c.name);
    let tokenizer = scan.salt.namespace(&ns_name);
    let mut cats = Categories {
        labels: enum_labels,
        counts: BTreeMap::new(),
        suppressed_rows: 0,
        suppressed_categories: 0,
    };
    let mut tokens = 0u64;
    for (cell, rows) in cells.into_iter().zip(kept.rows) {
        let Some(rows) = rows else { continue };
        if !scan.noise.is_on() {
            scan.rests(Some(cell.units));
        }
        // An enum label that looks like PII (allowed through by the policy, see
        // crate::metadata) leaves as the token the schema block carries.
        let label = cell.label;
        let flagged = enum_labels && !pgshape_core::pii::scan(&label).is_empty();
        let key = if flagged {
            crate::metadata::enum_token(scan.salt, &label)
        } else if enum_labels || allowed.contains(&label) {
            label
        } else {
            tokens += 1;
            tokenizer.token(label.as_bytes())
        };
        cats.counts.insert(key, scan.sample.scale(rows));
    }
    // Banded: rows to two significant digits, categories up to a multiple of k.
    cats.suppressed_rows =
        crate::cells::significant(scan.sample.scale(kept.hidden_rows) as f64, 2) as u64;
    cats.suppressed_categories = kept.hidden_labels.div_ceil(scan.k) * scan.k;
    // Every key a label (enum, or all allow-listed): consumers may use them as such.
    cats.labels = enum_labels || (tokens == 0 && !allowed.is_empty());
    let ns = (!enum_labels).then(|| Namespace {
        name: ns_name.clone(),
        columns: vec![ns_name],
        tokens,
    });
    Ok((cats, ns))
}

/// Labels one person votes for under DP: the bound, and never more than the rows of theirs
/// the table's figures read.
fn max_keys(scan: &Scan<'_>) -> u32 {
    let bound = scan
        .noise
        .bounds()
        .and_then(|b| b.max_categories_per_unit)
        .unwrap_or(1);
    bound.min(scan.sensitivity()).clamp(1, u64::from(u32::MAX)) as u32
}

/// The cells of column `col`, in label order (which cell complements a suppressed one never
/// depends on the plan). Votes for at most `votes` labels per unit are counted under DP, where
/// a unit can hold several rows (else they are the units).
fn cells(
    reads: &mut Reads<'_, impl GenericClient>,
    col: &str,
    from: &str,
    unit: &UnitSql,
    votes: Option<u32>,
    what: &str,
) -> Result<Vec<Cell>> {
    let rows = reads.all(&cells_sql(col, from, unit, votes), what)?;
    let mut cells: Vec<Cell> = rows
        .iter()
        .map(|r| Cell {
            label: r.get(0),
            rows: r.get::<i64>(1) as u64,
            units: r.get::<i64>(2) as u64,
            votes: r.get::<i64>(3) as u64,
        })
        .collect();
    cells.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(cells)
}

/// The statement of [`cells`]: per label its rows, units and votes.
pub(crate) fn cells_sql(col: &str, from: &str, unit: &UnitSql, votes: Option<u32>) -> String {
    match (&unit.expr, votes) {
        (Some(_), Some(max_keys)) => format!(
            "WITH r AS (SELECT t.{col}::text AS l, {u} AS u, \
             row_number() OVER (PARTITION BY {u} ORDER BY random()) AS rank \
             FROM {from} WHERE t.{col} IS NOT NULL) \
             SELECT l, count(*), count(DISTINCT u), count(DISTINCT u) FILTER (WHERE rank <= {max_keys}) \
             FROM r GROUP BY l",
            u = unit.column()
        ),
        _ => format!(
            "SELECT t.{col}::text, count(*), {units}, {units} FROM {from} \
             WHERE t.{col} IS NOT NULL GROUP BY 1",
            units = unit.count(None)
        ),
    }
}

/// The statement of the people of the labels of column `col` that rest on fewer than `k`
/// (counted together: a person may hold several), worked out by the server from the cells
/// of [`cells_sql`] with DP off: the labels never leave it.
pub(crate) fn hidden_sql(col: &str, from: &str, unit: &UnitSql, k: u64) -> String {
    format!(
        "SELECT {units} FROM {from} WHERE t.{col}::text IN \
         (SELECT c.l FROM ({cells}) c(l, n, un, votes) WHERE c.un < {k} AND c.n > 0)",
        units = unit.count(None),
        cells = cells_sql(col, from, unit, None),
    )
}

/// The labels of an enum column's type in the catalog (a public domain: which of them the data
/// holds need not be hidden), in sort order; none for a domain over an enum.
fn enum_domain(
    client: &mut impl GenericClient,
    t: &Table,
    column: &str,
    what: &str,
) -> Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT e.enumlabel::text FROM pg_attribute a JOIN pg_enum e ON e.enumtypid = a.atttypid \
             WHERE a.attrelid = $1::text::regclass AND a.attname::text = $2::text ORDER BY e.enumsortorder",
            &[&qualified(&t.schema, &t.name), &column],
        )
        .map_err(Error::db(format!("the enum labels of {what}")))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// `cells` with a cell of no rows for every label of `domain` the data does not hold.
fn complete(mut cells: Vec<Cell>, domain: &[String]) -> Vec<Cell> {
    for label in domain {
        if !cells.iter().any(|c| &c.label == label) {
            cells.push(Cell {
                label: label.clone(),
                rows: 0,
                units: 0,
                votes: 0,
            });
        }
    }
    cells.sort_by(|a, b| a.label.cmp(&b.label));
    cells
}

/// Noisy values under this many noise scales are taken as empty ([`crate::dp::noise::Noisy::floored`]):
/// the noise of an empty cell alone reaches it about 2 % of the time. Lower than a
/// histogram's (8 to 10) because a column has few labels: an enum's rarest real labels stay.
const FLOOR_SCALES: f64 = 3.0;

/// Under DP over a public domain (an enum's labels, every one of them a cell): one release of
/// the rows per label (pure ε, no selection); a label whose noisy rows are under the floor
/// is left out as empty, one whose noisy rows rest on fewer than k people
/// ([`crate::dp::people`]) leaves only in the suppressed rows and labels.
fn fixed(cells: &[Cell], scan: &Scan<'_>) -> Result<Kept> {
    let rows: Vec<u64> = cells.iter().map(|c| c.rows).collect();
    let per_person = scan.sensitivity();
    let noisy = scan
        .noise
        .release(Family::Categories, &rows, per_person)
        .map_err(|e| Error::Config(e.to_string()))?;
    let (mut hidden_rows, mut hidden_labels) = (0, 0);
    let rows = noisy
        .floored(FLOOR_SCALES)
        .into_iter()
        .map(|v| {
            let kept = crate::dp::people::behind(v, per_person) >= scan.k;
            if v > 0 && !kept {
                hidden_rows += v;
                hidden_labels += 1;
            }
            (v > 0 && kept).then_some(v)
        })
        .collect();
    Ok(Kept {
        rows,
        hidden_rows,
        hidden_labels,
    })
}

/// Under DP: the labels whose noisy votes reach the threshold; then one release of their
/// rows and the rest's (a person's rows move it by at most the clip), and one of the number
/// of labels hidden that someone voted for (a person moves it by at most `max_keys`).
fn private(cells: &[Cell], max_keys: u32, scan: &Scan<'_>) -> Result<Kept> {
    let dp = |e: crate::dp::DpError| Error::Config(e.to_string());
    let votes: Vec<u64> = cells.iter().map(|c| c.votes).collect();
    let selection = scan
        .noise
        .select(Family::Categories, &votes, max_keys, scan.k)
        .map_err(dp)?
        .ok_or_else(|| Error::Config("categories: a private release with DP off".into()))?;
    let mut rows: Vec<u64> = Vec::new();
    let (mut rest, mut hidden) = (0u64, 0u64);
    for (c, kept) in cells.iter().zip(&selection.kept) {
        match kept {
            Some(_) => rows.push(c.rows),
            None => {
                rest += c.rows;
                hidden += u64::from(c.votes > 0);
            }
        }
    }
    rows.push(rest);
    let released = scan
        .noise
        .release_part(Family::Categories, &rows, scan.sensitivity(), ROWS_PART)
        .map_err(dp)?;
    let mut noisy = released.values.clone();
    // The rest under the floor is the noise of nothing hidden.
    let last = noisy.len() - 1;
    noisy[last] = released.floored(FLOOR_SCALES)[last];
    let hidden_part = 1.0 - SELECTION_PART - ROWS_PART;
    let hidden = scan
        .noise
        .release_part(
            Family::Categories,
            &[hidden],
            u64::from(max_keys),
            hidden_part,
        )
        .map_err(dp)?
        .values[0];
    let mut noisy_kept = noisy.iter();
    let out = selection
        .kept
        .iter()
        .map(|k| k.and_then(|_| noisy_kept.next().copied()))
        .collect();
    Ok(Kept {
        rows: out,
        hidden_rows: noisy[noisy.len() - 1],
        hidden_labels: hidden,
    })
}

/// With DP off: labels of at least k people, with a complement where the hidden ones could
/// be recovered by subtraction.
fn k_suppressed(
    reads: &mut Reads<'_, impl GenericClient>,
    col: &str,
    from: &str,
    unit: &UnitSql,
    scan: &Scan<'_>,
    cells: &[Cell],
    what: &str,
) -> Result<Kept> {
    let hidden_labels = cells.iter().filter(|c| c.units < scan.k && c.rows > 0);
    // The suppressed cells' people together (a label may hold a person another also holds).
    let hidden_units = if hidden_labels.count() <= 1 {
        None
    } else {
        let row = reads.one(
            &hidden_sql(col, from, unit, scan.k),
            format!("people of the suppressed {what}"),
        )?;
        Some(row.get::<i64>(0) as u64)
    };
    let counts: Vec<(u64, u64)> = cells.iter().map(|c| (c.rows, c.units)).collect();
    let rows = crate::profile::suppress_with_complement_given(&counts, scan.k, hidden_units);
    let (mut hidden_rows, mut hidden) = (0, 0);
    for (c, r) in cells.iter().zip(&rows) {
        if r.is_none() {
            hidden_rows += c.rows;
            hidden += 1;
        }
    }
    Ok(Kept {
        rows,
        hidden_rows,
        hidden_labels: hidden,
    })
}
