//! Metadata through the PII detectors: table, column, constraint and index names, enum type
//! names and labels, partition keys and column defaults are catalog text a person may have put
//! a value into (`fk_owner_ssn_123-45-6789`, an enum label that is an email, a partition bound
//! on someone's address). Each goes through [`pgshape_core::pii::scan`]; one that trips a
//! detector stops the extraction (exit 4) with a message naming the object by its kind and
//! position, never by the flagged text, unless the policy lists it in `allow_names` (then an
//! enum label leaves as an HMAC token, anything else as it is).

use pgshape_core::catalog::Schema;
use pgshape_core::pii;
use pgshape_core::token::Salt;
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::policy::Policy;

/// One piece of catalog text: where it is (no flagged text in it) and the text.
struct Item {
    at: String,
    text: String,
}

/// Every catalog text of `schema` and of the tables' indexes, constraints and defaults.
fn items(
    client: &mut impl GenericClient,
    schema: &Schema,
    schemas: &[String],
) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    let mut push = |at: String, text: &str| {
        out.push(Item {
            at,
            text: text.into(),
        })
    };
    for (i, t) in schema.tables.iter().enumerate() {
        let table = format!(
            "table #{} (of {} in the schemas read)",
            i + 1,
            schema.tables.len()
        );
        push(table.clone(), &t.schema);
        push(table.clone(), &t.name);
        for (j, c) in t.columns.iter().enumerate() {
            push(format!("column #{} of {table}", j + 1), &c.name);
        }
        if let Some(k) = &t.partition_key {
            push(format!("the partition key of {table}"), k);
        }
    }
    for e in &schema.enums {
        push(format!("an enum type of schema {}", e.schema), &e.name);
    }
    // What the pack does not carry, but a loader or a reviewer would see.
    let rows = client
        .query(
            "SELECT 'an index' AS kind, n.nspname::text, c.relname::text, i.relname::text
               FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)
             UNION ALL
             SELECT 'a constraint', n.nspname::text, c.relname::text, co.conname::text
               FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)
             UNION ALL
             SELECT 'a column default', n.nspname::text, c.relname::text, pg_get_expr(d.adbin, d.adrelid)
               FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)
             UNION ALL
             SELECT 'a partition bound', n.nspname::text, c.relname::text, pg_get_expr(c.relpartbound, c.oid)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relispartition AND n.nspname = ANY($1)
             ORDER BY 1, 2, 3, 4",
            &[&schemas],
        )
        .map_err(Error::db("reading index, constraint and default names"))?;
    for r in rows {
        let (kind, s, t, text): (String, String, String, Option<String>) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let table = format!("{s}.{t}");
        let of = if pii::scan(&table).is_empty() {
            table
        } else {
            "a table".into()
        };
        if let Some(text) = text {
            out.push(Item {
                at: format!("{kind} of {of}"),
                text,
            });
        }
    }
    Ok(out)
}

/// Checks the catalog text of `schema` and tokenizes the enum labels a detector flags (which
/// the policy must have allowed). Errs ([`Error::Refused`], exit 4) on the first flagged text
/// the policy does not allow.
pub fn check(
    client: &mut impl GenericClient,
    schema: &mut Schema,
    schemas: &[String],
    policy: &Policy,
    salt: &Salt,
) -> Result<()> {
    let refuse = |at: &str, found: &[pii::Detector]| {
        let names: Vec<&str> = found.iter().map(|d| d.name()).collect();
        Error::Refused(format!(
            "{at} looks like PII ({}): rename it, or list it in the policy's allow_names once checked; nothing was written",
            names.join(", ")
        ))
    };
    for item in items(client, schema, schemas)? {
        let found = pii::scan(&item.text);
        if !found.is_empty() && !policy.allows_name(&item.text) {
            return Err(refuse(&item.at, &found));
        }
    }
    for e in &mut schema.enums {
        let at = format!("enum type {}.{}", e.schema, e.name);
        for (i, label) in e.labels.iter_mut().enumerate() {
            let found = pii::scan(label);
            if found.is_empty() {
                continue;
            }
            if !policy.allows_name(label) {
                return Err(refuse(&format!("label #{} of {at}", i + 1), &found));
            }
            *label = enum_token(salt, label);
        }
    }
    Ok(())
}

/// The token namespace of flagged enum labels.
pub const ENUM_NAMESPACE: &str = "enum labels";

/// The token an allowed, flagged enum label leaves as (the same in the schema block and in
/// category counts).
pub fn enum_token(salt: &Salt, label: &str) -> String {
    salt.namespace(ENUM_NAMESPACE).token(label.as_bytes())
}
