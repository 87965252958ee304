//! Catalog types as generator types: a column's [`SqlType`] (an array's element type), and
//! the bounds its declared type sets (`varchar(n)`, `numeric(p,s)`).

use pgshape_core::catalog::{Column, TypeKind};
use pgshape_core::spec::SqlType;

/// The generator type of a catalog column, or why there is none.
pub(super) fn sql_type(c: &Column) -> std::result::Result<SqlType, String> {
    Ok(column_type(c)?.0)
}

/// The generator type of a catalog column (an array's element type) and whether it is an
/// array, or why there is none.
pub(super) fn column_type(c: &Column) -> std::result::Result<(SqlType, bool), String> {
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
pub(super) const NUMERIC_DECIMALS: u32 = 4;

/// The `n` of `character varying(n)` / `character(n)` (also as an array's element type).
pub(super) fn max_length(c: &Column) -> Option<f64> {
    let t = c.effective_type().trim_end_matches("[]");
    let inner = t.strip_suffix(')')?.split_once('(')?.1;
    inner.parse().ok()
}

/// The `(p, s)` of `numeric(p,s)` (`s` 0 when only `p` is given).
pub(super) fn numeric_bounds(c: &Column) -> Option<(u32, u32)> {
    let t = c.effective_type().trim_end_matches("[]");
    let inner = t.strip_prefix("numeric(")?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',').unwrap_or((inner, "0"));
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}
