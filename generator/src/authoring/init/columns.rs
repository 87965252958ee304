//! Column generators of a derived spec, by role and type (see [`super`]).

use std::collections::BTreeSet;

use indexmap::IndexMap;
use pgshape_core::catalog::{Column, ForeignKey, Schema, Table, TypeKind};
use pgshape_core::dist::Dist;
use pgshape_core::pack::{ColumnMetrics, Pack, TableMetrics};
use pgshape_core::spec::{
    ArrayOf, Boolean, BytesGen, Category, ColumnSpec, Earlier, InetGen, JsonGen, KeyFormat,
    KeyText, Number, ParentKey, Pick, Reference, Sequence, SqlType, Text, TextStyle, Timestamp,
    UuidGen,
};
use pgshape_core::Result;

use super::options::unsupported;
use crate::authoring::fit;
use crate::authoring::shapes::{length_of, round6};

/// Whether `column` of `table` becomes a `sequence`: an integer primary or unique key that is
/// no foreign key — single-column, or the one integer column of a composite key whose other
/// columns are foreign keys or times (`(store_id, sku)` with `store_id` a foreign key;
/// `(id, created_at)`, a partitioned table's key) — or a single-column text or uuid key that
/// is no foreign key and that some foreign key of `schema` references (written as text or a
/// UUID, see [`key_format`]). Sequences are unique over the whole table, so such a key is
/// unique whatever the other columns. Unreferenced text and uuid keys keep their text and
/// uuid generators.
pub(super) fn is_sequence_key(schema: &Schema, table: &Table, column: &str) -> bool {
    let in_fk = |x: &str| {
        table
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.iter().any(|c| c == x))
    };
    let keyed = |k: &Vec<String>| {
        k.contains(&column.to_string())
            && (k.len() == 1
                || k.iter().filter(|x| *x != column).all(|x| {
                    in_fk(x)
                        || table
                            .column(x)
                            .is_some_and(|c| sql_type(c).is_ok_and(|t| t.is_temporal()))
                }))
    };
    let single = |k: &Vec<String>| k.len() == 1 && k[0] == column;
    let Some(c) = table.column(column) else {
        return false;
    };
    let Ok(t) = sql_type(c) else { return false };
    if in_fk(column) {
        return false;
    }
    if t.is_integer() {
        return table.primary_key.as_ref().is_some_and(keyed)
            || table.unique_keys.iter().any(keyed);
    }
    let referenced = || {
        schema.tables.iter().any(|o| {
            o.foreign_keys.iter().any(|fk| {
                fk.ref_schema == table.schema
                    && fk.ref_table == table.name
                    && fk.ref_columns == [column]
            })
        })
    };
    c.type_kind != TypeKind::Enum
        && matches!(t, SqlType::Text | SqlType::Varchar | SqlType::Uuid)
        && (table.primary_key.as_ref().is_some_and(single) || table.unique_keys.iter().any(single))
        && referenced()
}

/// Whether `column` of `table` is of an integer type.
pub(super) fn is_integer(table: &Table, column: &str) -> bool {
    table
        .column(column)
        .is_some_and(|c| sql_type(c).is_ok_and(|t| t.is_integer()))
}

/// The generator type of a catalog column, or why there is none.
fn sql_type(c: &Column) -> std::result::Result<SqlType, String> {
    Ok(column_type(c)?.0)
}

