//! Column roles: what a column is decides what may leave production about it.
//!
//! | role | exported |
//! |---|---|
//! | key | null fraction, distinct ratio (and the fan-out of its foreign key) |
//! | timestamp | null fraction, distinct ratio, hourly, weekday and daily profiles |
//! | number | null fraction, distinct ratio, quantiles, histogram (no raw min/max) |
//! | category | null fraction, distinct ratio, frequencies as tokens (labels only when allow-listed or enum) |
//! | text | null fraction, distinct ratio, length histogram (never content) |
//! | pii | null fraction, distinct ratio, length histogram |
//! | other | null fraction, distinct ratio |
//! | skip | nothing: the column is not read (policy only) |
//!
//! Decided from the catalog (keys, types, enums) and the column name; a column whose name
//! suggests personal data is PII whatever its type.

use std::fmt;

use pgshape_core::catalog::{Column, Table, TypeKind};

/// A column's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Key,
    Timestamp,
    Number,
    Category,
    Text,
    Pii,
    Other,
    /// Not read at all (set by the policy file).
    Skip,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Key => "key",
            Role::Timestamp => "timestamp",
            Role::Number => "number",
            Role::Category => "category",
            Role::Text => "text",
            Role::Pii => "pii",
            Role::Other => "other",
            Role::Skip => "skip",
        })
    }
}

impl Role {
    /// What leaves production for a column of this role.
    pub fn exported(self) -> &'static str {
        match self {
            Role::Key => "null fraction, distinct ratio, fan-out per foreign key, length histogram of text keys (no content)",
            Role::Timestamp => "null fraction, distinct ratio, hourly / weekday / daily profiles",
            Role::Number => "null fraction, distinct ratio, quantiles and histogram (no min/max)",
            Role::Category => {
                "null fraction, distinct ratio, frequencies as HMAC tokens (k-suppressed)"
            }
            Role::Text => "null fraction, distinct ratio, length histogram (no content)",
            Role::Pii => "null fraction, distinct ratio, length histogram (no values)",
            Role::Other => "null fraction, distinct ratio",
            Role::Skip => "nothing (not read)",
        }
    }
}

/// Name fragments that mark personal data.
const PII_NAMES: &[&str] = &[
    "email",
    "e_mail",
    "phone",
    "mobile",
    "fax",
    "ssn",
    "social_security",
    "passport",
    "license",
    "first_name",
    "last_name",
    "full_name",
    "display_name",
    "surname",
    "given_name",
    "maiden",
    "username",
    "user_name",
    "handle",
    "nickname",
    "address",
    "street",
    "city",
    "zip",
    "postal",
    "birth",
    "dob",
    "ip_address",
    "ip_addr",
    "iban",
    "card",
    "account_number",
    "tax_id",
    "national_id",
    "college_id",
    "student_id",
    "employee_id",
    "latitude",
    "longitude",
    "geo",
];

/// Name fragments that mark a categorical text column.
const CATEGORY_NAMES: &[&str] = &[
    "kind", "type", "status", "state", "role", "mime", "category", "level", "tier", "plan",
    "locale", "lang", "currency", "country",
];

/// The role of `column` of `table`.
pub fn role(table: &Table, column: &Column) -> Role {
    let name = column.name.to_ascii_lowercase();
    let is_key = table
        .primary_key
        .as_ref()
        .is_some_and(|pk| pk.contains(&column.name))
        || table
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.contains(&column.name));
    if PII_NAMES.iter().any(|p| name.contains(p)) && !is_key {
        return Role::Pii;
    }
    if is_key {
        return Role::Key;
    }
    let t = column.effective_type();
    if column.type_kind == TypeKind::Enum || t == "boolean" {
        return Role::Category;
    }
    if is_timestamp_type(t) {
        return Role::Timestamp;
    }
    if is_numeric_type(t) {
        return Role::Number;
    }
    // jsonb, bytea and arrays: their lengths (text length, bytes, elements), never content.
    if column.type_kind == TypeKind::Array || matches!(t, "jsonb" | "json" | "bytea") {
        return Role::Text;
    }
    if t == "text" || t.starts_with("character") {
        let word = |w: &str| {
            name == w || name.ends_with(&format!("_{w}")) || name.starts_with(&format!("{w}_"))
        };
        return if CATEGORY_NAMES.iter().any(|w| word(w)) {
            Role::Category
        } else {
            Role::Text
        };
    }
    Role::Other
}

