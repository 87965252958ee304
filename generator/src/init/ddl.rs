//! The DDL of a spec derived from a pack: the pack's schema block as `CREATE TYPE`,
//! `CREATE TABLE` (columns, types, nullability, primary and unique keys) and
//! `ALTER TABLE ... ADD FOREIGN KEY` statements, unqualified so that the loader's `--schema`
//! places them. Identifiers are quoted; nothing here is a row value.

use pgshape_core::catalog::{Column, Schema, TypeKind};
use pgshape_core::ident::{literal, quote};

/// The DDL text for `schema`'s tables, in `order` (unqualified table names, parents first).
pub fn render(schema: &Schema, order: &[String]) -> String {
    let mut out = String::from(
        "-- Derived by `pgshape-generator init` from a metrics pack's schema block: tables,\n\
         -- columns, types, nullability, primary, unique and foreign keys, enum types. Unqualified\n\
         -- names: the loader sets search_path to its --schema. Domains are written as their base\n\
         -- type, partitioned tables as plain tables, identity and serial columns as plain columns\n\
         -- (the generator supplies every key).\n\n",
    );
    for e in &schema.enums {
        let labels: Vec<String> = e.labels.iter().map(|l| literal(l)).collect();
        out.push_str(&format!(
            "CREATE TYPE {} AS ENUM ({});\n",
            quote(&e.name),
            labels.join(", ")
        ));
    }
    if !schema.enums.is_empty() {
        out.push('\n');
    }
    let tables = order.iter().filter_map(|n| schema.table(n));
    for t in tables.clone() {
        let mut lines: Vec<String> = t
            .columns
            .iter()
            .filter(|c| !c.generated)
            .map(|c| {
                format!(
                    "    {} {}{}",
                    quote(&c.name),
                    column_type(schema, c),
                    if c.not_null { " NOT NULL" } else { "" }
                )
            })
            .collect();
        let list = |cols: &[String]| cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
        if let Some(pk) = &t.primary_key {
            lines.push(format!("    PRIMARY KEY ({})", list(pk)));
        }
        for u in &t.unique_keys {
            lines.push(format!("    UNIQUE ({})", list(u)));
        }
        out.push_str(&format!(
            "CREATE TABLE {} (\n{}\n);\n\n",
            quote(&t.name),
            lines.join(",\n")
        ));
    }
    for t in tables {
        for fk in &t.foreign_keys {
            let list =
                |cols: &[String]| cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
            out.push_str(&format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){};\n",
                quote(&t.name),
                quote(&fk.name),
                list(&fk.columns),
                quote(&fk.ref_table),
                list(&fk.ref_columns),
                if fk.deferrable {
                    " DEFERRABLE INITIALLY DEFERRED"
                } else {
                    ""
                }
            ));
        }
    }
    out
}

/// The column's type as DDL: enum types unqualified, domains as their base type.
fn column_type(schema: &Schema, c: &Column) -> String {
    match c.type_kind {
        TypeKind::Enum => schema
            .enums
            .iter()
            .find(|e| {
                c.data_type == e.name
                    || c.data_type == format!("{}.{}", e.schema, e.name)
                    || c.data_type == quote(&e.name)
            })
            .map_or_else(|| c.data_type.clone(), |e| quote(&e.name)),
        TypeKind::Domain => c.effective_type().to_string(),
        _ => c.data_type.clone(),
    }
}