/// The generator type of a catalog column (an array's element type) and whether it is an
/// array, or why there is none.
fn column_type(c: &Column) -> std::result::Result<(SqlType, bool), String> {
    if c.type_kind == TypeKind::Enum {
        return Ok((SqlType::Text, false));
    }
    let t = c.effective_type();
    let (element, array) = match t.strip_suffix("[]") {
        Some(e) => (e, true),
        None => (t, false),
    };
    let base = element.split('(').next().unwrap_or(element).trim();
    let sql = match base {
        "bigint" => SqlType::Bigint,
        "integer" => SqlType::Integer,
        "smallint" => SqlType::Smallint,
        "double precision" => SqlType::Double,
        "real" => SqlType::Real,
        "boolean" => SqlType::Boolean,
        "text" => SqlType::Text,
        "character varying" if array => SqlType::Varchar,
        "character varying" | "character" if !array => SqlType::Text,
        "timestamp with time zone" => SqlType::Timestamptz,
        "timestamp without time zone" => SqlType::Timestamp,
        "date" => SqlType::Date,
        "uuid" => SqlType::Uuid,
        "numeric" => SqlType::Numeric,
        "interval" => SqlType::Interval,
        "bytea" => SqlType::Bytea,
        "inet" => SqlType::Inet,
        "jsonb" => SqlType::Jsonb,
        _ => {
            return Err(format!(
                "type {} is not supported by the generator yet (supported: bigint, integer, smallint, numeric, double precision, real, boolean, text, varchar, char, enums, timestamptz, timestamp, date, interval, uuid, bytea, inet, jsonb, one-dimensional arrays of these but char and enums, and domains over them)",
                c.data_type
            ))
        }
    };
    if array && c.type_kind != TypeKind::Array {
        return Err(format!(
            "type {}: arrays of domains are not supported by the generator yet",
            c.data_type
        ));
    }
    Ok((sql, array))
}

/// Decimals of an unconstrained `numeric`.
const NUMERIC_DECIMALS: u32 = 4;

/// The `n` of `character varying(n)` / `character(n)` (also as an array's element type).
fn max_length(c: &Column) -> Option<f64> {
    let t = c.effective_type().trim_end_matches("[]");
    let inner = t.strip_suffix(')')?.split_once('(')?.1;
    inner.parse().ok()
}

/// The `(p, s)` of `numeric(p,s)` (`s` 0 when only `p` is given).
fn numeric_bounds(c: &Column) -> Option<(u32, u32)> {
    let t = c.effective_type().trim_end_matches("[]");
    let inner = t.strip_prefix("numeric(")?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',').unwrap_or((inner, "0"));
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

pub(super) struct TableCtx<'a> {
    pub pack: &'a Pack,
    pub table: &'a Table,
    pub metrics: Option<&'a TableMetrics>,
    pub group: Option<&'a ForeignKey>,
    /// Every grouped table's grouping foreign key, by table name.
    pub groups: &'a std::collections::BTreeMap<String, &'a ForeignKey>,
    pub deferred: &'a BTreeSet<(String, String)>,
    pub after_parent: bool,
    /// The most rows any band is expected to give the table.
    pub max_rows: f64,
}

