//! Integrity and reproducibility, computed by the server: row counts, orphan rows per foreign
//! key (composite keys included), and two hashes per table under fixed `TimeZone`, `DateStyle`,
//! `IntervalStyle` and `extra_float_digits`:
//!
//! - `key_md5`: the guide's `md5(array_agg(<key> ORDER BY <key>)::text)` (tables up to
//!   `KEY_MD5_MAX_ROWS` rows: past that the array no longer fits a value);
//! - `rows_sum`: the sum modulo 2^64 of the first 64 bits of `md5(row::text)` over all rows,
//!   with the count: order-independent, constant memory at any size.
//!
//! Two loads of the same dataset have the same hashes; a changed byte changes them.

use std::collections::BTreeMap;

use pgshape_core::catalog::{self, Table};
use pgshape_core::conn::Target;
use pgshape_core::dataset_report::ParentRef;
use pgshape_core::ident::{qualified, quote};
use pgshape_core::{Error, Result};
use postgres::GenericClient;
use serde::{Deserialize, Serialize};

/// Above this many rows `key_md5` is not computed.
pub const KEY_MD5_MAX_ROWS: i64 = 20_000_000;

/// What a table holds, as the server computes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCheck {
    pub rows: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_md5: Option<String>,
    pub rows_sum: String,
}

/// Orphans of one foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orphans {
    pub table: String,
    pub foreign_key: String,
    pub orphans: i64,
    /// True when the count is 0 because PostgreSQL validated the constraint (no scan).
    #[serde(default)]
    pub validated: bool,
}

/// Fixes the settings that change a row's text form.
pub fn fix_settings(client: &mut impl GenericClient) -> Result<()> {
    client
        .batch_execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3;")
        .map_err(Error::db("fixing output settings"))
}

/// [`check_tables`] over `jobs` connections to `target`, a table per connection at a time.
pub fn check_tables_on(
    target: &Target,
    jobs: usize,
    schema: &str,
    tables: &[String],
) -> Result<BTreeMap<String, TableCheck>> {
    let mut client = crate::load::connect(target)?;
    let cat = catalog::read(&mut client, &[schema.to_string()])?;
    let found = tables
        .iter()
        .map(|name| find(&cat, schema, name))
        .collect::<Result<Vec<&Table>>>()?;
    let checks = crate::parallel::on_target(target, jobs, &found, |c, t| {
        fix_settings(c)?;
        check_table(c, t)
    })?;
    Ok(tables.iter().cloned().zip(checks).collect())
}

fn find<'a>(cat: &'a catalog::Schema, schema: &str, name: &str) -> Result<&'a Table> {
    cat.tables
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| Error::Invalid {
            path: schema.into(),
            message: format!("table {schema}.{name} does not exist"),
        })
}

/// Counts and hashes of the named tables of `schema`.
pub fn check_tables(
    client: &mut impl GenericClient,
    schema: &str,
    tables: &[String],
) -> Result<BTreeMap<String, TableCheck>> {
    fix_settings(client)?;
    let cat = catalog::read(client, &[schema.to_string()])?;
    let mut out = BTreeMap::new();
    for name in tables {
        let t = cat
            .tables
            .iter()
            .find(|t| &t.name == name)
            .ok_or_else(|| Error::Invalid {
                path: schema.into(),
                message: format!("table {schema}.{name} does not exist"),
            })?;
        out.insert(name.clone(), check_table(client, t)?);
    }
    Ok(out)
}

