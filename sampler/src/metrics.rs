//! The metrics of one table, computed by the server: counts, null fractions and distinct
//! ratios in one pass over the table, then per column by role length distributions, category
//! frequencies ([`crate::categories`]), numeric distributions and arrival profiles. Only
//! aggregates cross the wire.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pgshape_core::catalog::Table;
use pgshape_core::ident::{qualified, quote};
use pgshape_core::pack::{
    ColumnMetrics, Namespace, TableMetrics, DISTINCT_RATIO_DECIMALS, LENGTH_QUANTILES,
};
use pgshape_core::token::Salt;
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::cells::{round6, round_decimals};
use crate::dp::budget::Family;
use crate::dp::noise::{Noiser, Noisy};
use crate::policy::Policy;
use crate::reads::Reads;
use crate::roles::Role;
use crate::sample::Sample;
use crate::unit::UnitSql;

/// What every metric of one extraction shares.
pub struct Scan<'a> {
    pub k: u64,
    pub sample: Sample,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub salt: &'a Salt,
    pub policy: &'a Policy,
    /// The fewest units an exported figure of the current table rests on.
    pub rests_on: std::cell::Cell<Option<u64>>,
    /// The noise of the pack's figures (off with `--no-dp`).
    pub noise: &'a Noiser,
    /// Rows per unit the current table's figures read (`None`: not clipped, because DP is off
    /// or each unit has one row); see [`crate::clip`].
    pub clip: std::cell::Cell<Option<u64>>,
    /// Per clipped table (qualified name), its rows per person and clip, chosen before any
    /// figure is read ([`crate::volume`]).
    pub chosen: std::cell::RefCell<BTreeMap<String, crate::volume::Chosen>>,
    /// When an exact extraction reads its figures ahead ([`crate::reads`]): per table
    /// (qualified name) the base its figures read instead of the table.
    pub bases: Option<BTreeMap<String, String>>,
}

impl Scan<'_> {
    /// The base of table `schema.name` when figures are read ahead.
    fn base(&self, schema: &str, name: &str) -> Option<&String> {
        self.bases.as_ref()?.get(&format!("{schema}.{name}"))
    }

    /// The relation of table `schema.name` (quoted), or its base.
    pub fn relation(&self, schema: &str, name: &str) -> String {
        match self.base(schema, name) {
            Some(b) => b.clone(),
            None => qualified(schema, name),
        }
    }

    /// The `FROM` item of table `schema.name` under `alias`: sampled as the scan says, or
    /// its base.
    pub fn from_item(&self, schema: &str, name: &str, alias: &str) -> String {
        match self.base(schema, name) {
            Some(b) => format!("{b} {alias}"),
            None => self.sample.from(&qualified(schema, name), alias),
        }
    }

    /// The unit `unit` of table `schema.name` (over alias `t`), or its base's column.
    pub fn unit_of(&self, schema: &str, name: &str, unit: &UnitSql) -> UnitSql {
        match self.base(schema, name) {
            Some(_) => UnitSql {
                joins: String::new(),
                expr: unit.expr.as_ref().map(|_| format!("t.{BASE_UNIT}")),
            },
            None => unit.clone(),
        }
    }

    /// Records that an exported figure rests on `units` people.
    pub fn rests(&self, units: Option<u64>) {
        if let Some(u) = units {
            self.rests_on
                .set(Some(self.rests_on.get().map_or(u, |m| m.min(u))));
        }
    }

    /// The L1 sensitivity of one histogram of the current table's (clipped) rows.
    pub fn sensitivity(&self) -> u64 {
        self.clip.get().unwrap_or(1)
    }

    /// Noisy `counts` of `family` of L1 sensitivity `sensitivity` (unchanged when off).
    pub fn noisy(&self, family: Family, counts: &[u64], sensitivity: u64) -> Result<Noisy> {
        self.noise
            .release(family, counts, sensitivity)
            .map_err(|e| Error::Config(e.to_string()))
    }
}

/// The column of a base that holds a row's unit ([`crate::reads`]).
pub const BASE_UNIT: &str = "pgshape_unit";

