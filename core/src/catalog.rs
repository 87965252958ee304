//! The schema model (tables, columns, keys, foreign keys, enums) read from `pg_catalog`, and the
//! foreign-key graph with a load order that tolerates self-references and cycles.
//!
//! Identifiers here come from the catalog only; nothing in this module reads a row value.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

#[cfg(feature = "db")]
mod read;
#[cfg(feature = "db")]
pub use read::read;

/// A schema: the tables of one or more PostgreSQL schemas and the enum types they use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    pub tables: Vec<Table>,
    #[serde(default)]
    pub enums: Vec<EnumType>,
}

/// One table (or partitioned table; partitions themselves are not listed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub schema: String,
    pub name: String,
    #[serde(default)]
    pub partitioned: bool,
    /// A partitioned table's `pg_get_partkeydef()`, e.g. `RANGE (created_at)`: the method and
    /// key columns (no partition bounds: those hold values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
    pub columns: Vec<Column>,
    #[serde(default)]
    pub primary_key: Option<Vec<String>>,
    #[serde(default)]
    pub unique_keys: Vec<Vec<String>>,
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    /// `format_type()` of the column, e.g. `bigint`, `character varying(40)`, `text[]`.
    pub data_type: String,
    /// What kind of type: base, enum, domain, array, composite, range.
    pub type_kind: TypeKind,
    pub not_null: bool,
    /// `a` (always) or `d` (by default) for identity columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// A serial column: its default draws from a sequence the column owns (not an identity).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serial: bool,
    /// Generated (stored) columns are never written by a loader.
    #[serde(default)]
    pub generated: bool,
    /// For a domain: `format_type()` of the type it is based on (e.g. `numeric(12,2)`), which
    /// decides the column's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_type: Option<String>,
}

/// The kind of a column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeKind {
    Base,
    Enum,
    Domain,
    Array,
    Composite,
    Range,
    Other,
}

/// A foreign key, possibly composite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub ref_schema: String,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    #[serde(default)]
    pub deferrable: bool,
}

/// An enum type and its labels (labels are catalog identifiers, not row values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumType {
    pub schema: String,
    pub name: String,
    pub labels: Vec<String>,
}

impl Schema {
    /// Finds a table by name (unqualified names match in any schema).
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name == name || t.qualified() == name)
    }
}

impl Column {
    /// The type that decides the column's role: a domain's base type, else its own type.
    pub fn effective_type(&self) -> &str {
        self.base_type.as_deref().unwrap_or(&self.data_type)
    }
}

