//! Key columns of a derived spec: sequences (and how a text or uuid key is written),
//! references and self-references, picks along a composite foreign key, and the check that
//! every composite key can be kept unique.

use indexmap::IndexMap;
use pgshape_core::catalog::{Column, ForeignKey, Schema, Table, TypeKind};
use pgshape_core::dist::Dist;
use pgshape_core::pack::ColumnMetrics;
use pgshape_core::spec::{ColumnSpec, Earlier, KeyFormat, KeyText, Pick, Reference, SqlType};
use pgshape_core::Result;

use super::columns::TableCtx;
use super::options::unsupported;
use super::types::{max_length, sql_type};
use crate::authoring::fit;
use crate::authoring::shapes::{length_of, popularity_of};

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

impl TableCtx<'_> {
    /// How a sequence key is written: integers as they are; text keys in upper-case base 36
    /// with the pack's length distribution of the column (capped by a `varchar(n)` bound);
    /// uuid keys as UUIDs. A bound too short for the largest band's key numbers is an error.
    pub(super) fn key_format(
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
        let mut length = self.length_or(
            c,
            cm,
            length_of,
            Dist::Quantiles(vec![[0.0, digits], [1.0, digits]]),
            &format!("text keys of {digits} characters"),
            notes,
        );
        if let (Dist::Quantiles(points), Some(b)) = (&mut length, bound) {
            for p in points.iter_mut() {
                p[1] = p[1].min(b);
            }
        }
        Ok(KeyFormat::Text(KeyText { length }))
    }

    /// Whether `column` alone is a primary or unique key.
    pub(super) fn is_unique(&self, column: &str) -> bool {
        let single = |k: &Vec<String>| k.len() == 1 && k[0] == column;
        self.table.primary_key.as_ref().is_some_and(single)
            || self.table.unique_keys.iter().any(single)
    }

    /// A foreign-key column that does not group the table.
    pub(super) fn foreign(
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
        spec.reference = Some(self.reference(c, fk, spec.null_fraction));
        Ok(Some(spec))
    }

    /// A reference along single-column foreign key `fk` to another table: popularity from
    /// the edge, distinct within the group when it completes a key with the grouping key.
    fn reference(&self, c: &Column, fk: &ForeignKey, null_fraction: f64) -> Reference {
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
        let popularity = edge.and_then(|e| popularity_of(self.pack, e));
        let zipf = match (edge, self.metrics, &popularity) {
            (Some(e), Some(m), None) => {
                let children = (m.total_rows as f64 * (1.0 - null_fraction)).round() as u64;
                fit::zipf_of(e, children, e.parents)
            }
            _ => 0.0,
        };
        Reference {
            table: fk.ref_table.clone(),
            column: fk.ref_columns[0].clone(),
            zipf,
            popularity,
            distinct,
        }
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