fn check_table(client: &mut impl GenericClient, t: &Table) -> Result<TableCheck> {
    let rel = qualified(&t.schema, &t.name);
    let key: Vec<String> = match &t.primary_key {
        Some(pk) => pk.iter().map(|c| quote(c)).collect(),
        None => t.columns.iter().map(|c| quote(&c.name)).collect(),
    };
    let order = key.join(", ");
    let agg_expr = if key.len() == 1 {
        key[0].clone()
    } else {
        format!("ROW({order})")
    };
    // The 64-bit prefix of each row's md5 as two 32-bit halves: bigint sums (the server adds
    // them in 128-bit integers) instead of a numeric sum of 64-bit values, the same total.
    let row = client
        .query_one(
            &format!(
                "SELECT count(*),
                        coalesce(sum(('x' || substr(h, 1, 8))::bit(32)::bigint), 0)::text,
                        coalesce(sum(('x' || substr(h, 9, 8))::bit(32)::bigint), 0)::text
                   FROM (SELECT md5(t::text) AS h FROM {rel} t) r"
            ),
            &[],
        )
        .map_err(Error::db(format!("hashing {}", t.qualified())))?;
    let rows: i64 = row.get(0);
    let half = |i: usize| -> u128 { row.get::<_, String>(i).parse().unwrap_or(0) };
    let sum = rows_sum(half(1), half(2)).to_string();
    let key_md5 = if rows <= KEY_MD5_MAX_ROWS {
        let r = client
            .query_one(
                &format!("SELECT md5(array_agg({agg_expr} ORDER BY {order})::text) FROM {rel}"),
                &[],
            )
            .map_err(Error::db(format!("hashing the keys of {}", t.qualified())))?;
        r.get::<_, Option<String>>(0)
    } else {
        None
    };
    Ok(TableCheck {
        rows,
        key_md5,
        rows_sum: sum,
    })
}

/// The sum modulo 2^64 of the rows' 64-bit md5 prefixes, from the sums of their high and low
/// 32-bit halves.
fn rows_sum(high: u128, low: u128) -> u64 {
    ((high << 32).wrapping_add(low) % (1u128 << 64)) as u64
}

