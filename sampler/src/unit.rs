//! The privacy unit of each table: the person its rows describe, so that k counts people, not
//! rows.
//!
//! By default a table's unit is the nearest table its foreign keys lead to (itself included)
//! that holds PII-classified columns — the users, customers or accounts table — and a row's
//! unit is that table's key reached along the path. The policy can name another table on a
//! path (`privacy_unit`), or `rows`. A table with no such path counts its rows as units.
//! In SQL the unit is an expression over the table's alias `t` and the joins the path needs
//! (each a join on the parent's referenced key, so no row is duplicated); a row whose path
//! ends in a NULL (a nullable foreign key on the way) describes no one of the unit table and
//! is its own unit.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use pgshape_core::catalog::{ForeignKey, Schema, Table};
use pgshape_core::ident::{qualified, quote};
use pgshape_core::{Error, Result};

use crate::policy::Policy;
use crate::roles::Role;

/// What a table's rows count as.
#[derive(Debug, Clone, PartialEq)]
pub enum Unit {
    /// Each row is its own unit (no path to a person).
    Rows,
    /// The rows of table `table` reached along `path` (empty: the table itself, by its key).
    Table {
        table: String,
        path: Vec<ForeignKey>,
        /// The unit table's key, when the path is empty.
        key: Vec<String>,
        /// Whether a foreign key on the path is nullable: a row whose path ends in NULL is
        /// then its own unit (it describes no one of the unit table).
        nullable: bool,
    },
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unit::Rows => f.write_str("rows (no path to a table with PII)"),
            Unit::Table { table, path, .. } if path.is_empty() => write!(f, "{table} (itself)"),
            Unit::Table { table, path, .. } => {
                let fks: Vec<&str> = path.iter().map(|fk| fk.name.as_str()).collect();
                write!(f, "{table} via {}", fks.join(" → "))
            }
        }
    }
}

/// The SQL of a unit over alias `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitSql {
    /// Joins to append after the table's `FROM` item (empty for a path of one hop).
    pub joins: String,
    /// The unit's expression, `None` when rows are units.
    pub expr: Option<String>,
}

impl UnitSql {
    /// Rows as units.
    pub fn rows() -> UnitSql {
        UnitSql {
            joins: String::new(),
            expr: None,
        }
    }

    /// Units among the rows of an aggregate (with an optional `FILTER` condition).
    pub fn count(&self, filter: Option<&str>) -> String {
        let f = filter.map_or(String::new(), |c| format!(" FILTER (WHERE {c})"));
        match &self.expr {
            Some(u) => format!("count(DISTINCT {u}){f}"),
            None => format!("count(*){f}"),
        }
    }

    /// The unit as a column of a derived table (rows: the row's own identity).
    pub fn column(&self) -> String {
        self.expr
            .clone()
            .unwrap_or_else(|| "(t.tableoid, t.ctid)".into())
    }
}

impl Unit {
    /// The unit's SQL for a table under alias `t`.
    pub fn sql(&self) -> UnitSql {
        self.sql_over(&|schema: &str, name: &str| qualified(schema, name))
    }

    /// [`Unit::sql`] with the joins reading `relation(schema, table)` for each table on the
    /// path (a base of [`crate::reads`], say).
    pub fn sql_over(&self, relation: &dyn Fn(&str, &str) -> String) -> UnitSql {
        let cols = |alias: &str, cs: &[String]| -> String {
            let q: Vec<String> = cs.iter().map(|c| format!("{alias}.{}", quote(c))).collect();
            if q.len() == 1 {
                q[0].clone()
            } else {
                format!("ROW({})", q.join(", "))
            }
        };
        match self {
            Unit::Rows => UnitSql {
                joins: String::new(),
                expr: None,
            },
            Unit::Table { path, key, .. } if path.is_empty() => UnitSql {
                joins: String::new(),
                expr: Some(cols("t", key)),
            },
            Unit::Table { path, nullable, .. } => {
                let mut joins = Vec::new();
                let mut alias = "t".to_string();
                for (i, fk) in path[..path.len() - 1].iter().enumerate() {
                    let next = format!("u{i}");
                    joins.push(format!(
                        "LEFT JOIN {} {next} ON {}",
                        relation(&fk.ref_schema, &fk.ref_table),
                        fk.join_sql(&alias, &next)
                    ));
                    alias = next;
                }
                let last = path.last().expect("a non-empty path");
                let unit = cols(&alias, &last.columns);
                let expr = if *nullable {
                    format!("coalesce(({unit})::text, 'row ' || t.tableoid::text || ' ' || t.ctid::text)")
                } else {
                    unit
                };
                UnitSql {
                    joins: joins.join(" "),
                    expr: Some(expr),
                }
            }
        }
    }
}

/// The unit of every table of `schema` (`roles` per qualified table name, after detection).
pub fn units(
    schema: &Schema,
    roles: &BTreeMap<String, Vec<Role>>,
    policy: &Policy,
) -> Result<BTreeMap<String, Unit>> {
    let by_name: BTreeMap<String, &Table> =
        schema.tables.iter().map(|t| (t.qualified(), t)).collect();
    let has_pii = |q: &str| roles.get(q).is_some_and(|r| r.contains(&Role::Pii));
    let mut out = BTreeMap::new();
    for t in &schema.tables {
        let q = t.qualified();
        let unit = match policy.privacy_unit(t) {
            Some("rows") => Unit::Rows,
            Some(target) => path_to(t, &by_name, |n| n == target)
                .ok_or_else(|| policy_error(policy, &q, target))?,
            None => path_to(t, &by_name, |n| has_pii(n)).unwrap_or(Unit::Rows),
        };
        out.insert(q, unit);
    }
    Ok(out)
}