/// A row count as a band: one significant digit (a table of few people is not counted
/// exactly).
pub fn band(n: u64) -> u64 {
    crate::cells::significant(n as f64, 1) as u64
}

/// The one-pass figures of a table: rows, people, window rows, and per column read.
struct Pass {
    total: u64,
    people: u64,
    window: u64,
    columns: Vec<ColumnPass>,
}

struct ColumnPass {
    /// NOT NULL in the catalog (public: its null count is 0, noised or not).
    not_null: bool,
    non_null: u64,
    distinct: u64,
    set_people: u64,
    null_people: u64,
}

/// Counts, null counts and distinct counts of the columns `read` of `t` in one pass over
/// `from`.
fn one_pass(
    reads: &mut Reads<'_, impl GenericClient>,
    t: &Table,
    read: &[usize],
    window: Option<&str>,
    from: &str,
    unit: &UnitSql,
    scan: &Scan<'_>,
) -> Result<Pass> {
    let row = reads.one(
        &one_pass_sql(t, read, window, from, unit, scan),
        format!(
            "counts, null fractions and distinct ratios of {}",
            t.qualified()
        ),
    )?;
    let get = |i: usize| row.get::<i64>(i) as u64;
    Ok(Pass {
        total: get(0),
        people: get(1),
        window: get(2),
        columns: (0..read.len())
            .map(|j| ColumnPass {
                not_null: t.columns[read[j]].not_null,
                non_null: get(3 + 4 * j),
                distinct: get(4 + 4 * j),
                set_people: get(5 + 4 * j),
                null_people: get(6 + 4 * j),
            })
            .collect(),
    })
}

/// The statement of [`one_pass`].
fn one_pass_sql(
    t: &Table,
    read: &[usize],
    window: Option<&str>,
    from: &str,
    unit: &UnitSql,
    scan: &Scan<'_>,
) -> String {
    let mut select = vec!["count(*)".to_string(), unit.count(None)];
    match window {
        // Without a window column the window count's place is taken by a constant.
        None => select.push("0::bigint".into()),
        Some(w) => {
            let w = quote(w);
            select.push(format!(
                "count(*) FILTER (WHERE t.{w} >= {} AND t.{w} < {})",
                crate::reads::instant(scan.start),
                crate::reads::instant(scan.end)
            ));
        }
    }
    for &i in read {
        let c = quote(&t.columns[i].name);
        select.push(format!(
            "count(t.{c}), count(DISTINCT t.{c}::text), {}, {}",
            unit.count(Some(&format!("t.{c} IS NOT NULL"))),
            unit.count(Some(&format!("t.{c} IS NULL")))
        ));
    }
    format!("SELECT {} FROM {from}", select.join(", "))
}

/// The pass's counts, null counts and distinct counts noised (one release per family: the
/// table's counts, its columns' null counts, their distinct counts), and the people behind
/// each column's values and nulls inferred from them ([`crate::dp::people`]). `read`: a
/// clipped table's noisy count of the rows read, already released.
fn noise_pass(pass: &mut Pass, windowed: bool, read: Option<u64>, scan: &Scan<'_>) -> Result<()> {
    if !scan.noise.is_on() {
        return Ok(());
    }
    let s = scan.sensitivity();
    let exact_total = pass.total;
    let counts = match read {
        // A clipped table's rows read, released with its count ([`crate::volume`]).
        Some(read) => vec![read, 0],
        None => {
            scan.noisy(
                Family::Counts,
                &[pass.total, pass.window],
                s * if windowed { 2 } else { 1 },
            )?
            .values
        }
    };
    pass.total = counts[0];
    pass.window = if windowed { counts[1] } else { 0 };
    let n = pass.columns.len() as u64;
    if n == 0 {
        return Ok(());
    }
    let nulls: Vec<u64> = pass
        .columns
        .iter()
        .map(|c| c.nulls_of(exact_total))
        .collect();
    let distinct: Vec<u64> = pass.columns.iter().map(|c| c.distinct).collect();
    let nulls = scan.noisy(Family::NullFractions, &nulls, s * n)?.values;
    let distinct = scan.noisy(Family::DistinctRatios, &distinct, s * n)?.values;
    for ((c, nulls), distinct) in pass.columns.iter_mut().zip(nulls).zip(distinct) {
        // A NOT NULL column has no nulls, whatever the noise says (the catalog is public).
        let nulls = if c.not_null { 0 } else { nulls };
        c.non_null = pass.total.saturating_sub(nulls);
        c.distinct = distinct.min(c.non_null);
        // The k rule of the null fraction runs on the release ([`crate::dp::people`]).
        c.set_people = crate::dp::people::behind(c.non_null, s);
        c.null_people = crate::dp::people::behind(c.nulls_of(pass.total), s);
    }
    Ok(())
}