/// Orphan rows of every foreign key of the named tables of `schema`: child rows whose
/// non-null key has no parent row.
pub fn orphans(
    client: &mut impl GenericClient,
    schema: &str,
    tables: &[String],
) -> Result<Vec<Orphans>> {
    let cat = catalog::read(client, &[schema.to_string()])?;
    let mut out = Vec::new();
    for t in cat.tables.iter().filter(|t| tables.contains(&t.name)) {
        for fk in &t.foreign_keys {
            let not_null = fk
                .columns
                .iter()
                .map(|c| format!("c.{} IS NOT NULL", quote(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            // A foreign key PostgreSQL has validated has no orphans: no need to count them.
            let validated: bool = client
                .query_one(
                    "SELECT coalesce(bool_and(convalidated), false) FROM pg_constraint
                      WHERE conname = $1 AND conrelid = $2::text::regclass AND contype = 'f'",
                    &[&fk.name, &qualified(&t.schema, &t.name)],
                )
                .map_err(Error::db(format!("checking {}", fk.name)))?
                .get(0);
            if validated {
                out.push(Orphans {
                    table: t.name.clone(),
                    foreign_key: fk.name.clone(),
                    orphans: 0,
                    validated: true,
                });
                continue;
            }
            let join = fk.join_sql("c", "p");
            let sql = format!(
                "SELECT count(*) FROM {} c WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {join})",
                qualified(&t.schema, &t.name),
                qualified(&fk.ref_schema, &fk.ref_table)
            );
            let n: i64 = client
                .query_one(&sql, &[])
                .map_err(Error::db(format!("checking {}", fk.name)))?
                .get(0);
            out.push(Orphans {
                table: t.name.clone(),
                foreign_key: fk.name.clone(),
                orphans: n,
                validated: false,
            });
        }
    }
    Ok(out)
}

/// Fan-out figures of a grouping foreign key as the server measures them, next to what the
/// generator's report says it achieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanoutCheck {
    pub table: String,
    pub parent: ParentRef,
    pub parents: i64,
    pub zero_fraction: f64,
    /// p50, p95, p99 over parents with children (nearest rank, as the generator reports them).
    pub quantiles: [f64; 3],
    /// The report's p50, p95, p99 and zero-child fraction.
    pub expected: [f64; 3],
    pub expected_zero_fraction: f64,
    pub ok: bool,
}

impl FanoutCheck {
    /// Measures `table`'s fan-out under `parent` and compares it with the expectation:
    /// quantiles within 5 % (or one child), zero-child fraction within 0.01.
    pub fn measure(
        client: &mut impl GenericClient,
        schema: &str,
        table: &str,
        parent: &ParentRef,
        expected: [f64; 3],
        expected_zero_fraction: f64,
    ) -> Result<FanoutCheck> {
        let (parents, zero, p50, p95, p99) = fanout(
            client,
            schema,
            table,
            &parent.columns,
            &parent.table,
            &parent.ref_columns,
        )?;
        let quantiles = [p50, p95, p99];
        let close = |g: f64, e: f64| (g - e).abs() <= (0.05 * e).max(1.0);
        let ok = quantiles.iter().zip(&expected).all(|(g, e)| close(*g, *e))
            && (zero - expected_zero_fraction).abs() <= 0.01;
        Ok(FanoutCheck {
            table: table.into(),
            parent: parent.clone(),
            parents,
            zero_fraction: zero,
            quantiles,
            expected,
            expected_zero_fraction,
            ok,
        })
    }
}

/// [`check_fanouts`] over `jobs` connections to `target`.
pub fn check_fanouts_on(
    target: &Target,
    jobs: usize,
    schema: &str,
    tables: &[crate::source::TablePlan],
) -> Result<Vec<FanoutCheck>> {
    let edges: Vec<(&str, &ParentRef, [f64; 3], f64)> = tables
        .iter()
        .filter_map(|t| match (&t.parent, &t.achieved) {
            (Some(p), Some(a)) => {
                Some((t.name.as_str(), p, [a.p50, a.p95, a.p99], a.zero_fraction))
            }
            _ => None,
        })
        .collect();
    crate::parallel::on_target(
        target,
        jobs,
        &edges,
        |c, &(table, parent, expected, zero)| {
            FanoutCheck::measure(c, schema, table, parent, expected, zero)
        },
    )
}

/// Fan-out checks of every per-parent table whose report gives achieved figures.
pub fn check_fanouts(
    client: &mut impl GenericClient,
    schema: &str,
    tables: &[crate::source::TablePlan],
) -> Result<Vec<FanoutCheck>> {
    let mut out = Vec::new();
    for t in tables {
        let (Some(p), Some(a)) = (&t.parent, &t.achieved) else {
            continue;
        };
        out.push(FanoutCheck::measure(
            client,
            schema,
            &t.name,
            p,
            [a.p50, a.p95, a.p99],
            a.zero_fraction,
        )?);
    }
    Ok(out)
}

/// Fan-out of a grouping foreign key: (parents, zero fraction, p50, p95, p99 over parents
/// with children), computed by the server.
pub fn fanout(
    client: &mut impl GenericClient,
    schema: &str,
    child: &str,
    columns: &[String],
    parent: &str,
    ref_columns: &[String],
) -> Result<(i64, f64, f64, f64, f64)> {
    let join = columns
        .iter()
        .zip(ref_columns)
        .map(|(c, p)| format!("c.{} = p.{}", quote(c), quote(p)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let group = ref_columns
        .iter()
        .map(|p| format!("p.{}", quote(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "WITH f AS (SELECT count(c.*) AS n FROM {} p LEFT JOIN {} c ON {join} GROUP BY {group})
         SELECT count(*), coalesce(avg((n = 0)::int), 0)::float8,
                coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FILTER (WHERE n > 0)::float8, 0),
                coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY n) FILTER (WHERE n > 0)::float8, 0),
                coalesce(percentile_disc(0.99) WITHIN GROUP (ORDER BY n) FILTER (WHERE n > 0)::float8, 0)
           FROM f",
        qualified(schema, parent),
        qualified(schema, child)
    );
    let r = client
        .query_one(&sql, &[])
        .map_err(Error::db(format!("fan-out of {child}")))?;
    Ok((r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
}

#[cfg(test)]
mod tests {
    use super::rows_sum;

    #[test]
    fn rows_sum_is_the_sum_of_the_prefixes_modulo_2_64() {
        // Two rows with prefixes ffffffff_ffffffff and 00000000_00000002: 1 modulo 2^64.
        assert_eq!(rows_sum(0xffff_ffff, 0xffff_ffff + 2), 1);
        let prefixes = [0x0123_4567_89ab_cdefu64, 0xfedc_ba98_7654_3210, 42];
        let (high, low) = prefixes.iter().fold((0u128, 0u128), |(h, l), p| {
            (h + (p >> 32) as u128, l + (p & 0xffff_ffff) as u128)
        });
        let want = prefixes.iter().fold(0u64, |a, p| a.wrapping_add(*p));
        assert_eq!(rows_sum(high, low), want);
    }
}
