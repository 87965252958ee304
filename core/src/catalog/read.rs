//! [`read`]: the schema model from `pg_catalog` (feature `db`).

use postgres::GenericClient;

use super::{Column, EnumType, ForeignKey, Schema, Table, TypeKind};
use crate::{Error, Result};

/// Reads the tables, keys and enums of the given PostgreSQL schemas.
pub fn read(client: &mut impl GenericClient, schemas: &[String]) -> Result<Schema> {
    let rows = client
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind = 'p',
                    CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND n.nspname = ANY($1)
              ORDER BY n.nspname, c.relname",
            &[&schemas],
        )
        .map_err(Error::db("reading tables from pg_class"))?;
    let mut tables = Vec::new();
    for row in rows {
        let oid: u32 = row.get(0);
        let mut table = Table {
            schema: row.get(1),
            name: row.get(2),
            partitioned: row.get(3),
            partition_key: row.get(4),
            columns: Vec::new(),
            primary_key: None,
            unique_keys: Vec::new(),
            foreign_keys: Vec::new(),
        };
        read_columns(client, oid, &mut table)?;
        read_constraints(client, oid, &mut table)?;
        tables.push(table);
    }
    let enums = client
        .query(
            "SELECT n.nspname::text, t.typname::text,
                    array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
               FROM pg_type t
               JOIN pg_namespace n ON n.oid = t.typnamespace
               JOIN pg_enum e ON e.enumtypid = t.oid
              WHERE n.nspname = ANY($1)
              GROUP BY 1, 2 ORDER BY 1, 2",
            &[&schemas],
        )
        .map_err(Error::db("reading enum types"))?
        .into_iter()
        .map(|r| EnumType {
            schema: r.get(0),
            name: r.get(1),
            labels: r.get(2),
        })
        .collect();
    Ok(Schema { tables, enums })
}

fn read_columns(client: &mut impl GenericClient, oid: u32, table: &mut Table) -> Result<()> {
    let rows = client
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typtype::text,
                    t.typcategory::text, a.attnotnull, a.attidentity::text, a.attgenerated::text,
                    CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
                    a.attidentity = '' AND EXISTS (
                        SELECT 1 FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                         WHERE d.classid = 'pg_class'::regclass AND d.refobjid = a.attrelid
                           AND d.refobjsubid = a.attnum AND d.deptype = 'a')
               FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
              WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum",
            &[&oid],
        )
        .map_err(Error::db(format!(
            "reading columns of {}",
            table.qualified()
        )))?;
    for r in rows {
        let typtype: String = r.get(2);
        let category: String = r.get(3);
        let identity: String = r.get(5);
        let generated: String = r.get(6);
        let type_kind = match (typtype.as_str(), category.as_str()) {
            (_, "A") => TypeKind::Array,
            ("e", _) => TypeKind::Enum,
            ("d", _) => TypeKind::Domain,
            ("c", _) => TypeKind::Composite,
            ("r", _) | ("m", _) => TypeKind::Range,
            ("b", _) => TypeKind::Base,
            _ => TypeKind::Other,
        };
        table.columns.push(Column {
            name: r.get(0),
            data_type: r.get(1),
            type_kind,
            not_null: r.get(4),
            identity: (!identity.is_empty()).then_some(identity),
            generated: !generated.is_empty(),
            base_type: r.get(7),
            serial: r.get(8),
        });
    }
    Ok(())
}

fn read_constraints(client: &mut impl GenericClient, oid: u32, table: &mut Table) -> Result<()> {
    let rows = client
        .query(
            "SELECT c.conname::text, c.contype::text,
                    ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
                    rn.nspname::text, r.relname::text,
                    ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i),
                    c.condeferrable
               FROM pg_constraint c
               LEFT JOIN pg_class r ON r.oid = c.confrelid
               LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
              WHERE c.conrelid = $1 AND c.contype IN ('p', 'u', 'f')
              ORDER BY c.contype, c.conname",
            &[&oid],
        )
        .map_err(Error::db(format!("reading constraints of {}", table.qualified())))?;
    for r in rows {
        let kind: String = r.get(1);
        let columns: Vec<String> = r.get(2);
        match kind.as_str() {
            "p" => table.primary_key = Some(columns),
            "u" => table.unique_keys.push(columns),
            _ => table.foreign_keys.push(ForeignKey {
                name: r.get(0),
                columns,
                ref_schema: r.get(3),
                ref_table: r.get(4),
                ref_columns: r.get(5),
                deferrable: r.get(6),
            }),
        }
    }
    Ok(())
}