impl ColumnPass {
    fn nulls_of(&self, total: u64) -> u64 {
        total.saturating_sub(self.non_null)
    }
}

/// The metrics of table `t` and of every column (`roles[i]` is the role of `t.columns[i]`;
/// `skip` columns are not read): its total and in-window counts, null fractions and distinct
/// ratios in one pass, then per column what its role exports. Under DP the table's rows are
/// clipped per unit first ([`crate::clip`]) and every figure noised. Returns the token
/// namespaces used, for the manifest.
pub fn table(
    reads: &mut Reads<'_, impl GenericClient>,
    t: &Table,
    roles: &[Role],
    window: Option<&str>,
    unit: &UnitSql,
    scan: &Scan<'_>,
) -> Result<(TableMetrics, Vec<Namespace>)> {
    let (from, unit) = from_item(t, unit, scan);
    let read = read_columns(t, roles);
    let mut pass = one_pass(reads, t, &read, window, &from, &unit, scan)?;
    // A clipped table's count ([`crate::volume`]), from its rows per person read before.
    let chosen = scan.chosen.borrow().get(&t.qualified()).cloned();
    let volume = match (chosen, scan.clip.get()) {
        (Some(chosen), Some(_)) => Some(crate::volume::estimate(
            &chosen,
            window.is_some(),
            chosen.per_person.bound,
            scan,
        )?),
        _ => None,
    };
    noise_pass(
        &mut pass,
        window.is_some(),
        volume.as_ref().map(|v| v.read),
        scan,
    )?;
    // Under DP the people are those the noisy count of the rows read can rest on (at most
    // the clip a person), as for every other k decision.
    let people = match scan.noise.is_on() {
        false => pass.people,
        true => crate::dp::people::behind(pass.total, scan.sensitivity()),
    };
    if people < scan.k {
        // The rows of fewer than k people: the schema and a row-count band, nothing else.
        return Ok((
            TableMetrics {
                total_rows: band(scan.sample.scale(pass.total)),
                count_method: "band".into(),
                window_column: None,
                window_rows: None,
                columns: BTreeMap::new(),
                privacy_unit: None,
                min_people: None,
                count_clip: None,
            },
            Vec::new(),
        ));
    }
    scan.rests(Some(people));
    let (total, window_total) = match &volume {
        Some(v) => (v.total, v.window),
        None => (pass.total, pass.window),
    };
    let mut metrics = TableMetrics {
        total_rows: scan.sample.scale(total),
        count_method: match (scan.noise.is_on(), scan.sample.is_sampled()) {
            (true, _) => "noisy".into(),
            (false, true) => "sampled".into(),
            (false, false) => "exact".into(),
        },
        window_column: window.map(str::to_string),
        window_rows: window.map(|_| scan.sample.scale(window_total)),
        columns: BTreeMap::new(),
        privacy_unit: None,
        min_people: None,
        count_clip: volume.as_ref().map(|v| v.clip),
    };
    let mut namespaces = Vec::new();
    for (&i, p) in read.iter().zip(&pass.columns) {
        let c = &t.columns[i];
        let (m, ns) = column(reads, t, i, roles[i], p, pass.total, &from, &unit, scan)?;
        namespaces.extend(ns);
        metrics.columns.insert(c.name.clone(), m);
    }
    Ok((metrics, namespaces))
}

