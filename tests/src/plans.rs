//! The planner's view of a database (issue 15): a query set built from the catalog alone,
//! run with `EXPLAIN (ANALYZE, FORMAT JSON)`, each plan reduced to its shape (node types and
//! the relations under each join) and its per-node q-errors.
//!
//! Nothing here names a table or a column: the queries come from `pg_catalog` of the schema
//! read at run time. A query is a template (`{s}` for the schema, `{c0}`, `{c1}`, ... for
//! constants) and the SQL that picks its constants; the constants are picked by the same rule
//! in each database from that database's own rows, so no value crosses from one to the other.

use postgres::Client;
use serde_json::Value;

/// A column of a table, as the query builder needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Col {
    pub name: String,
    /// `timestamp`, `timestamptz` or `date`.
    pub time: bool,
    /// A string type or an enum.
    pub text: bool,
    pub not_null: bool,
}

/// A table: its columns in order, its primary key.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub cols: Vec<Col>,
    pub pk: Vec<String>,
}

/// A foreign key, child columns to parent columns, in key order.
#[derive(Debug, Clone, PartialEq)]
pub struct Fk {
    pub name: String,
    pub child: String,
    pub child_cols: Vec<String>,
    pub parent: String,
    pub parent_cols: Vec<String>,
}

/// The catalog of one schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub tables: Vec<Table>,
    pub fks: Vec<Fk>,
}

impl Catalog {
    pub fn table(&self, name: &str) -> &Table {
        self.tables.iter().find(|t| t.name == name).expect("table")
    }
}

/// A quoted identifier.
pub fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Reads the ordinary and partitioned tables of `schema`, their columns, keys and foreign
/// keys (constraint names left out of the comparison: they may differ between copies).
pub fn read_catalog(client: &mut Client, schema: &str) -> Catalog {
    let rows = client
        .query(
            "SELECT c.relname::text, a.attname::text,
                    t.typname IN ('timestamp', 'timestamptz', 'date'),
                    t.typcategory = 'S' OR t.typtype = 'e', a.attnotnull,
                    coalesce((SELECT a.attnum = ANY (k.conkey) FROM pg_constraint k
                               WHERE k.conrelid = c.oid AND k.contype = 'p'), false),
                    coalesce((SELECT array_position(k.conkey, a.attnum) FROM pg_constraint k
                               WHERE k.conrelid = c.oid AND k.contype = 'p'), 0)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               JOIN pg_type t ON t.oid = a.atttypid
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
              ORDER BY c.relname, a.attnum",
            &[&schema],
        )
        .expect("columns");
    let mut tables: Vec<Table> = Vec::new();
    let mut pk_pos: Vec<Vec<(i32, String)>> = Vec::new();
    for r in rows {
        let tname: String = r.get(0);
        if tables.last().is_none_or(|t| t.name != tname) {
            tables.push(Table {
                name: tname,
                cols: Vec::new(),
                pk: Vec::new(),
            });
            pk_pos.push(Vec::new());
        }
        let name: String = r.get(1);
        if r.get::<_, bool>(5) {
            pk_pos.last_mut().unwrap().push((r.get(6), name.clone()));
        }
        tables.last_mut().unwrap().cols.push(Col {
            name,
            time: r.get(2),
            text: r.get(3),
            not_null: r.get(4),
        });
    }
    for (t, mut p) in tables.iter_mut().zip(pk_pos) {
        p.sort();
        t.pk = p.into_iter().map(|(_, n)| n).collect();
    }
    let fks = client
        .query(
            "SELECT c.conname::text, cl.relname::text, pl.relname::text,
                    ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
                    ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
               FROM pg_constraint c
               JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cl.relnamespace
               JOIN pg_class pl ON pl.oid = c.confrelid
              WHERE c.contype = 'f' AND cn.nspname = $1
              ORDER BY cl.relname, 4, pl.relname",
            &[&schema],
        )
        .expect("foreign keys")
        .iter()
        .map(|r| Fk {
            name: r.get(0),
            child: r.get(1),
            parent: r.get(2),
            child_cols: r.get(3),
            parent_cols: r.get(4),
        })
        .collect();
    Catalog { tables, fks }
}

/// One query of the set: a label, its template and the SQL that picks its constants (one
/// row of `format('%L', ...)` literals), both with `{s}` for the schema.
#[derive(Debug, Clone)]
pub struct Query {
    pub label: String,
    pub template: String,
    pub constants: Option<String>,
}

impl Query {
    /// The query for `schema`, its constants picked from that schema's own rows.
    pub fn render(&self, client: &mut Client, schema: &str) -> String {
        let s = q(schema);
        let mut sql = self.template.replace("{s}", &s);
        if let Some(c) = &self.constants {
            let row = client
                .query(&c.replace("{s}", &s), &[])
                .unwrap_or_else(|e| panic!("constants of {}: {e}", self.label));
            let n = row.first().map_or(0, |r| r.len());
            for i in 0..n {
                let lit: Option<String> = row[0].get(i);
                sql = sql.replace(&format!("{{c{i}}}"), lit.as_deref().unwrap_or("NULL"));
            }
            if row.is_empty() {
                for i in 0..16 {
                    sql = sql.replace(&format!("{{c{i}}}"), "NULL");
                }
            }
        }
        sql
    }
}