impl TableCtx<'_> {
    fn name(&self) -> &str {
        &self.table.name
    }

    fn figures(&self, c: &Column) -> Option<&ColumnMetrics> {
        self.metrics.and_then(|m| m.columns.get(&c.name))
    }

    /// The column's generator, or `None` for a column left to its default (NULL).
    pub fn column(&self, c: &Column, notes: &mut Vec<String>) -> Result<Option<ColumnSpec>> {
        let tname = self.name();
        let (sql, array) = column_type(c).map_err(|m| unsupported(tname, &c.name, m))?;
        let cm = self.figures(c);
        let mut spec = blank(sql);
        if !c.not_null {
            spec.null_fraction = cm.map_or(0.0, |m| m.null_fraction);
        }
        // Keys.
        if let Some(fk) = self.group {
            if let Some(i) = fk.columns.iter().position(|x| *x == c.name) {
                spec.parent = Some(ParentKey {
                    column: fk.ref_columns[i].clone(),
                });
                return Ok(Some(spec));
            }
        }
        if let Some(fk) = self
            .table
            .foreign_keys
            .iter()
            .find(|fk| fk.columns.contains(&c.name))
        {
            return self.foreign(c, fk, spec, notes);
        }
        if is_sequence_key(&self.pack.schema, self.table, &c.name) {
            let format = self.key_format(c, sql, cm, notes)?;
            spec.sequence = Some(Sequence {
                start: 1,
                step: 1,
                format,
            });
            return Ok(Some(spec));
        }
        let unique = self.is_unique(&c.name);
        if unique
            && (sql.is_temporal()
                || matches!(
                    sql,
                    SqlType::Boolean | SqlType::Inet | SqlType::Bytea | SqlType::Jsonb
                ))
        {
            // Random values of these would collide (a date per day, 762 documentation
            // addresses, microseconds over a window at a million rows ~10 %).
            return Err(unsupported(
                tname,
                &c.name,
                format!("a unique {} column cannot be generated yet", c.data_type),
            ));
        }
        if array {
            if unique {
                return Err(unsupported(
                    tname,
                    &c.name,
                    "a unique array cannot be generated yet",
                ));
            }
            // Elements per value from the pack's lengths (an array's length is its element
            // count); the elements themselves have no figures in a pack.
            let length = self.length(c, cm, (0.0, 4.0), notes);
            spec.array = Some(ArrayOf { length });
            self.element(c, sql, &mut spec, notes);
            return Ok(Some(spec));
        }
        match sql {
            SqlType::Boolean => {
                // Labels (allow-listed) say which share is true. Tokens do not: the larger
                // share goes to true (comparisons match tokens by rank), noted.
                let p = cm
                    .and_then(|m| m.categories.as_ref())
                    .and_then(|k| {
                        let (t, f) = if k.labels {
                            (
                                *k.counts.get("true").unwrap_or(&0),
                                *k.counts.get("false").unwrap_or(&0),
                            )
                        } else {
                            let mut v: Vec<u64> = k.counts.values().copied().collect();
                            v.sort_unstable_by(|a, b| b.cmp(a));
                            notes.push(format!(
                                "{tname}.{}: boolean shares are tokens; the larger is true",
                                c.name
                            ));
                            let rest = v.iter().skip(1).sum::<u64>() + k.suppressed_rows;
                            (v.first().copied().unwrap_or(0), rest)
                        };
                        (t + f > 0).then(|| round6(t as f64 / (t + f) as f64))
                    })
                    .unwrap_or(0.5);
                spec.boolean = Some(Boolean { p });
            }
            SqlType::Uuid => spec.uuid = Some(UuidGen {}),
            t if t.is_temporal() => spec.timestamp = Some(self.timestamp(&c.name, t, cm)),
            t if t.is_number() => {
                let (default_hi, unit) = if t == SqlType::Interval {
                    (86_400.0, "seconds")
                } else {
                    (100.0, "")
                };
                let mut dist = cm
                    .and_then(|m| m.number.as_ref())
                    .and_then(fit::number_of)
                    .unwrap_or_else(|| {
                        notes.push(format!(
                            "{tname}.{}: no numeric quantiles in the pack; uniform 0..{default_hi}{}",
                            c.name,
                            if unit.is_empty() { String::new() } else { format!(" {unit}") }
                        ));
                        Dist::Uniform {
                            min: 0.0,
                            max: default_hi,
                        }
                    });
                let bounds = numeric_bounds(c);
                let decimals = match t {
                    SqlType::Numeric => Some(bounds.map_or(NUMERIC_DECIMALS, |b| b.1)),
                    _ => None,
                };
                let (lo, hi) = fit::number_range(
                    t,
                    bounds,
                    cm.and_then(|m| m.number.as_ref()),
                    cm.and_then(|m| m.distinct_ratio),
                    self.metrics
                        .map(|m| m.total_rows as f64 * (1.0 - spec.null_fraction)),
                );
                fit::clamp(&mut dist, lo, hi);
                if unique {
                    // Unique numbers: an arithmetic sequence over the range the pack shows,
                    // stepped so that the largest band's rows fit (not the pack's shape).
                    if !t.is_integer() {
                        return Err(unsupported(
                            tname,
                            &c.name,
                            "a unique non-integer number cannot be generated yet",
                        ));
                    }
                    let (a, b) = (dist.quantile(0.0).ceil(), dist.quantile(1.0).floor());
                    let rows = (self.max_rows * 1.5).max(1.0);
                    let step = ((b - a) / rows).floor().max(1.0);
                    if a + step * rows > hi {
                        return Err(unsupported(
                            tname,
                            &c.name,
                            format!("{rows} unique values do not fit type {}", c.data_type),
                        ));
                    }
                    notes.push(format!(
                        "{tname}.{}: unique number; a sequence from {a} by {step}",
                        c.name
                    ));
                    spec.sequence = Some(Sequence {
                        start: a as i64,
                        step: step as i64,
                        format: KeyFormat::Integer,
                    });
                    return Ok(Some(spec));
                }
                spec.number = Some(Number { dist, decimals });
            }
            SqlType::Bytea => {
                let length = self.length(c, cm, (8.0, 64.0), notes);
                spec.bytes = Some(BytesGen { length });
            }
            SqlType::Inet => {
                notes.push(format!(
                    "{tname}.{}: IPv4 documentation addresses (a pack has no address figures)",
                    c.name
                ));
                spec.inet = Some(InetGen { ipv6: 0.0 });
            }
            SqlType::Jsonb => {
                let length = self.length(c, cm, (20.0, 200.0), notes);
                spec.json = Some(JsonGen { length });
            }
            _ => self.text(c, cm, unique, &mut spec, notes)?,
        }
        Ok(Some(spec))
    }

    /// A length distribution from the pack's lengths, or uniform over `default`, noted.
    fn length(
        &self,
        c: &Column,
        cm: Option<&ColumnMetrics>,
        default: (f64, f64),
        notes: &mut Vec<String>,
    ) -> Dist {
        cm.and_then(|m| m.length.as_ref())
            .and_then(fit::length_of_bins)
            .unwrap_or_else(|| {
                notes.push(format!(
                    "{}.{}: no length figures in the pack; {} to {}",
                    self.name(),
                    c.name,
                    default.0,
                    default.1
                ));
                Dist::Quantiles(vec![[0.0, default.0], [1.0, default.1]])
            })
    }

    /// The element generator of an array column (a pack has no figures of elements): numbers
    /// uniform 0..100 (within a numeric's bounds), short words, uuids, booleans, timestamps
    /// over the window, bytes, documentation addresses, small objects.
    fn element(&self, c: &Column, sql: SqlType, spec: &mut ColumnSpec, notes: &mut Vec<String>) {
        notes.push(format!(
            "{}.{}: array elements have no figures in a pack; defaults for {:?}",
            self.name(),
            c.name,
            sql
        ));
        match sql {
            SqlType::Boolean => spec.boolean = Some(Boolean { p: 0.5 }),
            SqlType::Uuid => spec.uuid = Some(UuidGen {}),
            t if t.is_temporal() => {
                spec.timestamp = Some(Timestamp {
                    after: None,
                    offset_seconds: None,
                    hourly: None,
                    weekly: None,
                    ascending: false,
                })
            }
            t if t.is_number() => {
                let bounds = numeric_bounds(c);
                let mut dist = Dist::Uniform {
                    min: 0.0,
                    max: 100.0,
                };
                let (lo, hi) = fit::number_range(t, bounds, None, None, None);
                fit::clamp(&mut dist, lo, hi);
                let decimals =
                    (t == SqlType::Numeric).then(|| bounds.map_or(NUMERIC_DECIMALS, |b| b.1));
                spec.number = Some(Number { dist, decimals });
            }
            SqlType::Bytea => {
                spec.bytes = Some(BytesGen {
                    length: Dist::Quantiles(vec![[0.0, 4.0], [1.0, 32.0]]),
                })
            }
            SqlType::Inet => spec.inet = Some(InetGen { ipv6: 0.0 }),
            SqlType::Jsonb => {
                spec.json = Some(JsonGen {
                    length: Dist::Quantiles(vec![[0.0, 11.0], [1.0, 60.0]]),
                })
            }
            _ => {
                let cap = max_length(c).unwrap_or(12.0).clamp(1.0, 12.0);
                spec.text = Some(Text {
                    length: Dist::Quantiles(vec![[0.0, cap.min(3.0)], [1.0, cap]]),
                    style: TextStyle::Word,
                    unique: false,
                })
            }
        }
    }

    /// How a sequence key is written: integers as they are; text keys in upper-case base 36
    /// with the pack's length distribution of the column (capped by a `varchar(n)` bound);
    /// uuid keys as UUIDs. A bound too short for the largest band's key numbers is an error.
    fn key_format(
        &self,
        c: &Column,
        sql: SqlType,
        cm: Option<&ColumnMetrics>,
        notes: &mut Vec<String>,
    ) -> Result<KeyFormat> {
        match sql {
            SqlType::Uuid => return Ok(KeyFormat::Uuid),
            SqlType::Text | SqlType::Varchar => {}
            _ => return Ok(KeyFormat::Integer),
        }
        let tname = self.name();
        // Key numbers run to the largest band's rows (with room to spare); a key is at least
        // as long as its base-36 digits.
        let rows = (self.max_rows * 1.5).max(2.0) as u64;
        let digits = crate::engine::digits36(rows) as f64;
        let bound = max_length(c);
        if bound.is_some_and(|b| b < digits) {
            return Err(unsupported(
                tname,
                &c.name,
                format!(
                    "{} cannot hold {rows} distinct keys ({digits} base-36 characters)",
                    c.data_type
                ),
            ));
        }
        let mut length = cm
            .and_then(|m| m.length.as_ref())
            .and_then(length_of)
            .unwrap_or_else(|| {
                notes.push(format!(
                    "{tname}.{}: no length figures in the pack; text keys of {digits} characters",
                    c.name
                ));
                Dist::Quantiles(vec![[0.0, digits], [1.0, digits]])
            });
        if let (Dist::Quantiles(points), Some(b)) = (&mut length, bound) {
            for p in points.iter_mut() {
                p[1] = p[1].min(b);
            }
        }
        Ok(KeyFormat::Text(KeyText { length }))
    }

    fn is_unique(&self, column: &str) -> bool {
        let single = |k: &Vec<String>| k.len() == 1 && k[0] == column;
        self.table.primary_key.as_ref().is_some_and(single)
            || self.table.unique_keys.iter().any(single)
    }

    /// A foreign-key column that does not group the table.
    fn foreign(
        &self,
        c: &Column,
        fk: &ForeignKey,
        mut spec: ColumnSpec,
        notes: &mut Vec<String>,
    ) -> Result<Option<ColumnSpec>> {
        let tname = self.name();
        if fk.columns.len() > 1 {
            return self.composite(c, fk, spec);
        }
        if self
            .deferred
            .contains(&(self.table.qualified(), fk.name.clone()))
        {
            // The loader sets foreign keys aside while it copies and adds them (validated)
            // after, and a reference is a pure function of the referenced row's index: a
            // reference into a table generated later is fine, NOT NULL or not.
            notes.push(format!(
                "{tname}.{}: foreign key {} closes a cycle; a reference into a table generated later",
                c.name, fk.name
            ));
        }
        let parent = self
            .pack
            .schema
            .table(&format!("{}.{}", fk.ref_schema, fk.ref_table));
        if !parent.is_some_and(|p| is_sequence_key(&self.pack.schema, p, &fk.ref_columns[0])) {
            return Err(unsupported(
                tname,
                &c.name,
                format!(
                    "foreign key {} references {}.{}, which is not a single-column integer, text or uuid key the generator numbers (a key that is itself a foreign key, or of another type, cannot be referenced yet)",
                    fk.name, fk.ref_table, fk.ref_columns[0]
                ),
            ));
        }
        if fk.ref_table == tname {
            if c.not_null {
                return Err(unsupported(
                    tname,
                    &c.name,
                    format!("self-reference {} is NOT NULL: the first row would have nothing to point at", fk.name),
                ));
            }
            // Its tree (children per row) is calibrate's: the edge's popularity.
            spec.earlier = Some(Earlier {
                column: fk.ref_columns[0].clone(),
                tree: None,
            });
            return Ok(Some(spec));
        }
        let edge = self
            .pack
            .edges
            .iter()
            .find(|e| e.child == self.table.qualified() && e.foreign_key == fk.name);
        // Distinct within the group when it completes a composite key with the grouping key.
        let distinct = self.group.is_some_and(|g| {
            let pair =
                |k: &Vec<String>| k.len() == 2 && k.contains(&g.columns[0]) && k.contains(&c.name);
            self.table.primary_key.as_ref().is_some_and(pair)
                || self.table.unique_keys.iter().any(pair)
        });
        // Popularity straight from the edge's fan-out (a Zipf exponent cannot match both a
        // pack's zero fraction and its quantiles); the Zipf fit only when the edge has none.
        // (A distinct reference redraws collisions within its group, which flattens the
        // popular end a little in large groups.)
        let popularity = edge.and_then(|e| crate::authoring::shapes::popularity_of(self.pack, e));
        let zipf = match (edge, self.metrics, &popularity) {
            (Some(e), Some(m), None) => {
                let children = (m.total_rows as f64 * (1.0 - spec.null_fraction)).round() as u64;
                fit::zipf_of(e, children, e.parents)
            }
            _ => 0.0,
        };
        spec.reference = Some(Reference {
            table: fk.ref_table.clone(),
            column: fk.ref_columns[0].clone(),
            zipf,
            popularity,
            distinct,
        });
        Ok(Some(spec))
    }

    /// A column of a composite foreign key that does not group the table. The shape the
    /// generator keeps: the table is grouped under a parent by one of the key's columns (the
    /// shared column), and the referenced table is grouped under the same parent by the column
    /// the shared one references (`movement(store_id, sku) -> stock(store_id, sku)`, both per
    /// store): the other columns pick from the referenced rows of this row's parent.
    fn composite(
        &self,
        c: &Column,
        fk: &ForeignKey,
        mut spec: ColumnSpec,
    ) -> Result<Option<ColumnSpec>> {
        let tname = self.name();
        let theirs = self.groups.get(&fk.ref_table);
        let shared = self.group.and_then(|g| {
            let i = fk.columns.iter().position(|x| *x == g.columns[0])?;
            let r = theirs?;
            (g.columns.len() == 1
                && r.columns.len() == 1
                && r.columns[0] == fk.ref_columns[i]
                && r.ref_table == g.ref_table
                && r.ref_columns == g.ref_columns)
                .then_some(&fk.columns[i])
        });
        let Some(shared) = shared else {
            return Err(unsupported(
                tname,
                &fk.columns.join(", "),
                format!(
                    "composite foreign key {} ({}) -> {} ({}): the generator keeps a composite foreign key that groups the table (NOT NULL, integer columns), or one whose shared column groups both tables under the same parent; this one is neither",
                    fk.name,
                    fk.columns.join(", "),
                    fk.ref_table,
                    fk.ref_columns.join(", ")
                ),
            ));
        };
        let i = fk
            .columns
            .iter()
            .position(|x| *x == c.name)
            .expect("a column of the key");
        spec.pick = Some(Pick {
            table: fk.ref_table.clone(),
            column: fk.ref_columns[i].clone(),
            via: shared.clone(),
            exclude: Vec::new(),
            distinct: false,
        });
        Ok(Some(spec))
    }

    fn timestamp(&self, column: &str, t: SqlType, cm: Option<&ColumnMetrics>) -> Timestamp {
        let weights = |cells: Option<&Vec<Option<u64>>>| -> Option<Vec<f64>> {
            let w: Vec<f64> = cells?.iter().map(|x| x.unwrap_or(0) as f64).collect();
            w.iter().any(|x| *x > 0.0).then_some(w)
        };
        let hourly = if t == SqlType::Date {
            None
        } else {
            cm.and_then(|m| weights(m.hourly.as_ref()))
        };
        let weekly = cm.and_then(|m| weights(m.weekday.as_ref()));
        // By default standalone in the window: the pack has no child-minus-parent offsets
        // yet, and a timestamp `after` another compounds the profiles (a child's day inherits
        // its parent's weekday thinning) and, down a chain, piles rows at the window's end
        // (docs/formats.md, "A spec derived from a pack"). `--after-parent` puts the table's
        // window column after the parent's, a day's median later.
        let parent_window = self.group.filter(|_| self.after_parent).and_then(|fk| {
            self.pack
                .tables
                .get(&format!("{}.{}", fk.ref_schema, fk.ref_table))
                .and_then(|m| m.window_column.clone())
        });
        let own = self.metrics.and_then(|m| m.window_column.as_deref());
        let (after, offset_seconds) = match parent_window {
            Some(p) if own == Some(column) => (
                Some(format!("parent.{p}")),
                Some(Dist::Lognormal {
                    median: 86_400.0,
                    sigma: 2.0,
                    max: Some(self.pack.window.days as f64 * 86_400.0),
                }),
            ),
            _ => (None, None),
        };
        Timestamp {
            after,
            offset_seconds,
            hourly,
            weekly,
            ascending: false,
        }
    }

    fn text(
        &self,
        c: &Column,
        cm: Option<&ColumnMetrics>,
        unique: bool,
        spec: &mut ColumnSpec,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let tname = self.name();
        let bound = max_length(c);
        let categories = cm.and_then(|m| m.categories.as_ref());
        if c.type_kind == TypeKind::Enum || (categories.is_some() && !unique) {
            let mut weights: IndexMap<String, f64> = IndexMap::new();
            if let Some(k) = categories {
                if k.labels {
                    for (l, n) in &k.counts {
                        weights.insert(l.clone(), *n as f64);
                    }
                } else {
                    // Tokens: synthetic labels of the same count, by frequency rank.
                    let mut freq: Vec<u64> = k.counts.values().copied().collect();
                    freq.sort_unstable_by(|a, b| b.cmp(a));
                    let extra = k.suppressed_categories as usize;
                    let share = k.suppressed_rows as f64 / extra.max(1) as f64;
                    let n = freq.len() + extra;
                    let width = n.to_string().len();
                    // A bounded column gets bare numbers when prefixed ones would not fit.
                    let prefix = if bound.is_some_and(|b| (width + 1) as f64 > b) {
                        String::new()
                    } else {
                        label_prefix(c)
                    };
                    if bound.is_some_and(|b| width as f64 > b) {
                        return Err(unsupported(
                            tname,
                            &c.name,
                            format!(
                                "{n} categories do not fit labels of {} characters",
                                c.data_type
                            ),
                        ));
                    }
                    for (i, f) in freq
                        .iter()
                        .map(|f| *f as f64)
                        .chain(std::iter::repeat_n(share, extra))
                        .enumerate()
                    {
                        weights.insert(format!("{prefix}{:0width$}", i + 1), f);
                    }
                }
            }
            if weights.values().any(|w| *w > 0.0) {
                spec.category = Some(Category { weights });
                return Ok(());
            }
            if let Some(labels) = self.enum_labels(c) {
                let weights = labels.iter().map(|l| (l.clone(), 1.0)).collect();
                spec.category = Some(Category { weights });
                return Ok(());
            }
            if c.type_kind == TypeKind::Enum {
                return Err(unsupported(
                    tname,
                    &c.name,
                    "an enum whose labels the pack lacks",
                ));
            }
            // Every category suppressed: text of the column's lengths instead.
            notes.push(format!(
                "{tname}.{}: every category suppressed in the pack; text instead",
                c.name
            ));
        }
        let role = cm.map_or("other", |m| m.role.as_str());
        let lower = c.name.to_ascii_lowercase();
        let distinct = cm.and_then(|m| m.distinct_ratio).unwrap_or(0.0);
        let mut style = if role == "pii" {
            if lower.contains("mail") {
                TextStyle::Email
            } else if unique || distinct >= 0.99 {
                TextStyle::Word
            } else {
                TextStyle::Name
            }
        } else if unique {
            TextStyle::Code
        } else {
            TextStyle::Words
        };
        let mut length = cm
            .and_then(|m| m.length.as_ref())
            .and_then(length_of)
            .unwrap_or_else(|| {
                notes.push(format!(
                    "{tname}.{}: no length figures in the pack; 5 to 20 characters",
                    c.name
                ));
                Dist::Quantiles(vec![[0.0, 5.0], [1.0, 20.0]])
            });
        let unique = unique || (role == "pii" && distinct >= 0.99 && style != TextStyle::Name);
        // The unique suffix (`_` and the row number in base 36, at the largest band's rows
        // with room to spare) counts in the generated length; a bounded column must have room
        // for it and one character.
        let suffix = if unique && style != TextStyle::Email {
            let rows = (self.max_rows * 1.5).max(2.0);
            1.0 + (libm::log(rows) / libm::log(36.0)).ceil().max(1.0)
        } else {
            0.0
        };
        let top = |d: &Dist| d.quantile(1.0);
        if let Some(b) = bound {
            if b - suffix < 1.0 {
                return Err(unsupported(
                    tname,
                    &c.name,
                    format!(
                        "unique values need a suffix of {suffix} characters, more than {} allows",
                        c.data_type
                    ),
                ));
            }
            // `calibrate` refits sentence lengths uncapped: a bounded column whose lengths
            // reach its bound gets single words instead, capped.
            if style == TextStyle::Words && top(&length) > b {
                style = TextStyle::Word;
                notes.push(format!(
                    "{tname}.{}: lengths reach {}; single words, capped",
                    c.name, c.data_type
                ));
            }
        }
        if let Dist::Quantiles(points) = &mut length {
            for p in points.iter_mut() {
                if let Some(b) = bound {
                    p[1] = p[1].min(b);
                }
            }
        }
        spec.text = Some(Text {
            length,
            style,
            unique,
        });
        Ok(())
    }

    fn enum_labels(&self, c: &Column) -> Option<&Vec<String>> {
        self.pack
            .schema
            .enums
            .iter()
            .find(|e| c.data_type == e.name || c.data_type == format!("{}.{}", e.schema, e.name))
            .map(|e| &e.labels)
    }

    /// Checks that every composite primary or unique key can be met.
    pub fn check_keys(&self, columns: &mut IndexMap<String, ColumnSpec>) -> Result<()> {
        let keys = self
            .table
            .primary_key
            .iter()
            .chain(&self.table.unique_keys)
            .filter(|k| k.len() > 1);
        for k in keys {
            let unique_part = k.iter().any(|c| {
                columns.get(c).is_some_and(|s| {
                    s.sequence.is_some()
                        || s.uuid.is_some()
                        || s.text.as_ref().is_some_and(|t| t.unique)
                })
            });
            let grouped_pair = k.len() == 2
                && k.iter()
                    .any(|c| columns.get(c).is_some_and(|s| s.parent.is_some()))
                && k.iter().any(|c| {
                    columns
                        .get(c)
                        .and_then(|s| s.reference.as_ref())
                        .is_some_and(|r| r.distinct)
                });
            if !unique_part && !grouped_pair {
                return Err(unsupported(
                    self.name(),
                    &k.join(", "),
                    "this composite key cannot be kept unique by the generator yet (it needs a sequence, uuid or unique text column, or the grouping key plus one reference)",
                ));
            }
        }
        Ok(())
    }
}

/// A short label prefix from a column name (its first letter), for token categories.
fn label_prefix(c: &Column) -> String {
    c.name
        .chars()
        .find(|ch| ch.is_ascii_alphabetic())
        .map_or("c".into(), |ch| ch.to_ascii_lowercase().to_string())
}

fn blank(sql_type: SqlType) -> ColumnSpec {
    ColumnSpec {
        sql_type,
        null_fraction: 0.0,
        sequence: None,
        parent: None,
        reference: None,
        pick: None,
        earlier: None,
        timestamp: None,
        number: None,
        category: None,
        text: None,
        boolean: None,
        uuid: None,
        bytes: None,
        inet: None,
        json: None,
        array: None,
    }
}