/// Whether column `c` (of role `r`) behaves as an identifier: an integer, text or uuid column named `id`, `…_id` or
/// `…Id` that is not a key. Such a column exports only its null fraction and a banded
/// distinct ratio, as a key does; keys themselves are keys already. (Near-uniqueness alone is
/// not taken for an identifier: sizes and amounts are near-unique too, and their quantiles
/// rest on k people on each side anyway.)
pub fn identifier_like(c: &Column, r: Role) -> bool {
    if !matches!(r, Role::Number | Role::Text | Role::Category | Role::Other) {
        return false;
    }
    let ty = c.effective_type();
    let integer = matches!(ty, "smallint" | "integer" | "bigint");
    let textual = ty == "text" || ty.starts_with("character") || ty == "uuid";
    let lower = c.name.to_ascii_lowercase();
    let named = lower == "id" || lower.ends_with("_id") || c.name.ends_with("Id");
    named && (integer || textual)
}

/// Whether `format_type()` text `t` names a numeric type (cast to float8 for quantiles; an
/// interval is read as its seconds).
pub fn is_numeric_type(t: &str) -> bool {
    matches!(
        t,
        "smallint" | "integer" | "bigint" | "real" | "double precision"
    ) || t.starts_with("numeric")
        || t.starts_with("interval")
}

/// The SQL (over alias `t`) of a column's length as the pack exports it: elements of an
/// array, bytes of a `bytea`, characters of anything else's text.
pub fn length_sql(c: &Column, col: &str) -> String {
    if c.type_kind == TypeKind::Array {
        format!("coalesce(cardinality(t.{col}), 0)")
    } else if c.effective_type() == "bytea" {
        format!("octet_length(t.{col})")
    } else {
        format!("length(t.{col}::text)")
    }
}

/// The SQL (over alias `t`) of a number column's value as float8 (an interval's seconds).
pub fn number_sql(c: &Column, col: &str) -> String {
    if c.effective_type().starts_with("interval") {
        format!("extract(epoch from t.{col})::float8")
    } else {
        format!("t.{col}::float8")
    }
}

/// Whether `format_type()` text `t` names a timestamp or date type.
pub fn is_timestamp_type(t: &str) -> bool {
    t.starts_with("timestamp") || t == "date"
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::catalog::ForeignKey;

    fn col(name: &str, ty: &str, kind: TypeKind) -> Column {
        Column {
            name: name.into(),
            data_type: ty.into(),
            type_kind: kind,
            not_null: false,
            identity: None,
            generated: false,
            base_type: None,
            serial: false,
        }
    }

    #[test]
    fn roles_from_catalog_and_names() {
        let t = Table {
            schema: "s".into(),
            name: "t".into(),
            partitioned: false,
            partition_key: None,
            columns: vec![],
            primary_key: Some(vec!["id".into()]),
            unique_keys: vec![],
            foreign_keys: vec![ForeignKey {
                name: "f".into(),
                columns: vec!["owner_id".into()],
                ref_schema: "s".into(),
                ref_table: "u".into(),
                ref_columns: vec!["id".into()],
                deferrable: false,
            }],
        };
        assert_eq!(role(&t, &col("id", "bigint", TypeKind::Base)), Role::Key);
        assert_eq!(
            role(&t, &col("owner_id", "bigint", TypeKind::Base)),
            Role::Key
        );
        assert_eq!(role(&t, &col("email", "text", TypeKind::Base)), Role::Pii);
        assert_eq!(
            role(&t, &col("display_name", "text", TypeKind::Base)),
            Role::Pii
        );
        assert_eq!(
            role(
                &t,
                &col("created_at", "timestamp with time zone", TypeKind::Base)
            ),
            Role::Timestamp
        );
        assert_eq!(
            role(&t, &col("kind", "kind_enum", TypeKind::Enum)),
            Role::Category
        );
        assert_eq!(
            role(&t, &col("mime", "text", TypeKind::Base)),
            Role::Category
        );
        assert_eq!(
            role(&t, &col("content", "text", TypeKind::Base)),
            Role::Text
        );
        assert_eq!(
            role(&t, &col("byte_size", "bigint", TypeKind::Base)),
            Role::Number
        );
        assert_eq!(
            role(&t, &col("payload", "jsonb", TypeKind::Base)),
            Role::Text
        );
        assert_eq!(
            role(&t, &col("tags", "text[]", TypeKind::Array)),
            Role::Text
        );
        assert_eq!(role(&t, &col("blob", "bytea", TypeKind::Base)), Role::Text);
        assert_eq!(
            role(&t, &col("wait", "interval", TypeKind::Base)),
            Role::Number
        );
        assert_eq!(role(&t, &col("addr", "inet", TypeKind::Base)), Role::Other);
    }
}