/// The metrics of column `i` of `t` (role `r`, one-pass figures `p` of `total` rows).
#[allow(clippy::too_many_arguments)]
fn column(
    reads: &mut Reads<'_, impl GenericClient>,
    t: &Table,
    i: usize,
    r: Role,
    p: &ColumnPass,
    total: u64,
    from: &str,
    unit: &UnitSql,
    scan: &Scan<'_>,
) -> Result<(ColumnMetrics, Option<Namespace>)> {
    let c = &t.columns[i];
    // An identifier (by its name): only its null fraction and a banded distinct ratio, like
    // a key.
    let ratio = (p.non_null > 0).then(|| p.distinct as f64 / p.non_null as f64);
    let identifier = crate::roles::identifier_like(c, r);
    let r = if identifier { Role::Other } else { r };
    // The null fraction rests on the people with values and those without: where either
    // side has fewer than k, it is said as all or nothing.
    let null_fraction = if total == 0 || p.set_people < scan.k {
        if total == 0 {
            0.0
        } else {
            1.0
        }
    } else if p.null_people < scan.k {
        0.0
    } else {
        round6(p.nulls_of(total) as f64 / total as f64)
    };
    if p.set_people < scan.k {
        return Ok((ColumnMetrics::bare(r.to_string(), null_fraction), None));
    }
    scan.rests(Some(p.set_people));
    if p.null_people >= scan.k {
        scan.rests(Some(p.null_people));
    }
    let decimals = if identifier {
        1
    } else {
        DISTINCT_RATIO_DECIMALS
    };
    let mut m = ColumnMetrics {
        role: r.to_string(),
        null_fraction,
        distinct_ratio: ratio.map(|x| round_decimals(x, decimals)),
        daily_days: None,
        hourly: None,
        weekday: None,
        daily: None,
        length: None,
        categories: None,
        number: None,
    };
    let ns = by_role(reads, t, i, r, from, unit, scan, &mut m)?;
    Ok((m, ns))
}

/// What column `i` of `t` exports by its role `r` (into `m`), from the `FROM` item `from`
/// with the unit's joins; the token namespace a category column used.
#[allow(clippy::too_many_arguments)]
fn by_role(
    reads: &mut Reads<'_, impl GenericClient>,
    t: &Table,
    i: usize,
    r: Role,
    from: &str,
    unit: &UnitSql,
    scan: &Scan<'_>,
    m: &mut ColumnMetrics,
) -> Result<Option<Namespace>> {
    let c = &t.columns[i];
    let what = format!("{}.{}", t.qualified(), c.name);
    let col = quote(&c.name);
    // A text key's lengths are exported too (never its values): a generator writes
    // synthetic keys of the same lengths.
    let text_key = r == Role::Key && is_text_type(c);
    match r {
        _ if text_key || matches!(r, Role::Text | Role::Pii) => {
            // Lengths are computed by the server: content never crosses the wire.
            let with = lengths_with(c, &col, from, unit);
            let what = format!("the lengths of {what}");
            let of = lengths_of(&with, unit, &what);
            let dp = crate::shape::ShapeDp {
                family: Family::Lengths,
                sensitivity: scan.sensitivity(),
                per_person: scan.sensitivity(),
                bound: scan.noise.bounds().map_or(u64::MAX, |b| b.max_length),
            };
            let measured = crate::shape::measure(reads, &of, scan, &dp)?;
            scan.rests(measured.min_units);
            m.length = Some(measured.shape);
        }
        Role::Category => {
            let (cats, ns) = crate::categories::categories(reads, t, i, from, unit, scan)?;
            m.categories = Some(cats);
            return Ok(ns);
        }
        Role::Number => {
            let (number, people) = crate::numbers::numbers(
                reads,
                from,
                &col,
                &crate::roles::number_sql(c, &col),
                unit,
                &what,
                scan,
            )?;
            scan.rests(people);
            m.number = Some(number);
        }
        Role::Timestamp => {
            let p = crate::profile::profiles(reads, from, c, unit, &what, scan)?;
            scan.rests(p.min_units);
            m.hourly = p.hourly;
            m.weekday = Some(p.weekday);
            m.daily = p.daily;
            m.daily_days = (p.bucket_days > 1).then_some(p.bucket_days);
        }
        Role::Text | Role::Pii | Role::Key | Role::Other | Role::Skip => {}
    }
    Ok(None)
}

