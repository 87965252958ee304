//! The policy file (`--policy FILE`): the privacy engineer's overrides of what the catalog and
//! name detection decide, per table and column. Read strictly: unknown keys are rejected and
//! every error names the file and the JSON path; then checked against the catalog (every
//! table and column it names must exist, roles must fit the column's type). Per table it can
//! also name the privacy unit (`"privacy_unit": "public.customers"` or `"rows"`, see
//! [`crate::unit`]); at the top, catalog names a detector flags that may leave
//! (`allow_names`, see [`crate::metadata`]).
//!
//! ```json
//! {"policy_version": 1,
//!  "tables": {"public.messages": {"window_column": "created_at",
//!                                 "columns": {"note": {"role": "pii"}, "body": {"role": "skip"}}},
//!             "public.attachments": {"columns": {"kind": {"role": "category", "labels": ["image", "file"]}}}}}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pgshape_core::artifact;
use pgshape_core::catalog::{Schema, Table};
use pgshape_core::{Error, Result};
use serde::Deserialize;

use crate::roles::{is_numeric_type, is_timestamp_type, role, Role};

/// The policy format version this build reads.
pub const POLICY_VERSION: u32 = 1;

/// The largest policy file read (it is written by hand: a few kilobytes); a larger one is
/// refused before a byte of it is parsed.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

/// A policy file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub policy_version: u32,
    /// Per table, by qualified name `schema.table`.
    #[serde(default)]
    pub tables: BTreeMap<String, TablePolicy>,
    /// Catalog names and expressions (of tables, columns, constraints, indexes, enum labels,
    /// partition keys, defaults) a PII detector flags but the privacy engineer has checked:
    /// they no longer stop `extract`. An enum label listed here leaves as an HMAC token; any
    /// other name as it is.
    #[serde(default)]
    pub allow_names: Vec<String>,
    /// Shares of ε per figure family replacing the defaults (`{"profiles": 0.3}`), then
    /// scaled to sum to 1; unknown families are rejected (see [`crate::dp::budget`]).
    #[serde(default)]
    pub dp_split: crate::dp::budget::SplitOverride,
    /// The file it was read from (for messages).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Overrides for one table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablePolicy {
    /// The timestamp column the window applies to (instead of the detected one).
    #[serde(default)]
    pub window_column: Option<String>,
    /// The table whose rows are this table's people (`schema.table`, reached by a
    /// foreign-key path), or `rows`; instead of the nearest table with PII columns.
    #[serde(default)]
    pub privacy_unit: Option<String>,
    /// Rows of one unit this table's figures read under DP, instead of
    /// `--max-rows-per-unit` (a table where each person has few rows needs less noise).
    #[serde(default)]
    pub max_rows_per_unit: Option<u64>,
    /// Per column.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnPolicy>,
}

/// Overrides for one column.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnPolicy {
    /// The role, instead of the detected one.
    #[serde(default)]
    pub role: Option<PolicyRole>,
    /// Category labels that may leave in plain (the others are tokenized); category columns
    /// only.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// A role as the policy names it (with the aliases `id`, `numeric`, `categorical`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyRole {
    #[serde(alias = "id")]
    Key,
    Timestamp,
    #[serde(alias = "numeric")]
    Number,
    #[serde(alias = "categorical")]
    Category,
    Text,
    Pii,
    Other,
    Skip,
}

impl From<PolicyRole> for Role {
    fn from(r: PolicyRole) -> Role {
        match r {
            PolicyRole::Key => Role::Key,
            PolicyRole::Timestamp => Role::Timestamp,
            PolicyRole::Number => Role::Number,
            PolicyRole::Category => Role::Category,
            PolicyRole::Text => Role::Text,
            PolicyRole::Pii => Role::Pii,
            PolicyRole::Other => Role::Other,
            PolicyRole::Skip => Role::Skip,
        }
    }
}

impl Policy {
    /// Reads a policy file strictly (the catalog check comes later, see [`Policy::check`]).
    pub fn read(path: &Path) -> Result<Policy> {
        let mut p: Policy = artifact::read_json_max(path, MAX_POLICY_BYTES)?;
        p.source = Some(path.to_path_buf());
        if p.policy_version != POLICY_VERSION {
            return Err(p.error(
                "$.policy_version".into(),
                format!(
                    "policy_version {} is not supported (this build reads {POLICY_VERSION})",
                    p.policy_version
                ),
            ));
        }
        Ok(p)
    }

    fn error(&self, json_path: String, message: String) -> Error {
        Error::Format {
            path: self.source.clone().unwrap_or_else(|| "policy".into()),
            json_path,
            message,
        }
    }

