//! Column generators of a derived spec, by role and type (see [`super`]).

use std::collections::BTreeSet;

use indexmap::IndexMap;
use pgshape_core::catalog::{Column, ForeignKey, Table, TypeKind};
use pgshape_core::dist::Dist;
use pgshape_core::pack::{ColumnMetrics, Pack, TableMetrics};
use pgshape_core::spec::{
    Boolean, Category, ColumnSpec, Earlier, Number, ParentKey, Reference, Sequence, SqlType, Text,
    TextStyle, Timestamp, UuidGen,
};
use pgshape_core::Result;

use super::{fit, unsupported};
use crate::calibrate::length_of;

/// Whether `column` of `table` becomes a `sequence`: an integer single-column primary or
/// unique key that is no foreign key.
pub(super) fn is_sequence_key(table: &Table, column: &str) -> bool {
    let single = |k: &Vec<String>| k.len() == 1 && k[0] == column;
    table.column(column).is_some_and(|c| {
        sql_type(c).is_ok_and(|t| t.is_integer())
            && (table.primary_key.as_ref().is_some_and(single)
                || table.unique_keys.iter().any(single))
            && !table
                .foreign_keys
                .iter()
                .any(|fk| fk.columns.iter().any(|x| x == column))
    })
}

/// The generator type of a catalog column, or why there is none.
fn sql_type(c: &Column) -> std::result::Result<SqlType, String> {
    if c.type_kind == TypeKind::Enum {
        return Ok(SqlType::Text);
    }
    let t = c.effective_type();
    let base = t.split('(').next().unwrap_or(t).trim();
    Ok(match base {
        "bigint" => SqlType::Bigint,
        "integer" => SqlType::Integer,
        "smallint" => SqlType::Smallint,
        "double precision" => SqlType::Double,
        "real" => SqlType::Real,
        "boolean" => SqlType::Boolean,
        "text" | "character varying" | "character" => SqlType::Text,
        "timestamp with time zone" => SqlType::Timestamptz,
        "timestamp without time zone" => SqlType::Timestamp,
        "date" => SqlType::Date,
        "uuid" => SqlType::Uuid,
        _ => {
            return Err(format!(
                "type {} is not supported by the generator yet (supported: bigint, integer, smallint, double precision, real, boolean, text, varchar, char, enums, timestamptz, timestamp, date, uuid, and domains over them)",
                c.data_type
            ))
        }
    })
}

/// The `n` of `character varying(n)` / `character(n)`.
fn max_length(c: &Column) -> Option<f64> {
    let t = c.effective_type();
    let inner = t.strip_suffix(')')?.split_once('(')?.1;
    inner.parse().ok()
}

pub(super) struct TableCtx<'a> {
    pub pack: &'a Pack,
    pub table: &'a Table,
    pub metrics: Option<&'a TableMetrics>,
    pub group: Option<&'a ForeignKey>,
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
        let sql = sql_type(c).map_err(|m| unsupported(tname, &c.name, m))?;
        let cm = self.figures(c);
        let mut spec = blank(sql);
        if !c.not_null {
            spec.null_fraction = cm.map_or(0.0, |m| m.null_fraction);
        }
        // Keys.
        if let Some(fk) = self.group.filter(|fk| fk.columns[0] == c.name) {
            spec.parent = Some(ParentKey {
                column: fk.ref_columns[0].clone(),
            });
            return Ok(Some(spec));
        }
        if let Some(fk) = self
            .table
            .foreign_keys
            .iter()
            .find(|fk| fk.columns.contains(&c.name))
        {
            return self.foreign(c, fk, spec, notes);
        }
        if is_sequence_key(self.table, &c.name) {
            spec.sequence = Some(Sequence { start: 1, step: 1 });
            return Ok(Some(spec));
        }
        let unique = self.is_unique(&c.name);
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
                        (t + f > 0).then(|| fit::round6(t as f64 / (t + f) as f64))
                    })
                    .unwrap_or(0.5);
                spec.boolean = Some(Boolean { p });
            }
            SqlType::Uuid => spec.uuid = Some(UuidGen {}),
            t if t.is_temporal() => spec.timestamp = Some(self.timestamp(&c.name, t, cm)),
            t if t.is_integer() || matches!(t, SqlType::Double | SqlType::Real) => {
                if unique {
                    return Err(unsupported(
                        tname,
                        &c.name,
                        "a unique number that is not a single-column integer key cannot be generated yet",
                    ));
                }
                let dist = cm
                    .and_then(|m| m.number.as_ref())
                    .and_then(fit::number_of)
                    .unwrap_or_else(|| {
                        notes.push(format!(
                            "{tname}.{}: no numeric quantiles in the pack; uniform 0..100",
                            c.name
                        ));
                        Dist::Uniform {
                            min: 0.0,
                            max: 100.0,
                        }
                    });
                spec.number = Some(Number { dist });
            }
            _ => self.text(c, cm, unique, &mut spec, notes)?,
        }
        Ok(Some(spec))
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
            return Err(unsupported(
                tname,
                &c.name,
                format!(
                    "composite foreign key {} ({}) -> {} ({}) is not supported by the generator yet",
                    fk.name,
                    fk.columns.join(", "),
                    fk.ref_table,
                    fk.ref_columns.join(", ")
                ),
            ));
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
        if !parent.is_some_and(|p| is_sequence_key(p, &fk.ref_columns[0])) {
            return Err(unsupported(
                tname,
                &c.name,
                format!(
                    "foreign key {} references {}.{}, which is not a single-column integer key the generator numbers (text or uuid keys cannot be referenced yet)",
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
        let popularity = edge.and_then(|e| crate::calibrate::popularity_of(self.pack, e));
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
            1.0 + (rows.ln() / 36f64.ln()).ceil().max(1.0)
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
    }
}