/// The `FROM` item (alias `t`) of table `t`'s figures and the unit's SQL over it: the table
/// (sampled, with the unit's joins) or its base, clipped under DP ([`crate::clip`]).
fn from_item(t: &Table, unit: &UnitSql, scan: &Scan<'_>) -> (String, UnitSql) {
    let unit = scan.unit_of(&t.schema, &t.name, unit);
    let from = format!("{} {}", scan.from_item(&t.schema, &t.name, "t"), unit.joins);
    crate::clip::rows(&from, &unit, scan.clip.get())
}

/// The columns of `t` read (all but `skip`).
fn read_columns(t: &Table, roles: &[Role]) -> Vec<usize> {
    (0..t.columns.len())
        .filter(|&i| roles[i] != Role::Skip)
        .collect()
}

/// The lengths of column `c` (quoted `col`) with their units, as the relation `v`.
fn lengths_with(
    c: &pgshape_core::catalog::Column,
    col: &str,
    from: &str,
    unit: &UnitSql,
) -> String {
    format!(
        "v AS MATERIALIZED (SELECT {}::bigint AS x, {} AS u FROM {from} WHERE t.{col} IS NOT NULL)",
        crate::roles::length_sql(c, col),
        unit.column()
    )
}

/// What [`crate::shape`] reads of a column's lengths.
fn lengths_of<'a>(with: &'a str, unit: &UnitSql, what: &'a str) -> crate::shape::Of<'a> {
    crate::shape::Of {
        with,
        hist: "v",
        quantile: "v",
        by_unit: unit.expr.is_some(),
        points: LENGTH_QUANTILES,
        what,
    }
}

/// Every statement [`table`] may run for table `t` with DP off, whatever its figures turn
/// out to be (an exact extraction reads them ahead: [`crate::reads`]).
pub fn statements(
    t: &Table,
    roles: &[Role],
    window: Option<&str>,
    unit: &UnitSql,
    scan: &Scan<'_>,
) -> Vec<String> {
    let (from, unit) = from_item(t, unit, scan);
    let read = read_columns(t, roles);
    let mut out = vec![one_pass_sql(t, &read, window, &from, &unit, scan)];
    for i in read {
        let c = &t.columns[i];
        let r = match crate::roles::identifier_like(c, roles[i]) {
            true => Role::Other,
            false => roles[i],
        };
        let col = quote(&c.name);
        let text_key = r == Role::Key && is_text_type(c);
        match r {
            _ if text_key || matches!(r, Role::Text | Role::Pii) => {
                let with = lengths_with(c, &col, &from, &unit);
                let points: Vec<f64> = LENGTH_QUANTILES.iter().map(|(_, p)| *p).collect();
                out.push(crate::shape::sql(
                    &lengths_of(&with, &unit, ""),
                    None,
                    &points,
                    scan.k,
                ));
            }
            Role::Category => {
                out.push(crate::categories::cells_sql(&col, &from, &unit, None));
                out.push(crate::categories::hidden_sql(&col, &from, &unit, scan.k));
            }
            Role::Number => {
                let x = crate::roles::number_sql(c, &col);
                out.push(crate::numbers::numbers_sql(&from, &col, &x, &unit, scan));
            }
            Role::Timestamp => out.push(crate::profile::grid_sql(&from, c, &unit, scan)),
            Role::Text | Role::Pii | Role::Key | Role::Other | Role::Skip => {}
        }
    }
    out
}

/// Text, varchar and char columns (and domains over them).
pub(crate) fn is_text_type(c: &pgshape_core::catalog::Column) -> bool {
    let t = c.effective_type();
    let base = t.split('(').next().unwrap_or(t).trim();
    c.type_kind != pgshape_core::catalog::TypeKind::Enum
        && matches!(base, "text" | "character varying" | "character")
}