/// `a = {c0} AND b = {c1} ...` over `cols` (prefixed by `alias.` when given).
fn equals(alias: &str, cols: &[String]) -> String {
    cols.iter()
        .enumerate()
        .map(|(i, c)| format!("{alias}{} = {{c{i}}}", q(c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `format('%L', a), format('%L', b), ...`.
fn literals(cols: &[String]) -> String {
    cols.iter()
        .map(|c| format!("format('%L', {})", q(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first timestamp column of a table, NOT NULL ones first.
fn first_time(t: &Table) -> Option<&Col> {
    let mut times: Vec<&Col> = t.cols.iter().filter(|c| c.time).collect();
    times.sort_by_key(|c| !c.not_null);
    times.first().copied()
}

/// The start of the latest 1 % of the span of `col` in `table`: `max - (max - min) / 100`.
fn latest_percent(table: &str, col: &str) -> String {
    let c = q(col);
    format!(
        "SELECT format('%L', max({c}) - (max({c}) - min({c})) / 100) FROM {{s}}.{}",
        q(table)
    )
}

/// The query set of `catalog` (read from `schema` of `client`, which also decides which
/// string columns are low-cardinality: at most `max_distinct` distinct values).
pub fn build_queries(
    catalog: &Catalog,
    client: &mut Client,
    schema: &str,
    max_distinct: i64,
) -> Vec<Query> {
    let mut out = Vec::new();
    for t in &catalog.tables {
        if t.pk.is_empty() {
            continue;
        }
        let order = t.pk.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
        out.push(Query {
            label: format!("point lookup {} by primary key (median key)", t.name),
            template: format!("SELECT * FROM {{s}}.{} WHERE {}", q(&t.name), equals("", &t.pk)),
            constants: Some(format!(
                "SELECT {} FROM {{s}}.{tn} ORDER BY {order} OFFSET (SELECT count(*) / 2 FROM {{s}}.{tn}) LIMIT 1",
                literals(&t.pk),
                tn = q(&t.name)
            )),
        });
    }
    for fk in &catalog.fks {
        let (child, parent) = (catalog.table(&fk.child), catalog.table(&fk.parent));
        let on = fk
            .child_cols
            .iter()
            .zip(&fk.parent_cols)
            .map(|(c, p)| format!("p.{} = c.{}", q(p), q(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        // The join, filtered on the parent: its latest 1 % by time, else its first 1 % by key.
        let (filter, constants) = match first_time(parent) {
            Some(tc) => (
                format!("p.{} >= {{c0}}", q(&tc.name)),
                latest_percent(&parent.name, &tc.name),
            ),
            None => {
                let k = q(&fk.parent_cols[0]);
                (
                    format!("p.{k} <= {{c0}}"),
                    format!(
                        "SELECT format('%L', percentile_disc(0.01) WITHIN GROUP (ORDER BY {k})) FROM {{s}}.{}",
                        q(&parent.name)
                    ),
                )
            }
        };
        out.push(Query {
            label: format!(
                "join {} -> {} ({}), parent filtered",
                fk.child, fk.parent, fk.name
            ),
            template: format!(
                "SELECT * FROM {{s}}.{} c JOIN {{s}}.{} p ON {on} WHERE {filter}",
                q(&child.name),
                q(&parent.name)
            ),
            constants: Some(constants),
        });
        if let Some(tc) = first_time(child) {
            let not_null = fk
                .child_cols
                .iter()
                .map(|c| format!("{} IS NOT NULL", q(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let group = fk
                .child_cols
                .iter()
                .map(|c| q(c))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(Query {
                label: format!("top 10 per parent {} ({}), the parent with most children", fk.child, fk.name),
                template: format!(
                    "SELECT * FROM {{s}}.{} WHERE {} ORDER BY {} DESC LIMIT 10",
                    q(&child.name),
                    equals("", &fk.child_cols),
                    q(&tc.name)
                ),
                constants: Some(format!(
                    "SELECT {} FROM {{s}}.{} WHERE {not_null} GROUP BY {group} ORDER BY count(*) DESC, {group} LIMIT 1",
                    literals(&fk.child_cols),
                    q(&child.name)
                )),
            });
        }
    }
    for t in &catalog.tables {
        for c in t.cols.iter().filter(|c| c.time) {
            out.push(Query {
                label: format!("range {}.{}: latest 1 % of its span", t.name, c.name),
                template: format!(
                    "SELECT * FROM {{s}}.{} WHERE {} >= {{c0}}",
                    q(&t.name),
                    q(&c.name)
                ),
                constants: Some(latest_percent(&t.name, &c.name)),
            });
        }
    }
    for t in &catalog.tables {
        for c in t.cols.iter().filter(|c| c.text && !t.pk.contains(&c.name)) {
            let distinct: i64 = client
                .query_one(
                    &format!(
                        "SELECT count(DISTINCT {}) FROM {}.{}",
                        q(&c.name),
                        q(schema),
                        q(&t.name)
                    ),
                    &[],
                )
                .expect("distinct")
                .get(0);
            if distinct > max_distinct {
                continue;
            }
            out.push(Query {
                label: format!("aggregate {} by {} ({distinct} values)", t.name, c.name),
                template: format!(
                    "SELECT {c}, count(*) FROM {{s}}.{} GROUP BY {c}",
                    q(&t.name),
                    c = q(&c.name)
                ),
                constants: None,
            });
        }
    }
    out
}

/// One query's plan, as executed.
#[derive(Debug, Clone)]
pub struct Measured {
    pub sql: String,
    pub shape: String,
    /// q-error of every executed node not under a `Limit` (whose rows were cut short).
    pub q_errors: Vec<f64>,
    pub top_q_error: f64,
    pub top_actual_rows: f64,
}

/// `max(est / actual, actual / est)`, both clamped to at least 1.
pub fn q_error(est: f64, actual: f64) -> f64 {
    let (e, a) = (est.max(1.0), actual.max(1.0));
    (e / a).max(a / e)
}

/// A node's label in a shape: its type, aggregate strategy, non-inner join type, relation.
fn node_label(n: &Value) -> String {
    let mut l = n["Node Type"].as_str().unwrap_or("?").to_string();
    for key in ["Strategy", "Join Type", "Scan Direction"] {
        if let Some(v) = n[key].as_str() {
            if !matches!(v, "Plain" | "Inner" | "Forward") {
                l.push('/');
                l.push_str(v);
            }
        }
    }
    // Unqualified without VERBOSE: the schema never shows, so copies in two schemas compare.
    if let Some(r) = n["Relation Name"].as_str() {
        l.push_str(&format!("[{r}]"));
    }
    l
}

/// The shape of a plan node: `label(child, child, ...)`, children in plan order (which is
/// the join order: outer first).
pub fn shape(n: &Value) -> String {
    let children: Vec<String> = n["Plans"]
        .as_array()
        .map(|a| a.iter().map(shape).collect())
        .unwrap_or_default();
    if children.is_empty() {
        node_label(n)
    } else {
        format!("{}({})", node_label(n), children.join(", "))
    }
}

fn collect_q(n: &Value, under_limit: bool, out: &mut Vec<f64>) {
    let loops = n["Actual Loops"].as_f64().unwrap_or(0.0);
    if loops > 0.0 && !under_limit {
        out.push(q_error(
            n["Plan Rows"].as_f64().unwrap_or(0.0),
            n["Actual Rows"].as_f64().unwrap_or(0.0),
        ));
    }
    let limit = under_limit || n["Node Type"] == "Limit";
    for c in n["Plans"].as_array().into_iter().flatten() {
        collect_q(c, limit, out);
    }
}

/// Runs `sql` under `EXPLAIN (ANALYZE, FORMAT JSON)`.
pub fn explain(client: &mut Client, sql: &str) -> Measured {
    let row = client
        .query_one(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}"), &[])
        .unwrap_or_else(|e| panic!("EXPLAIN {sql}: {e}"));
    let doc: Value = row.get(0);
    let plan = &doc[0]["Plan"];
    let mut q_errors = Vec::new();
    collect_q(plan, false, &mut q_errors);
    Measured {
        sql: sql.to_string(),
        shape: shape(plan),
        q_errors,
        top_q_error: q_error(
            plan["Plan Rows"].as_f64().unwrap_or(0.0),
            plan["Actual Rows"].as_f64().unwrap_or(0.0),
        ),
        top_actual_rows: plan["Actual Rows"].as_f64().unwrap_or(0.0),
    }
}

/// The nearest-rank `p` quantile of `xs` (NaN when empty).
pub fn quantile(xs: &[f64], p: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// The secondary indexes of `from` (those that back no constraint) as `CREATE INDEX`
/// statements on the same tables in schema `to`: what an application's migrations would add.
pub fn secondary_indexes(client: &mut Client, from: &str, to: &str) -> Vec<String> {
    client
        .query(
            "SELECT pg_get_indexdef(i.indexrelid), c.relname::text
               FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1
                AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
              ORDER BY 1",
            &[&from],
        )
        .expect("indexes")
        .iter()
        .map(|r| {
            let (def, table): (String, String) = (r.get(0), r.get(1));
            // pg_get_indexdef qualifies the table as `schema.table` (quoted when needed).
            let qualify = |s: &str| {
                let quoted = q(s);
                let plain = s.starts_with(|ch: char| ch.is_ascii_lowercase() || ch == '_')
                    && s.chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
                if plain {
                    s.to_string()
                } else {
                    quoted
                }
            };
            let old = format!(" ON {}.{} ", qualify(from), qualify(&table));
            let new = format!(" ON {}.{} ", q(to), q(&table));
            assert!(def.contains(&old), "{def} has {old}");
            def.replacen(&old, &new, 1)
        })
        .collect()
}