impl ForeignKey {
    /// The join condition `child.c1 = parent.p1 AND ...` between aliases, quoted.
    pub fn join_sql(&self, child: &str, parent: &str) -> String {
        self.columns
            .iter()
            .zip(&self.ref_columns)
            .map(|(c, p)| {
                format!(
                    "{child}.{} = {parent}.{}",
                    crate::ident::quote(c),
                    crate::ident::quote(p)
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

impl Table {
    /// `schema.name`, unquoted (a display and map key).
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// Finds a column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A load order over a schema's tables: parents before children. Self-references never block a
/// table; a cycle is broken by naming the foreign keys that must be deferred (loaded nullable
/// and filled later, or created after the load).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOrder {
    /// Qualified table names, parents first.
    pub tables: Vec<String>,
    /// `(table, foreign key name)` edges that point forward in `tables` (cycle breakers).
    pub deferred: Vec<(String, String)>,
}

/// Orders tables parents-first (Kahn's algorithm, ties by name so the order is stable). When
/// only cycles remain, the table with the fewest unmet parents goes next and those edges are
/// reported as deferred.
pub fn load_order(schema: &Schema) -> LoadOrder {
    let names: BTreeSet<String> = schema.tables.iter().map(Table::qualified).collect();
    // parents[t] = (parent, fk name) edges, excluding self-references and outside tables.
    let mut parents: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for t in &schema.tables {
        let q = t.qualified();
        let edges = t
            .foreign_keys
            .iter()
            .map(|fk| {
                (
                    format!("{}.{}", fk.ref_schema, fk.ref_table),
                    fk.name.clone(),
                )
            })
            .filter(|(p, _)| *p != q && names.contains(p))
            .collect();
        parents.insert(q, edges);
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut order = LoadOrder {
        tables: Vec::new(),
        deferred: Vec::new(),
    };
    while done.len() < names.len() {
        let ready = names
            .iter()
            .filter(|t| !done.contains(*t))
            .find(|t| parents[*t].iter().all(|(p, _)| done.contains(p)));
        let next = match ready {
            Some(t) => t.clone(),
            None => {
                // Only cycles are left (and tables downstream of them). Break a cycle at a
                // table all of whose unmet parents lie on a cycle back to it: a source of the
                // graph of strongly connected components. Defer exactly those edges.
                let unmet = |t: &String| -> Vec<&(String, String)> {
                    parents[t]
                        .iter()
                        .filter(|(p, _)| !done.contains(p))
                        .collect()
                };
                let reaches = |from: &String, to: &String| -> bool {
                    let mut stack = vec![from.clone()];
                    let mut seen = BTreeSet::new();
                    while let Some(x) = stack.pop() {
                        if &x == to {
                            return true;
                        }
                        if seen.insert(x.clone()) {
                            stack.extend(unmet(&x).into_iter().map(|(p, _)| p.clone()));
                        }
                    }
                    false
                };
                let t = names
                    .iter()
                    .filter(|t| !done.contains(*t))
                    .filter(|t| unmet(t).iter().all(|(p, _)| reaches(p, t)))
                    .min_by_key(|t| unmet(t).len())
                    .expect("a graph whose every vertex has an unmet parent has a source component")
                    .clone();
                for (_, fk) in unmet(&t) {
                    order.deferred.push((t.clone(), fk.clone()));
                }
                t
            }
        };
        done.insert(next.clone());
        order.tables.push(next);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, fks: &[(&str, &str)]) -> Table {
        Table {
            schema: "s".into(),
            name: name.into(),
            partitioned: false,
            partition_key: None,
            columns: vec![],
            primary_key: None,
            unique_keys: vec![],
            foreign_keys: fks
                .iter()
                .map(|(fk, parent)| ForeignKey {
                    name: fk.to_string(),
                    columns: vec![],
                    ref_schema: "s".into(),
                    ref_table: parent.to_string(),
                    ref_columns: vec![],
                    deferrable: false,
                })
                .collect(),
        }
    }

    #[test]
    fn parents_first_and_self_reference_ignored() {
        let s = Schema {
            tables: vec![
                table("c", &[("c_b", "b"), ("c_self", "c")]),
                table("b", &[("b_a", "a")]),
                table("a", &[]),
            ],
            enums: vec![],
        };
        let o = load_order(&s);
        assert_eq!(o.tables, ["s.a", "s.b", "s.c"]);
        assert!(o.deferred.is_empty());
    }

    #[test]
    fn only_cycle_edges_are_deferred() {
        // r <-> s is a cycle; m hangs below it (m -> k -> s): m's edge must not be deferred.
        let s = Schema {
            tables: vec![
                table("m", &[("m_k", "k")]),
                table("r", &[("r_s", "s"), ("r_self", "r")]),
                table("s", &[("s_r", "r")]),
                table("k", &[("k_s", "s")]),
            ],
            enums: vec![],
        };
        let o = load_order(&s);
        assert_eq!(o.deferred, vec![("s.r".to_string(), "r_s".to_string())]);
        assert_eq!(o.tables, ["s.r", "s.s", "s.k", "s.m"]);
    }

    #[test]
    fn cycle_is_broken_with_a_deferred_edge() {
        let s = Schema {
            tables: vec![
                table("x", &[("x_y", "y")]),
                table("y", &[("y_x", "x")]),
                table("z", &[("z_x", "x")]),
            ],
            enums: vec![],
        };
        let o = load_order(&s);
        assert_eq!(o.tables, ["s.x", "s.y", "s.z"]);
        assert_eq!(o.deferred, vec![("s.x".to_string(), "x_y".to_string())]);
    }
}