fn policy_error(policy: &Policy, table: &str, target: &str) -> Error {
    Error::Format {
        path: policy.source.clone().unwrap_or_else(|| "policy".into()),
        json_path: format!("$.tables.{table}.privacy_unit"),
        message: format!(
            "no foreign-key path leads from {table} to {target} (or name it \"rows\")"
        ),
    }
}

/// The shortest foreign-key path from `t` to a table `goal` accepts (itself first; NOT NULL
/// foreign keys before nullable ones, then by name).
fn path_to(
    t: &Table,
    by_name: &BTreeMap<String, &Table>,
    goal: impl Fn(&str) -> bool,
) -> Option<Unit> {
    let mut queue: VecDeque<(&Table, Vec<ForeignKey>, bool)> =
        VecDeque::from([(t, Vec::new(), false)]);
    let mut seen = BTreeSet::from([t.qualified()]);
    while let Some((table, path, nullable_path)) = queue.pop_front() {
        let q = table.qualified();
        if goal(&q) {
            if path.is_empty() {
                // The table itself: by its key (rows when it has none).
                return Some(match &table.primary_key {
                    Some(pk) => Unit::Table {
                        table: q,
                        path,
                        key: pk.clone(),
                        nullable: false,
                    },
                    None => Unit::Rows,
                });
            }
            return Some(Unit::Table {
                table: q,
                path,
                key: Vec::new(),
                nullable: nullable_path,
            });
        }
        let mut fks: Vec<&ForeignKey> = table.foreign_keys.iter().collect();
        let nullable = |fk: &ForeignKey| {
            fk.columns
                .iter()
                .any(|c| table.column(c).is_none_or(|c| !c.not_null))
        };
        fks.sort_by_key(|fk| (nullable(fk), fk.name.clone()));
        for fk in fks {
            let parent = format!("{}.{}", fk.ref_schema, fk.ref_table);
            let Some(p) = by_name.get(&parent) else {
                continue;
            };
            if seen.insert(parent) {
                let mut next = path.clone();
                next.push(fk.clone());
                queue.push_back((p, next, nullable_path || nullable(fk)));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::catalog::{Column, TypeKind};

    fn table(name: &str, cols: &[(&str, bool)], fks: &[(&str, &str, &str)]) -> Table {
        Table {
            schema: "s".into(),
            name: name.into(),
            partitioned: false,
            partition_key: None,
            columns: cols
                .iter()
                .map(|(c, not_null)| Column {
                    name: c.to_string(),
                    data_type: "bigint".into(),
                    type_kind: TypeKind::Base,
                    not_null: *not_null,
                    identity: None,
                    generated: false,
                    base_type: None,
                    serial: false,
                })
                .collect(),
            primary_key: Some(vec!["id".into()]),
            unique_keys: vec![],
            foreign_keys: fks
                .iter()
                .map(|(fk, col, parent)| ForeignKey {
                    name: fk.to_string(),
                    columns: vec![col.to_string()],
                    ref_schema: "s".into(),
                    ref_table: parent.to_string(),
                    ref_columns: vec!["id".into()],
                    deferrable: false,
                })
                .collect(),
        }
    }

    #[test]
    fn the_nearest_table_with_pii_along_foreign_keys() {
        let schema = Schema {
            tables: vec![
                table("people", &[("id", true)], &[]),
                table(
                    "threads",
                    &[("id", true), ("owner", false)],
                    &[("t_owner", "owner", "people")],
                ),
                table(
                    "posts",
                    &[("id", true), ("thread", true)],
                    &[("p_thread", "thread", "threads")],
                ),
                table("stations", &[("id", true)], &[]),
            ],
            enums: vec![],
        };
        let roles: BTreeMap<String, Vec<Role>> = [
            ("s.people".to_string(), vec![Role::Key, Role::Pii]),
            ("s.threads".to_string(), vec![Role::Key, Role::Key]),
            ("s.posts".to_string(), vec![Role::Key, Role::Key]),
            ("s.stations".to_string(), vec![Role::Key]),
        ]
        .into();
        let u = units(&schema, &roles, &Policy::default()).unwrap();
        assert_eq!(u["s.people"].to_string(), "s.people (itself)");
        assert_eq!(u["s.stations"], Unit::Rows);
        assert_eq!(u["s.posts"].to_string(), "s.people via p_thread → t_owner");
        // Two hops: the thread joined, its owner the unit; the owner is nullable, so a post of
        // an ownerless thread is its own unit.
        let sql = u["s.posts"].sql();
        assert_eq!(
            sql.joins,
            "LEFT JOIN \"s\".\"threads\" u0 ON t.\"thread\" = u0.\"id\""
        );
        assert!(sql
            .expr
            .unwrap()
            .starts_with("coalesce((u0.\"owner\")::text, 'row '"));
        assert_eq!(u["s.people"].sql().expr.as_deref(), Some("t.\"id\""));
    }
}