    /// Checks the policy against the catalog: tables and columns exist, roles fit the types,
    /// window columns are timestamps, labels only on category columns.
    pub fn check(&self, schema: &Schema) -> Result<()> {
        for (tname, tp) in &self.tables {
            let at = format!("$.tables.{tname}");
            let t = schema
                .tables
                .iter()
                .find(|t| &t.qualified() == tname)
                .ok_or_else(|| {
                    self.error(
                        at.clone(),
                        "no such table in the schemas read (name it schema.table)".into(),
                    )
                })?;
            for (cname, cp) in &tp.columns {
                let at = format!("{at}.columns.{cname}");
                let c = t
                    .column(cname)
                    .ok_or_else(|| self.error(at.clone(), format!("no such column in {tname}")))?;
                let ty = c.effective_type();
                if let Some(r) = cp.role {
                    let fits = match r {
                        PolicyRole::Number => is_numeric_type(ty),
                        PolicyRole::Timestamp => is_timestamp_type(ty),
                        _ => true,
                    };
                    if !fits {
                        return Err(self.error(
                            format!("{at}.role"),
                            format!("the column's type ({ty}) cannot have this role"),
                        ));
                    }
                }
                if !cp.labels.is_empty() && self.role(t, cname) != Role::Category {
                    return Err(self.error(
                        format!("{at}.labels"),
                        "labels can be allow-listed on category columns only".into(),
                    ));
                }
            }
            if let Some(u) = &tp.privacy_unit {
                if u != "rows" && !schema.tables.iter().any(|t| &t.qualified() == u) {
                    return Err(self.error(
                        format!("{at}.privacy_unit"),
                        "no such table in the schemas read (name it schema.table, or \"rows\")"
                            .into(),
                    ));
                }
            }
            if let Some(w) = &tp.window_column {
                let at = format!("{at}.window_column");
                if t.column(w).is_none() {
                    return Err(self.error(at, format!("no such column in {tname}")));
                }
                if self.role(t, w) != Role::Timestamp {
                    return Err(self.error(
                        at,
                        "the window column must be a timestamp or date column".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The role of column `name` of `t`: the policy's, else the detected one.
    pub fn role(&self, t: &Table, name: &str) -> Role {
        let detected = || t.column(name).map_or(Role::Other, |c| role(t, c));
        self.column(t, name)
            .and_then(|cp| cp.role)
            .map_or_else(detected, Role::from)
    }

    /// The role the policy sets for column `name` of `t`, if it sets one.
    pub fn explicit_role(&self, t: &Table, name: &str) -> Option<Role> {
        self.column(t, name).and_then(|cp| cp.role).map(Role::from)
    }

    /// The roles of every column of `t`, in column order.
    pub fn roles(&self, t: &Table) -> Vec<Role> {
        t.columns.iter().map(|c| self.role(t, &c.name)).collect()
    }

    /// The window column of `t`: the policy's, else a timestamp column named like a creation
    /// time, else the first non-null timestamp column.
    pub fn window_column<'a>(&'a self, t: &'a Table) -> Option<&'a str> {
        if let Some(w) = self
            .tables
            .get(&t.qualified())
            .and_then(|tp| tp.window_column.as_deref())
        {
            return Some(w);
        }
        let ts: Vec<_> = t
            .columns
            .iter()
            .filter(|c| self.role(t, &c.name) == Role::Timestamp)
            .collect();
        ts.iter()
            .find(|c| {
                matches!(
                    c.name.as_str(),
                    "created_at" | "created" | "inserted_at" | "createdAt"
                )
            })
            .or_else(|| ts.iter().find(|c| c.not_null))
            .map(|c| c.name.as_str())
    }

    /// The privacy unit the policy names for `t`, if it names one.
    pub fn privacy_unit(&self, t: &Table) -> Option<&str> {
        self.tables.get(&t.qualified())?.privacy_unit.as_deref()
    }

    /// The table's rows per unit under DP, when the policy names them.
    pub fn max_rows_per_unit(&self, t: &Table) -> Option<u64> {
        self.tables.get(&t.qualified())?.max_rows_per_unit
    }

    /// Whether the policy allows catalog name or expression `name` (flagged by a detector).
    pub fn allows_name(&self, name: &str) -> bool {
        self.allow_names.iter().any(|n| n == name)
    }

    /// The allow-listed labels of column `name` of `t` (empty: every label is tokenized).
    pub fn labels(&self, t: &Table, name: &str) -> &[String] {
        self.column(t, name).map_or(&[], |cp| cp.labels.as_slice())
    }

    fn column(&self, t: &Table, name: &str) -> Option<&ColumnPolicy> {
        self.tables.get(&t.qualified())?.columns.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_over_its_size_limit_is_refused_naming_the_file_and_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        let pad = " ".repeat(MAX_POLICY_BYTES as usize);
        std::fs::write(&path, format!(r#"{{"policy_version": 1{pad}}}"#)).unwrap();
        let e = Policy::read(&path).unwrap_err().to_string();
        assert!(e.contains("policy.json"), "{e}");
        assert!(e.contains(&MAX_POLICY_BYTES.to_string()), "{e}");
        // Just under the limit it is read.
        std::fs::write(&path, r#"{"policy_version": 1}"#).unwrap();
        assert!(Policy::read(&path).is_ok());
    }

    #[test]
    fn unknown_keys_and_roles_name_the_file_and_path() {
        let bad = |json: &str| {
            artifact::parse_json::<Policy>(Path::new("policy.json"), json.as_bytes())
                .unwrap_err()
                .to_string()
        };
        let e = bad(
            r#"{"policy_version": 1, "tables": {"public.t": {"columns": {"c": {"rol": "pii"}}}}}"#,
        );
        assert!(
            e.starts_with("policy.json: at $.tables.public.t.columns.c"),
            "{e}"
        );
        assert!(e.contains("unknown field `rol`"), "{e}");
        let e = bad(
            r#"{"policy_version": 1, "tables": {"public.t": {"columns": {"c": {"role": "secret"}}}}}"#,
        );
        assert!(e.contains("$.tables.public.t.columns.c.role"), "{e}");
        let p = artifact::parse_json::<Policy>(
            Path::new("policy.json"),
            br#"{"policy_version": 1, "tables": {"public.t": {"columns": {"c": {"role": "categorical"}}}}}"#,
        )
        .unwrap();
        assert_eq!(
            p.tables["public.t"].columns["c"].role,
            Some(PolicyRole::Category)
        );
    }
}
