//! Column generators of a derived spec, by role and type (see [`super`]): the table's
//! context, the dispatch by role (keys in [`super::keys`], text in [`super::text`]) and the
//! value generators of the other types.

use std::collections::BTreeSet;

use indexmap::IndexMap;

use pgshape_core::catalog::{Column, ForeignKey, Table};
use pgshape_core::dist::Dist;
use pgshape_core::pack::{ColumnMetrics, Pack, Shape, TableMetrics};
use pgshape_core::spec::{
    ArrayOf, Boolean, BytesGen, ColumnSpec, InetGen, JsonGen, KeyFormat, Number, ParentKey,
    Sequence, SqlType, Text, TextStyle, Timestamp, UuidGen,
};
use pgshape_core::Result;

use super::keys::is_sequence_key;
use super::options::unsupported;
use super::types::{column_type, max_length, numeric_bounds, NUMERIC_DECIMALS};
use crate::authoring::fit;
use crate::authoring::shapes::round6;

/// What a table's columns are derived from.
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
    pub(super) fn name(&self) -> &str {
        &self.table.name
    }

    pub(super) fn figures(&self, c: &Column) -> Option<&ColumnMetrics> {
        self.metrics.and_then(|m| m.columns.get(&c.name))
    }

    /// Every column's generator (generated columns and those left to their default aside),
    /// after checking the table's composite keys can be met.
    pub fn columns(&self, notes: &mut Vec<String>) -> Result<IndexMap<String, ColumnSpec>> {
        let mut columns = IndexMap::new();
        for c in self.table.columns.iter().filter(|c| !c.generated) {
            if let Some(spec) = self.column(c, notes)? {
                columns.insert(c.name.clone(), spec);
            }
        }
        self.check_keys(&mut columns)?;
        Ok(columns)
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
        self.value(c, sql, unique, &mut spec, notes)?;
        Ok(Some(spec))
    }

    /// The generator of a column that is no key nor array, by type.
    fn value(
        &self,
        c: &Column,
        sql: SqlType,
        unique: bool,
        spec: &mut ColumnSpec,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let cm = self.figures(c);
        match sql {
            SqlType::Boolean => spec.boolean = Some(self.boolean(c, cm, notes)),
            SqlType::Uuid => spec.uuid = Some(UuidGen {}),
            t if t.is_temporal() => spec.timestamp = Some(self.timestamp(&c.name, t, cm)),
            t if t.is_number() => self.number(c, t, unique, spec, notes)?,
            SqlType::Bytea => {
                let length = self.length(c, cm, (8.0, 64.0), notes);
                spec.bytes = Some(BytesGen { length });
            }
            SqlType::Inet => {
                notes.push(format!(
                    "{}.{}: IPv4 documentation addresses (a pack has no address figures)",
                    self.name(),
                    c.name
                ));
                spec.inet = Some(InetGen { ipv6: 0.0 });
            }
            SqlType::Jsonb => {
                let length = self.length(c, cm, (20.0, 200.0), notes);
                spec.json = Some(JsonGen { length });
            }
            _ => self.text(c, cm, unique, spec, notes)?,
        }
        Ok(())
    }

    /// A boolean's share of true. Labels (allow-listed) say which share is true. Tokens do
    /// not: the larger share goes to true (comparisons match tokens by rank), noted.
    fn boolean(&self, c: &Column, cm: Option<&ColumnMetrics>, notes: &mut Vec<String>) -> Boolean {
        let tname = self.name();
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
        Boolean { p }
    }

    /// A number (numeric and interval too) following the pack's quantiles within its type and
    /// the range the pack reveals; a unique integer is an arithmetic sequence over that range.
    fn number(
        &self,
        c: &Column,
        t: SqlType,
        unique: bool,
        spec: &mut ColumnSpec,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let tname = self.name();
        let cm = self.figures(c);
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
                    if unit.is_empty() {
                        String::new()
                    } else {
                        format!(" {unit}")
                    }
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
            spec.sequence = Some(self.unique_number(c, t, &dist, hi, notes)?);
            return Ok(());
        }
        spec.number = Some(Number { dist, decimals });
        Ok(())
    }

    /// Unique numbers: an arithmetic sequence over the range the pack shows (`dist`'s, within
    /// `hi`), stepped so that the largest band's rows fit (not the pack's shape).
    fn unique_number(
        &self,
        c: &Column,
        t: SqlType,
        dist: &Dist,
        hi: f64,
        notes: &mut Vec<String>,
    ) -> Result<Sequence> {
        let tname = self.name();
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
        Ok(Sequence {
            start: a as i64,
            step: step as i64,
            format: KeyFormat::Integer,
        })
    }

    /// A length distribution from the pack's lengths, or uniform over `default`, noted.
    pub(super) fn length(
        &self,
        c: &Column,
        cm: Option<&ColumnMetrics>,
        default: (f64, f64),
        notes: &mut Vec<String>,
    ) -> Dist {
        let fallback = Dist::Quantiles(vec![[0.0, default.0], [1.0, default.1]]);
        let what = format!("{} to {}", default.0, default.1);
        self.length_or(c, cm, fit::length_of_bins, fallback, &what, notes)
    }

    /// The pack's lengths of `c` through `fit`, or `fallback` when the pack has none, noted
    /// ("no length figures in the pack; `what`").
    pub(super) fn length_or(
        &self,
        c: &Column,
        cm: Option<&ColumnMetrics>,
        fit: fn(&Shape) -> Option<Dist>,
        fallback: Dist,
        what: &str,
        notes: &mut Vec<String>,
    ) -> Dist {
        cm.and_then(|m| m.length.as_ref())
            .and_then(fit)
            .unwrap_or_else(|| {
                notes.push(format!(
                    "{}.{}: no length figures in the pack; {what}",
                    self.name(),
                    c.name
                ));
                fallback
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
        // By default standalone in the window: a timestamp a day or more `after` another
        // compounds the profiles (a child's day inherits its parent's weekday thinning, then
        // its own), down chains of tables (docs/formats.md, "A spec derived from a pack").
        // `--after-parent` puts the table's window column after the parent's; calibrate then
        // fits the offsets to the pack's.
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
